//! Judges what an executed notebook printed: the demonstrations each chapter's prose
//! describes, read from its cells' text output. `notebooks.rs` (run with `cargo xtask test`,
//! or `cargo test -p notebook-tests -- <filter>` after the set-up) executes the notebooks
//! and applies these checks to the solutions.

/// The printed text of one executed notebook (`run_notebook.py` writes every code cell's
/// text output to `target/notebooks/<mode>-<stem>.txt`), read as the learner reads it.
pub struct Printed(pub String);

impl Printed {
    /// The first line that contains `marker`.
    pub fn line(&self, marker: &str) -> Result<&str, String> {
        self.0
            .lines()
            .find(|l| l.contains(marker))
            .ok_or_else(|| format!("no line prints {marker:?}"))
    }

    /// Every number on the first line containing `marker`, after the marker.
    pub fn numbers(&self, marker: &str) -> Result<Vec<f64>, String> {
        let line = self.line(marker)?;
        let after = &line[line.find(marker).unwrap_or(0) + marker.len()..];
        let numbers: Vec<f64> = after
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .filter_map(|word| word.trim_end_matches(['.', '-']).trim_start_matches('.').parse().ok())
            .collect();
        if numbers.is_empty() {
            return Err(format!("no number after {marker:?} in {line:?}"));
        }
        Ok(numbers)
    }

    /// The first number after `marker`.
    pub fn number(&self, marker: &str) -> Result<f64, String> {
        Ok(self.numbers(marker)?[0])
    }

    /// The first number after `key`, on the first line containing `marker`.
    pub fn number_after(&self, marker: &str, key: &str) -> Result<f64, String> {
        let line = self.line(marker)?;
        let at = line.find(key).ok_or_else(|| format!("no {key:?} on {line:?}"))?;
        Printed(line[at..].to_string()).number(key)
    }

    /// The accuracy of an `Evaluation` printed on the line containing `marker`.
    pub fn accuracy(&self, marker: &str) -> Result<f64, String> {
        self.number_after(marker, "accuracy: ")
    }
}

/// One claim of a chapter's prose, checked against what its cells printed.
fn claim(failures: &mut Vec<String>, what: &str, holds: Result<bool, String>) {
    match holds {
        Ok(true) => {}
        Ok(false) => failures.push(format!("the notebook does not show that {what}")),
        Err(why) => failures.push(format!("{what}: {why}")),
    }
}

/// The demonstrations each solution notebook's prose describes; the bounds leave room
/// around the figures measured on the shipped data (in brackets) and on real MNIST.
pub fn demonstrations(stem: &str, out: &Printed) -> Vec<String> {
    let mut failures = Vec::new();
    let f = &mut failures;
    match &stem[..2] {
        "02" => {
            // Gradient descent converges to w = 2 (1.997).
            claim(
                f,
                "30 gradient steps bring w near 2",
                out.number("w after 30 steps:").map(|w| (w - 2.0).abs() < 0.05),
            );
            // A bigger training set and more epochs beat the 40-image network (0.6 → 0.997).
            claim(
                f,
                "more data and epochs give ≥ 0.9 test accuracy and beat 40 images",
                (|| {
                    Ok(out.accuracy("after 10 epochs on 1,600 images")? >= 0.9
                        && out.accuracy("after 10 epochs on 1,600 images")? > out.accuracy("test: loss")?)
                })(),
            );
        }
        "03" => {
            // A kernel learned from examples is the edge kernel [-1, 1] ([-0.986, 0.986]).
            claim(
                f,
                "the learned kernel is close to [-1, 1]",
                out.numbers("the kernel after training:")
                    .map(|k| k.len() == 2 && k[0] < -0.9 && k[1] > 0.9),
            );
            claim(
                f,
                "the convolutional network scores ≥ 0.95 on the test set",
                out.accuracy("test: loss").map(|a| a >= 0.95),
            );
        }
        "04" => {
            claim(
                f,
                "Chollet's convnet scores ≥ 0.95 on digits",
                out.accuracy("Chollet's convnet on digits").map(|a| a >= 0.95),
            );
            claim(
                f,
                "the pooled network scores ≥ 0.95 on clothing",
                out.accuracy("pooled clothing network").map(|a| a >= 0.95),
            );
        }
        "05" => {
            // Overfitting: the lowest validation loss comes before the last epoch (12 of 30).
            claim(
                f,
                "validation loss reaches its lowest before the last epoch",
                out.numbers("lowest val_loss").map(|n| n[1] < 30.0),
            );
            // Early stopping stops before the last epoch (17 of 30).
            claim(
                f,
                "early stopping stops before epoch 30",
                out.number("stopped after").map(|e| e < 30.0),
            );
            // The best-only checkpoint keeps an earlier epoch, which scores better than the last.
            claim(
                f,
                "the checkpoint keeps an earlier epoch, with a lower val_loss than the last",
                out.numbers("best.safetensors holds epoch")
                    .map(|n| n.len() >= 3 && n[0] < n[2]),
            );
            claim(
                f,
                "the reloaded best weights score better than the last epoch's",
                out.numbers("the best epoch's weights score val_loss")
                    .map(|n| n[0] < n[1]),
            );
            // Four curves: (epoch-1 loss, epoch-5 loss, lowest, its epoch, last).
            let curve = |name: &str| {
                out.numbers(&format!("{name}: training loss"))
                    .map(|n| (n[0], n[2], n[4], n[6]))
            };
            claim(f, "dropout slows learning and rises less after its minimum (none 0.412 / 0.466 → 0.606; dropout 0.450 / 0.454 → 0.541)", (|| {
                let (none, dropout) = (curve("      none")?, curve("   dropout")?);
                Ok(dropout.1 > none.1 && dropout.3 - dropout.2 < none.3 - none.2)
            })());
            claim(
                f,
                "batch norm learns faster and ends lower (epoch 1: 1.473 vs 2.050; last 0.403 vs 0.606)",
                (|| {
                    let (none, norm) = (curve("      none")?, curve("batch norm")?);
                    Ok(norm.0 < none.0 - 0.3 && norm.3 < none.3 - 0.1)
                })(),
            );
            claim(
                f,
                "both learn slower than batch norm alone and end about level with it",
                (|| {
                    let (norm, both) = (curve("batch norm")?, curve("      both")?);
                    Ok(both.1 > norm.1 && (both.3 - norm.3).abs() < 0.1)
                })(),
            );
            // The prose says the trained kernels only loosely resemble the designed ones.
            let similarity = |k: usize| out.number_after(&format!("kernel {k}: most like the"), "similarity");
            claim(
                f,
                "no trained kernel matches a designed one closely (similarities below 0.9)",
                (0..5)
                    .map(similarity)
                    .collect::<Result<Vec<f64>, String>>()
                    .map(|s| s.iter().all(|&v| v < 0.9)),
            );
            claim(
                f,
                "the classroom CNN scores ≥ 0.93 on the test set",
                out.accuracy("classroom CNN:").map(|a| a >= 0.93),
            );
        }
        "06" => {
            claim(
                f,
                "no colour class is dead",
                out.numbers("training images per class:")
                    .map(|n| n.len() == 10 && n.iter().all(|&c| c > 0.0)),
            );
            // The CNN beats the MLP clearly on colour images (0.638 vs 0.122).
            claim(
                f,
                "the CNN beats the MLP by ≥ 0.3 on colour images",
                out.numbers("after 8 epochs: MLP").map(|n| n[1] - n[0] >= 0.3),
            );
            // Augmentation helps on shifted images (0.972 vs 0.705).
            claim(
                f,
                "augmentation helps on shifted images by ≥ 0.15",
                (|| {
                    let plain = out.numbers("shifted validation")?[0];
                    let augmented = out.number("on shifted images:")?;
                    Ok(augmented >= plain + 0.15)
                })(),
            );
            claim(
                f,
                "the augmented network beats the plain one on shifted test images",
                out.numbers("shifted test images: plain").map(|n| n[1] >= n[0] + 0.15),
            );
            // The first layer's 16 maps in words, as the prose describes them.
            claim(
                f,
                "of the first layer's maps some copy a colour, the brightness or its opposite, some stay 0 and some follow none closely",
                (|| {
                    let maps: Vec<&str> = out.0.lines().filter(|l| l.starts_with("map ")).take(16).collect();
                    if maps.len() < 16 {
                        return Err(format!("only {} lines describe maps", maps.len()));
                    }
                    let follows = |words: &[&str]| {
                        maps.iter()
                            .any(|l| l.contains(": follows the") && words.iter().any(|w| l.contains(w)))
                    };
                    Ok(follows(&["red", "green", "blue", "brightness", "darkness"])
                        && maps.iter().any(|l| l.ends_with("stays 0 on this image"))
                        && maps.iter().any(|l| l.contains("follows none closely")))
                })(),
            );
            // Optimizers: adaptive ones beat plain SGD at the default rates; momentum beats all.
            claim(f, "adam, nadam and rmsprop beat sgd, adagrad, adadelta and adamax; adadelta stays near chance; SGD with momentum beats them all", (|| {
                let score = |name: &str| out.number(&format!(" {name}: validation accuracy"));
                let good = [score("adam")?, score("nadam")?, score("rmsprop")?];
                let weak = [score("sgd")?, score("adagrad")?, score("adadelta")?, score("adamax")?];
                let momentum = out.number("momentum 0.9: validation accuracy")?;
                let best_weak = weak.iter().cloned().fold(f64::MIN, f64::max);
                Ok(good.iter().all(|&g| g > best_weak)
                    && weak[2] < 0.3
                    && good.iter().all(|&g| momentum > g))
            })());
            // Transfer learning beats training from scratch on 10 images (0.951 / 0.892 vs 0.609).
            claim(
                f,
                "transfer learning beats training from scratch by ≥ 0.15, freezing more helps",
                (|| {
                    let frozen = out.number("frozen base: mean")?;
                    let first = out.number("first layer: mean")?;
                    let scratch = out.number("from scratch: mean")?;
                    Ok(frozen >= scratch + 0.15 && first >= scratch + 0.15 && frozen >= first - 0.02)
                })(),
            );
        }
        _ => {}
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chapter 5's lines as the shipped data prints them.
    const CHAPTER_5: &str = "\
lowest val_loss 0.434 at epoch 12
✓ Correct: best.safetensors holds epoch 14's weights (val_loss 0.421), not those of the last epoch, 30
✓ Correct: the best epoch's weights score val_loss 0.421, the last epoch's 0.516
✓ Correct: stopped after 17 of 30 epochs: Epoch 17: early stopping
      none: training loss 2.050 after epoch 1, 0.412 after epoch 5; val_loss lowest 0.466 (epoch 12), last 0.606
   dropout: training loss 2.084 after epoch 1, 0.450 after epoch 5; val_loss lowest 0.454 (epoch 13), last 0.541
batch norm: training loss 1.473 after epoch 1, 0.089 after epoch 5; val_loss lowest 0.397 (epoch 26), last 0.403
      both: training loss 1.878 after epoch 1, 0.168 after epoch 5; val_loss lowest 0.362 (epoch 27), last 0.381
kernel 0: most like the light spot kernel, similarity 0.67
kernel 1: most like the light spot kernel, similarity 0.33
kernel 2: most like the dark spot kernel, similarity 0.16
kernel 3: most like the dark spot kernel, similarity 0.36
kernel 4: most like the dark spot kernel, similarity 0.32
classroom CNN:         loss: 0.1447 - accuracy: 0.9560
";

    /// Chapter 6's first-layer maps in words, as the shipped data prints them on 2 cores.
    const CHAPTER_6_MAPS: &str = "\
map  0: stays 0 on this image
map  1: follows none closely (best: darkness and green, 0.22)
map  2: follows the brightness, the red and the blue (0.83; alike on this image)
map  3: follows none closely (best: darkness and green, 0.05)
map  4: follows none closely (best: darkness and green, 0.06)
map  5: follows none closely (best: brightness, red and blue, 0.40)
map  6: follows the brightness, the red and the blue (0.95; alike on this image)
map  7: follows none closely (best: brightness, red and blue, 0.02)
map  8: stays 0 on this image
map  9: follows the brightness, the red and the blue (0.68; alike on this image)
map 10: stays 0 on this image
map 11: follows the darkness and the green (0.69; alike on this image)
map 12: follows the brightness, the red and the blue (0.53; alike on this image)
map 13: follows the brightness, the red and the blue (0.83; alike on this image)
map 14: stays 0 on this image
map 15: follows none closely (best: darkness and green, 0.01)
";

    #[test]
    fn chapter_6_maps_show_what_the_prose_says_only_when_they_do() {
        let about_maps = |printed: String| {
            demonstrations("06", &Printed(printed))
                .into_iter()
                .any(|f| f.contains("first layer's maps"))
        };
        assert!(!about_maps(CHAPTER_6_MAPS.into()));
        assert!(about_maps(
            CHAPTER_6_MAPS.replace("stays 0 on this image", "follows none closely")
        ));
        // No map copies a colour, the brightness or the darkness.
        let no_copy = CHAPTER_6_MAPS
            .replace("the brightness, the red and the blue", "the vertical edges")
            .replace("the darkness and the green", "the vertical edges");
        assert!(about_maps(no_copy));
        // A map that marks edges contradicts nothing the prose says.
        assert!(!about_maps(CHAPTER_6_MAPS.replace(
            "map 12: follows the brightness, the red and the blue (0.53; alike on this image)",
            "map 12: follows the horizontal edges (0.54)"
        )));
        assert!(about_maps(
            CHAPTER_6_MAPS.lines().take(10).collect::<Vec<_>>().join("\n")
        ));
    }

    #[test]
    fn numbers_are_read_with_their_signs() {
        let printed = Printed("the kernel after training: [-0.986, 0.986]\n".into());
        assert_eq!(printed.numbers("after training:").unwrap(), vec![-0.986, 0.986]);
        assert!(printed.number("missing").unwrap_err().contains("no line prints"));
    }

    #[test]
    fn chapter_5_as_measured_shows_every_demonstration() {
        assert_eq!(demonstrations("05", &Printed(CHAPTER_5.into())), Vec::<String>::new());
    }

    #[test]
    fn chapter_5_without_overfitting_or_with_a_missing_line_fails() {
        let no_overfitting = CHAPTER_5.replace("at epoch 12", "at epoch 30");
        let failures = demonstrations("05", &Printed(no_overfitting));
        assert_eq!(
            failures,
            ["the notebook does not show that validation loss reaches its lowest before the last epoch"]
        );

        let dropout_faster = CHAPTER_5.replace("0.450 after epoch 5", "0.300 after epoch 5");
        assert_eq!(demonstrations("05", &Printed(dropout_faster)).len(), 1);

        let no_classroom = CHAPTER_5.replace("classroom CNN:", "classroom:");
        let failures = demonstrations("05", &Printed(no_classroom));
        assert!(
            failures[0].contains("no line prints \"classroom CNN:\""),
            "{failures:?}"
        );
    }
}
