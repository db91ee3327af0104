//! Training behaviour: learning, validation, callbacks, NaN handling, predictions and
//! weights, on a small synthetic task (tests/common).

mod common;

use cnn_course::prelude::*;
use common::{blobs, seeded, small_cnn};

#[test]
fn a_small_cnn_learns_the_task_with_every_optimizer() -> Result<()> {
    let _seed = seeded(1);
    let (x, y, _) = blobs(240, 1);
    let (x_test, y_test, _) = blobs(90, 2);
    // Adagrad at Keras' default learning rate (0.001) needs hundreds of epochs here.
    let adagrad = || {
        Adagrad {
            learning_rate: 0.05,
            ..Default::default()
        }
        .into()
    };
    let by_name = |name: &'static str| move || name.into();
    type MakeOptimizer = Box<dyn Fn() -> cnn_course::optimizers::OptimizerChoice>;
    let choices: [(&str, MakeOptimizer, usize); 7] = [
        ("sgd", Box::new(by_name("sgd")), 25),
        ("rmsprop", Box::new(by_name("rmsprop")), 8),
        ("adam", Box::new(by_name("adam")), 8),
        ("adamax", Box::new(by_name("adamax")), 20),
        ("nadam", Box::new(by_name("nadam")), 8),
        ("adagrad", Box::new(adagrad), 10),
        ("adadelta", Box::new(by_name("adadelta")), 0),
    ];
    for (optimizer, choice, epochs) in choices {
        let mut model = small_cnn()?;
        model.compile(choice(), "categorical_crossentropy", &["accuracy"])?;
        let before = model.evaluate(&x_test, &y_test)?;
        if epochs == 0 {
            // Adadelta at Keras' default learning rate (0.001) barely moves: check it moves.
            model.fit(&x, &y, Fit::new().epochs(3).batch_size(16).verbose(0))?;
            let after = model.evaluate(&x_test, &y_test)?;
            assert!(after.loss < before.loss, "adadelta: {before} → {after}");
            continue;
        }
        let history = model.fit(&x, &y, Fit::new().epochs(epochs).batch_size(16).verbose(0))?;
        let after = model.evaluate(&x_test, &y_test)?;
        assert!(
            history.loss.last() < history.loss.first(),
            "{optimizer}: {:?}",
            history.loss
        );
        assert!(after.accuracy >= 0.9, "{optimizer}: test {after} (before {before})");
    }
    Ok(())
}

#[test]
fn validation_split_keeps_the_last_samples_out() -> Result<()> {
    let _seed = seeded(1);
    let (x, y, _) = blobs(50, 3);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let history = model.fit(&x, &y, Fit::new().epochs(2).validation_split(0.2).verbose(0))?;
    assert_eq!(history.epoch, vec![1, 2]);
    assert_eq!(history.val_loss.len(), 2);
    // The validation figures are those of the last 10 samples.
    let last_ten = model.evaluate(&x.slice(s![40.., .., .., ..]), &y.slice(s![40.., ..]))?;
    assert!((history.val_loss[1] - last_ten.loss).abs() < 1e-5);
    assert!((history.val_accuracy[1] - last_ten.accuracy).abs() < 1e-9);
    Ok(())
}

#[test]
fn sparse_labels_train_like_one_hot_labels() -> Result<()> {
    let _seed = seeded(1);
    let (x, _, labels) = blobs(120, 4);
    let mut model = small_cnn()?;
    model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    let (x_val, _, val_labels) = blobs(30, 5);
    let history = model.fit(
        &x,
        &labels,
        Fit::new()
            .epochs(10)
            .batch_size(10)
            .validation_data(&x_val, &val_labels)
            .verbose(0),
    )?;
    assert!(history.val_accuracy.last().copied().unwrap_or(0.0) >= 0.9, "{history}");
    let classes = model.predict_classes(&x_val)?;
    let correct = classes.iter().zip(val_labels.iter()).filter(|(a, b)| a == b).count();
    assert!(correct as f64 / 30.0 >= 0.9);
    let probabilities = model.predict(&x_val)?;
    assert_eq!(probabilities.shape(), &[30, 3]);
    for row in probabilities.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
    Ok(())
}

#[test]
fn a_non_finite_loss_stops_training_with_a_message_and_keeps_the_weights() -> Result<()> {
    let _seed = seeded(1);
    let (x, y, _) = blobs(60, 6);
    let mut model = Sequential::new();
    model.add(Flatten::new().input_shape((8, 8, 1)))?;
    model.add(Dense::new(3).activation("softmax"))?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    // Weights so large that the scores overflow to infinity.
    let dense = model.get_layer("dense")?;
    let mut weights = dense.get_weights()?;
    weights[0].mapv_inplace(|w| if w > 0.0 { 3e38 } else { -3e38 });
    dense.set_weights(&weights)?;
    let history = model.fit(&x, &y, Fit::new().epochs(5).batch_size(10).verbose(0))?;
    let reason = history
        .stopped_early
        .clone()
        .expect("training should stop on a non-finite loss");
    assert!(reason.starts_with("Epoch 1, step 1/6: the loss is "), "{reason}");
    assert!(reason.ends_with("training stopped with the weights from before this step. Hint: lower the learning rate (e.g. 10× smaller) and check that the inputs are scaled to 0..1"), "{reason}");
    assert!(history.epoch.is_empty());
    assert_eq!(dense.get_weights()?, weights, "the failing step is not applied");
    Ok(())
}

#[test]
fn checkpoint_saves_only_improvements_and_the_weights_reload() -> Result<()> {
    let _seed = seeded(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let (x, y, _) = blobs(80, 7);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let checkpoint = ModelCheckpoint::new(path.to_string_lossy())
        .monitor("val_loss")
        .save_best_only(true)
        .verbose(false);
    let history = model.fit(
        &x,
        &y,
        Fit::new()
            .epochs(6)
            .batch_size(10)
            .validation_split(0.25)
            .callback(checkpoint),
    )?;
    let best_epoch = history
        .val_loss
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap();

    // A new model with the same layers, loaded from the file, scores the best epoch's loss.
    let mut rebuilt = small_cnn()?;
    rebuilt.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    rebuilt.load_weights(&path)?;
    let val = rebuilt.evaluate(&x.slice(s![60.., .., .., ..]), &y.slice(s![60.., ..]))?;
    assert!(
        (val.loss - history.val_loss[best_epoch]).abs() < 1e-5,
        "{val} vs {:?}",
        history.val_loss
    );
    let classes = rebuilt.predict_classes(&x.slice(s![..10, .., .., ..]))?;
    assert_eq!(classes.len(), 10);
    // Only the target file is left in the folder: no temporary files.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    Ok(())
}

#[test]
fn early_stopping_stops_and_restores_the_best_weights() -> Result<()> {
    let _seed = seeded(1);
    let (x, y, labels) = blobs(60, 8);
    // Validation labels shifted by one class: the better the model learns the training
    // labels, the worse its validation loss — so training must stop early.
    let (x_val, _, val_labels) = blobs(30, 9);
    let wrong = to_categorical(val_labels.mapv(|c| ((c + 1) % 3) as u64).to_vec(), 3)?;
    let _ = labels;
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let stopper = EarlyStopping::new()
        .monitor("val_loss")
        .patience(2)
        .restore_best_weights(true);
    let history = model.fit(
        &x,
        &y,
        Fit::new()
            .epochs(40)
            .batch_size(10)
            .validation_data(&x_val, &wrong)
            .callback(stopper),
    )?;
    let reason = history.stopped_early.clone().expect("should stop early");
    assert!(
        reason.contains("early stopping: val_loss has not improved for 2 epochs"),
        "{reason}"
    );
    assert!(history.epoch.len() < 40);
    let best = history.val_loss.iter().cloned().fold(f64::INFINITY, f64::min);
    let now = model.evaluate(&x_val, &wrong)?;
    assert!(
        (now.loss - best).abs() < 1e-5,
        "restored {now}, best {best}, history {:?}",
        history.val_loss
    );
    Ok(())
}

#[test]
fn frozen_layers_do_not_change() -> Result<()> {
    let _seed = seeded(1);
    let (x, y, _) = blobs(60, 9);
    let mut model = small_cnn()?;
    model.set_trainable("conv2d", false)?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let conv_before = model.get_layer("conv2d")?.get_weights()?;
    let dense_before = model.get_layer("dense")?.get_weights()?;
    model.fit(&x, &y, Fit::new().epochs(2).verbose(0))?;
    assert_eq!(model.get_layer("conv2d")?.get_weights()?, conv_before);
    assert_ne!(model.get_layer("dense")?.get_weights()?, dense_before);
    Ok(())
}

#[test]
fn weights_are_shown_in_keras_order_and_can_be_set() -> Result<()> {
    let _seed = seeded(1);
    let mut model = Sequential::new();
    model.add(Conv2D::new(5, 3).input_shape((6, 6, 1)))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(2))?;
    let conv = &model.layers()[0];
    let mut weights = conv.get_weights()?;
    assert_eq!(weights[0].shape(), &[3, 3, 1, 5]);
    // Kernel 2 becomes a single 1 at its centre: its feature map is the input's centre crop.
    weights[0].fill(0.0);
    weights[0][[1, 1, 0, 2]] = 1.0;
    conv.set_weights(&weights)?;
    let x = Array4::from_shape_fn((1, 6, 6, 1), |(_, r, c, _)| (r * 6 + c) as f32);
    let maps = model.layer_outputs(&x)?;
    assert_eq!(maps[0].shape(), &[1, 4, 4, 5]);
    assert_eq!(maps[0][[0, 0, 0, 2]], 7.0); // input (1, 1)
    assert_eq!(maps[0][[0, 3, 2, 2]], 27.0); // input (4, 3)
    assert_eq!(maps[0][[0, 3, 2, 0]], 0.0);
    let kernel_2 = conv.get_weights()?[0].slice(s![.., .., 0, 2]).to_owned();
    assert_eq!(kernel_2.sum(), 1.0);
    // Wrong shapes are refused.
    let err = conv
        .set_weights(&[weights[1].clone(), weights[0].clone()])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "conv2d: kernel should have shape (3, 3, 1, 5), got (5,); hint: start from layer.get_weights() and change values, not shapes"
    );
    Ok(())
}

#[test]
fn a_failed_save_leaves_the_previous_file_and_no_temporary() -> Result<()> {
    let _seed = seeded(1);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("w.safetensors");
    let model = small_cnn()?;
    model.save_weights(&good)?;
    let saved = std::fs::read(&good).unwrap();
    // A target that is a folder cannot be replaced: the save fails after writing.
    let blocked = dir.path().join("blocked.safetensors");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), b"x").unwrap();
    assert!(model.save_weights(&blocked).is_err());
    // A missing folder fails cleanly too.
    let err = model
        .save_weights(dir.path().join("missing/w.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/missing does not exist; hint: create it first"), "{err}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(std::fs::read(&good).unwrap(), saved);
    Ok(())
}

#[test]
fn a_clone_shares_weights_and_cells_can_rerun() -> Result<()> {
    let _seed = seeded(1);
    let (x, y, _) = blobs(30, 10);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let view = model.clone();
    // Re-running a fit "cell" twice works on the same model.
    model.fit(&x, &y, Fit::new().verbose(0))?;
    model.fit(&x, &y, Fit::new().verbose(0))?;
    assert_eq!(view.layers()[0].get_weights()?, model.layers()[0].get_weights()?);
    Ok(())
}

#[test]
fn save_best_only_skips_epochs_that_do_not_improve() -> Result<()> {
    let _seed = seeded(1);
    use cnn_course::callbacks::{EpochLogs, TrainingPlan};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let model = small_cnn()?;
    let mut checkpoint = ModelCheckpoint::new(path.to_string_lossy())
        .save_best_only(true)
        .verbose(false);
    checkpoint.on_train_begin(
        &TrainingPlan {
            epochs: 4,
            has_validation: true,
        },
        &model,
    )?;
    let dense = model.get_layer("dense")?;
    for (epoch, val_loss) in [(1, 0.5), (2, 0.4), (3, 0.6), (4, 0.45)] {
        // Mark the weights with the epoch number, then report the epoch's validation loss.
        let mut weights = dense.get_weights()?;
        weights[1].fill(epoch as f32);
        dense.set_weights(&weights)?;
        let logs = EpochLogs {
            loss: 1.0,
            accuracy: 0.5,
            val_loss: Some(val_loss),
            val_accuracy: Some(0.5),
        };
        checkpoint.on_epoch_end(epoch, &logs, &model)?;
    }
    let restored = small_cnn()?;
    restored.load_weights(&path)?;
    assert!(
        restored.get_layer("dense")?.get_weights()?[1].iter().all(|&b| b == 2.0),
        "epoch 2 was the best"
    );
    Ok(())
}

/// On a GPU the optimizer reads each step's gradients on other threads than the one whose
/// stream computed them. On candle's per-thread streams it read gradients not yet written,
/// and the seed convnet at batch 32 stopped on NaN weights within a few hundred steps (an
/// H100, 2026-11-23). A thousand steps must all apply. Runs where the `cuda` feature finds
/// a GPU; without one there is nothing to race.
#[cfg(feature = "cuda")]
#[test]
fn a_thousand_gpu_steps_all_apply() -> Result<()> {
    let _seed = seeded(3);
    let mut model = cnn_course::models::chollet_convnet()?;
    if model.device().is_cpu() {
        eprintln!("no GPU found: nothing to check");
        return Ok(());
    }
    model.compile("rmsprop", "categorical_crossentropy", &["accuracy"])?;
    let n = 4000;
    let x = Array4::from_shape_vec((n, 28, 28, 1), cnn_course::rng::uniform(n * 784, 0.0, 1.0))?;
    let y = to_categorical((0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>(), 10)?;
    let history = model.fit(&x, &y, Fit::new().epochs(8).batch_size(32).verbose(0))?;
    assert_eq!(history.stopped_early, None);
    assert_eq!(history.loss.len(), 8);
    assert!(history.loss.iter().all(|l| l.is_finite()), "{:?}", history.loss);
    Ok(())
}
