//! Chapter 5 — understanding and improving: learning curves and overfitting, checkpoints
//! and early stopping, dropout, batch normalization, initial weights, and looking inside a
//! trained model.

use super::quiz::{Question, Quiz};
use super::{prediction, same_array, same_model, same_number, verdict, Check};
use crate::arrays::full_shape;
use crate::convolution::convolve2d;
use crate::padding::Padding;
use crate::{Evaluation, History, IntoTensor, Sequential};
use ndarray::{s, Array2, ArrayD};
use std::path::Path;

/// A prediction of whether the validation loss ends above its lowest point.
pub fn overfitting(predicted: bool, history: &History) -> Check {
    let (Ok((best, lowest)), Some(&last)) = (history.best("val_loss"), history.val_loss.last()) else {
        return verdict(Err("this history has no val_loss: train with validation data".into()));
    };
    prediction(
        "\"validation loss ends above its lowest point\"",
        predicted,
        last > lowest,
        &format!(
            "lowest {lowest:.3} at epoch {best}, {last:.3} at epoch {}; the training loss kept falling — past the minimum the network learns the training images' details, not digits",
            history.val_loss.len()
        ),
    )
}

/// `epoch` should be the epoch (from 1) with the lowest validation loss.
pub fn best_epoch(epoch: usize, history: &History) -> Check {
    let Ok((best, value)) = history.best("val_loss") else {
        return verdict(Err("this history has no val_loss: train with validation data".into()));
    };
    let lowest_training = history.best("loss").map(|b| b.0).unwrap_or(0);
    verdict(if epoch + 1 == best {
        Err("that is the position in history.val_loss, counted from 0: epochs count from 1".into())
    } else if epoch == lowest_training && epoch != best {
        Err("that is the epoch of the lowest training loss: look at val_loss".into())
    } else if epoch != best {
        Err(format!(
            "epoch {epoch} is not the lowest point of val_loss: history.best(\"val_loss\")? gives (epoch, value)"
        ))
    } else {
        Ok(format!("epoch {best}, val_loss {value:.3}"))
    })
}

/// `path` should hold weights that fit `model`, written by a best-only checkpoint during
/// the training that made `history`.
pub fn checkpoint_file(path: impl AsRef<Path>, model: &Sequential, history: &History) -> Check {
    let path = path.as_ref();
    verdict(if !path.is_file() {
        Err(format!(
            "{} does not exist: give fit a ModelCheckpoint writing to that path as a callback",
            path.display()
        ))
    } else if let Err(e) = model.check_weights_file(path) {
        Err(e.to_string())
    } else {
        match history.best("val_loss") {
            Ok((best, value)) => Ok(format!(
                "{} holds epoch {best}'s weights (val_loss {value:.3}), not those of the last epoch, {}",
                path.display(),
                history.val_loss.len()
            )),
            Err(_) => {
                Err("the history has no val_loss: the checkpoint watches it, so train with validation data".into())
            }
        }
    })
}

/// `score` should be `rebuilt.evaluate(x_val, y_val)`, with the best epoch's weights
/// loaded; `history` is the training that saved them.
pub fn reloaded_score(
    score: &Evaluation,
    rebuilt: &Sequential,
    x_val: &impl IntoTensor,
    y_val: &impl IntoTensor,
    history: &History,
) -> Check {
    let last = history.val_loss.last().copied().unwrap_or(f64::NAN);
    let worst = history.val_loss.iter().copied().fold(f64::MIN, f64::max);
    verdict(match rebuilt.evaluate(x_val, y_val) {
        Err(e) => Err(format!(
            "the rebuilt model cannot be evaluated on the validation images: {e}"
        )),
        Ok(truth) if (truth.loss - score.loss).abs() > 1e-4 => Err(if (score.loss - last).abs() < 1e-4 {
            "that is the last epoch's score: evaluate `rebuilt`, which holds the best epoch's weights".into()
        } else {
            "that is not rebuilt's score on the validation images: rebuilt.evaluate(&x_val, &y_val)?".into()
        }),
        Ok(truth) if truth.loss > worst => Err(format!(
            "rebuilt scores val_loss {:.3}, worse than any epoch: load the saved weights before evaluating",
            truth.loss
        )),
        Ok(truth) => Ok(format!(
            "the best epoch's weights score val_loss {:.3}, the last epoch's {last:.3}",
            truth.loss
        )),
    })
}

/// Training with early stopping should have ended before `epochs` epochs.
pub fn stopped_early(history: &History, epochs: usize) -> Check {
    verdict(match &history.stopped_early {
        Some(reason) if history.loss.len() < epochs => Ok(format!(
            "stopped after {} of {epochs} epochs: {reason}",
            history.loss.len()
        )),
        _ => Err(format!(
            "training ran {} epochs without stopping early: give fit an EarlyStopping callback watching val_loss, with a patience of a few epochs",
            history.loss.len()
        )),
    })
}

fn rate_of(model: &Sequential, index: usize) -> Option<String> {
    let layer = model.layers().into_iter().nth(index)?;
    layer.config().into_iter().find(|(k, _)| *k == "rate").map(|(_, v)| v)
}

/// Conv2D(15, 2) → Dropout(0.2) → Conv2D(5, 2) → Flatten → Dense(3) on 28×28×1.
pub fn dropout_model(model: &Sequential) -> Check {
    let layers: [super::LayerSpec; 5] = [
        ("Conv2D", &[27, 27, 15], 75, "relu"),
        ("Dropout", &[27, 27, 15], 0, ""),
        ("Conv2D", &[26, 26, 5], 305, "relu"),
        ("Flatten", &[3380], 0, ""),
        ("Dense", &[3], 10143, "softmax"),
    ];
    verdict(
        same_model(model, &layers).and_then(|()| match rate_of(model, 1).as_deref() {
            Some("0.2") => Ok("dropout between the two convolutions, rate 0.2".into()),
            other => Err(format!(
                "the dropout rate is {}; this exercise uses 0.2",
                other.unwrap_or("?")
            )),
        }),
    )
}

/// Conv2D(15, 2) → BatchNormalization → Conv2D(5, 2) → Flatten → Dense(3) on 28×28×1.
pub fn batchnorm_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[27, 27, 15], 75, "relu"),
                ("BatchNormalization", &[27, 27, 15], 60, ""),
                ("Conv2D", &[26, 26, 5], 305, "relu"),
                ("Flatten", &[3380], 0, ""),
                ("Dense", &[3], 10143, "softmax"),
            ],
        )
        .map(|()| "batch normalization between the convolutions: 60 parameters, 30 of them non-trainable".into()),
    )
}

/// `weights` should be the first layer's weights: `[kernels, biases]`.
pub fn first_layer_weights(model: &Sequential, weights: &[ArrayD<f32>]) -> Check {
    let first = model.layers().into_iter().next();
    let expected = first.as_ref().and_then(|l| l.get_weights().ok()).unwrap_or_default();
    verdict(if expected.len() != 2 || expected[0].ndim() != 4 {
        Err(format!(
            "the model's first layer, {}, is not a Conv2D: this exercise reads a convolution's kernels and biases — pass the trained model whose first layer is Conv2D",
            first.map(|l| format!("{} ({})", l.name(), l.type_name())).unwrap_or_else(|| "none".into())
        ))
    } else if weights.len() != expected.len() {
        Err(format!(
            "a Conv2D layer has 2 weight arrays (kernels and biases); you gave {}: use get_weights() of the model's first layer",
            weights.len()
        ))
    } else {
        weights
            .iter()
            .zip(&expected)
            .try_for_each(|(w, e)| same_array("weights", w, e, 0.0))
            .map(|()| {
                format!(
                    "kernels {} and biases {}",
                    full_shape(expected[0].shape()),
                    full_shape(expected[1].shape())
                )
            })
    })
}

/// `kernel` should be `kernels[.., .., 0, 0]` of the first layer: the first filter's 2-D kernel.
pub fn first_kernel(model: &Sequential, kernel: &Array2<f32>) -> Check {
    let weights = model
        .layers()
        .first()
        .and_then(|l| l.get_weights().ok())
        .unwrap_or_default();
    let Some(kernels) = weights.first().filter(|k| k.ndim() == 4) else {
        return verdict(Err("the model's first layer is not a Conv2D".into()));
    };
    let expected = kernels.slice(s![.., .., 0, 0]).to_owned();
    let last = kernels.slice(s![.., .., 0, kernels.shape()[3] - 1]).to_owned();
    verdict(
        if kernel.shape() == expected.shape() && *kernel == last && last != expected {
            Err("that is the last filter: the filter index is the last axis, [.., .., 0, 0] picks the first".into())
        } else {
            same_array("kernel", kernel, &expected, 0.0)
                .map(|()| format!("the first kernel, {}", full_shape(kernel.shape())))
        },
    )
}

/// `result` should be `image` convolved with `kernel` (chapter 3's function, no padding).
pub fn filtered_image(image: &Array2<f32>, kernel: &Array2<f32>, result: &Array2<f32>) -> Check {
    let expected = convolve2d(image, kernel, Padding::Valid, 1).unwrap_or_default();
    let same = convolve2d(image, kernel, Padding::Same, 1).unwrap_or_default();
    verdict(
        if result.shape() == same.shape() && result.shape() != expected.shape() {
            Err("that feature map keeps the image's size: the exercise uses no padding (Padding::Valid)".into())
        } else {
            same_array("filtered image", result, &expected, 1e-4).map(|()| "the image seen through the kernel".into())
        },
    )
}

/// The Glorot uniform limit for Conv2D(5, 3) on one input channel.
pub fn glorot_limit(limit: f32) -> Check {
    let (fan_in, fan_out) = (3.0 * 3.0 * 1.0, 3.0 * 3.0 * 5.0);
    let right = (6.0f64 / (fan_in + fan_out)).sqrt();
    let close = |v: f64| (limit as f64 - v).abs() < 1e-3;
    verdict(if close((6.0 / (fan_in + 5.0)).sqrt()) {
        Err(
            "fan-out counts every weight a unit's output feeds: kernel rows × cols × filters, as Keras counts it"
                .into(),
        )
    } else if close(1.0) {
        // Fan-in 1 (the input channels) and fan-out 5 (the filters): √(6 / 6).
        Err("fan-in is the number of inputs one output sums: kernel rows × cols × input channels".into())
    } else if close(6.0 / (fan_in + fan_out)) {
        Err("take the square root: limit = √(6 / (fan_in + fan_out))".into())
    } else {
        same_number("the limit", limit as f64, right, "limit = √(6 / (fan_in + fan_out)).")
            .map(|m| format!("{m}: every initial kernel weight lies in ±{right:.3}"))
    })
}

/// Chapter 5's questionnaire.
pub const QUIZ: Quiz = Quiz(&[
    Question {
        ask: "A Conv2D layer's kernels have shape (2, 2, 1, 5). What is the first 2?",
        options: &[
            (
                "The number of images.",
                "weights do not depend on how many images there are",
            ),
            (
                "The number of rows of each kernel.",
                "Keras' order: rows, columns, input channels, filters",
            ),
            ("The number of filters.", "the number of filters is the last number, 5"),
        ],
        answer: 'B',
    },
    Question {
        ask: "The training loss keeps falling while the validation loss rises. The network…",
        options: &[
            (
                "overfits: it learns details of the training images that do not carry over.",
                "past the validation minimum, more training makes it worse on new images",
            ),
            (
                "underfits.",
                "an underfitting network does badly on its training images too",
            ),
            (
                "has a bug in its loss.",
                "both losses are computed the same way, on different images",
            ),
        ],
        answer: 'A',
    },
    Question {
        ask: "ModelCheckpoint watching val_loss with save_best_only(true) writes the weights…",
        options: &[
            ("after every epoch.", "that is what it does without save_best_only"),
            (
                "only when val_loss reaches a new low.",
                "so the file ends up holding the best epoch",
            ),
            ("once, at the end.", "the last epoch is often not the best one"),
        ],
        answer: 'B',
    },
    Question {
        ask: "When the network predicts, a Dropout(0.3) layer…",
        options: &[
            ("drops 30 % of the units.", "dropout is on only while training"),
            (
                "passes everything through unchanged.",
                "the kept units are scaled up during training, so nothing needs to change when predicting",
            ),
            (
                "multiplies everything by 0.3.",
                "nothing is scaled at prediction time in Keras' dropout",
            ),
        ],
        answer: 'B',
    },
    Question {
        ask: "When the network predicts, batch normalization normalizes with…",
        options: &[
            (
                "the statistics of the batch being predicted.",
                "that is what it does while training",
            ),
            (
                "the moving averages of mean and variance gathered during training.",
                "so a prediction does not depend on the other images of its batch",
            ),
            (
                "nothing: it is switched off.",
                "it still normalizes, with fixed statistics",
            ),
        ],
        answer: 'B',
    },
    Question {
        ask: "Keras starts a Conv2D layer's kernels with…",
        options: &[
            (
                "zeros.",
                "equal kernels would all receive the same gradient and stay equal",
            ),
            (
                "random values in ±√(6 / (fan_in + fan_out)) (Glorot uniform).",
                "random breaks the symmetry; the limit keeps the outputs' spread similar from layer to layer",
            ),
            (
                "random values with standard deviation 1.",
                "too large: outputs would grow layer after layer",
            ),
        ],
        answer: 'B',
    },
]);
