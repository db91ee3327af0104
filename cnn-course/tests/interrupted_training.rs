//! Training that survives being killed, as the notebook's Interrupt button kills the
//! kernel: a child process trains with `BackupAndRestore` and is killed (SIGKILL) after a
//! few epochs; running the same training again resumes after the last backed-up epoch.

mod common;

use cnn_course::prelude::*;
use common::{blobs, seeded, small_cnn};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child process: the backup folder.
const CHILD: &str = "CNN_COURSE_BACKUP_CHILD";

fn train(folder: &Path, epochs: usize) -> Result<(History, Sequential)> {
    let _seed = seeded(3);
    let (x, y, _) = blobs(300, 1);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let history = model.fit(
        &x,
        &y,
        Fit::new()
            .epochs(epochs)
            .batch_size(10)
            .verbose(0)
            .callback(BackupAndRestore::new(folder)),
    )?;
    Ok((history, model))
}

/// The losses of the epochs a backup holds, read from the file.
fn backed_up_losses(folder: &Path) -> Option<Vec<f64>> {
    let bytes = std::fs::read(folder.join("backup.safetensors")).ok()?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).ok()?;
    let loss = header.metadata().as_ref()?.get("loss")?.clone();
    Some(loss.split(',').filter_map(|v| v.parse().ok()).collect())
}

#[test]
fn child_trains_until_it_is_killed() {
    // Runs only as the child of the test below.
    if let Ok(folder) = std::env::var(CHILD) {
        train(Path::new(&folder), 100_000).unwrap();
    }
}

#[test]
fn a_killed_training_resumes_after_its_last_backup() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("backup");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_trains_until_it_is_killed", "--test-threads=1"])
        .env(CHILD, &folder)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while backed_up_losses(&folder).is_none_or(|l| l.len() < 3) {
        assert!(started.elapsed() < Duration::from_secs(120), "the child made no backup");
        assert!(child.try_wait().unwrap().is_none(), "the child stopped by itself");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // Killed at any moment, the backup is whole: the file is replaced atomically.
    let saved = backed_up_losses(&folder).expect("a readable backup after the kill");
    let done = saved.len();
    assert!(done >= 3);
    let (history, _) = train(&folder, done + 2)?;
    assert_eq!(history.epoch, (1..=done + 2).collect::<Vec<_>>());
    assert_eq!(
        &history.loss[..done],
        saved.as_slice(),
        "the backed-up epochs come first"
    );
    // The resumed epochs continue from the trained weights, the optimizer's state and the
    // generator's position (shuffling): the same numbers as a run never interrupted.
    let (uninterrupted, _) = train(&dir.path().join("never-interrupted"), done + 2)?;
    assert_eq!(history.loss, uninterrupted.loss);
    assert_eq!(history.accuracy, uninterrupted.accuracy);
    // Training ended normally: the backup and whatever the kill left are gone.
    assert!(!folder.exists(), "{:?}", std::fs::read_dir(&folder).map(|d| d.count()));
    Ok(())
}

/// Weights, losses and predictions of `epochs` epochs of a model with dropout, trained in
/// one go or, with `backed_up_after`, stopped after that many epochs and resumed from its
/// backup by a model built afresh (as after an interrupt).
fn dropout_training(epochs: usize, backed_up_after: Option<usize>) -> Result<(Vec<f64>, Vec<f32>)> {
    let dir = tempfile::tempdir().unwrap();
    let (x, y, _) = blobs(120, 4);
    let build = || -> Result<Sequential> {
        let mut model = Sequential::new();
        model.add(Conv2D::new(4, 3).activation("relu").input_shape((8, 8, 1)))?;
        model.add(Dropout::new(0.5))?;
        model.add(Flatten::new())?;
        model.add(Dense::new(3).activation("softmax"))?;
        model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
        Ok(model)
    };
    let fit = |epochs| Fit::new().epochs(epochs).batch_size(10).verbose(0);
    let _seed = seeded(5);
    if let Some(first) = backed_up_after {
        let keep = BackupAndRestore::new(dir.path()).delete_checkpoint(false);
        build()?.fit(&x, &y, fit(first).callback(keep))?;
        set_seed(5);
    }
    let mut model = build()?;
    let history = model.fit(&x, &y, fit(epochs).callback(BackupAndRestore::new(dir.path())))?;
    let predictions = model.predict(&x)?.iter().copied().collect();
    Ok((history.loss, predictions))
}

#[test]
fn a_resumed_training_with_dropout_gives_the_numbers_of_an_uninterrupted_one() -> Result<()> {
    let uninterrupted = dropout_training(4, None)?;
    assert_eq!(dropout_training(4, Some(2))?, uninterrupted);
    assert_eq!(dropout_training(4, Some(1))?, uninterrupted);
    Ok(())
}

#[test]
fn a_backup_of_another_model_is_refused_with_the_way_out() -> Result<()> {
    let _seed = seeded(0);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("backup");
    let (x, y, _) = blobs(60, 2);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let keep = BackupAndRestore::new(&folder).delete_checkpoint(false);
    model.fit(&x, &y, Fit::new().epochs(1).verbose(0).callback(keep))?;
    let mut other = Sequential::new();
    other.add(Flatten::new().input_shape((8, 8, 1)))?;
    other.add(Dense::new(3).activation("softmax"))?;
    other.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let err = other
        .fit(&x, &y, Fit::new().epochs(2).callback(BackupAndRestore::new(&folder)))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}: this backup belongs to another model or optimizer: dense/kernel is (36, 3) there and (64, 3) here; hint: delete the folder {} to start training afresh, or back up into another folder",
            folder.join("backup.safetensors").display(),
            folder.display()
        )
    );
    Ok(())
}

#[test]
fn a_backup_whose_optimizer_state_does_not_fit_its_weight_is_refused_and_kept() -> Result<()> {
    let _seed = seeded(0);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("backup");
    let file = folder.join("backup.safetensors");
    let (x, y, _) = blobs(60, 2);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let keep = BackupAndRestore::new(&folder).delete_checkpoint(false);
    model.fit(&x, &y, Fit::new().epochs(1).verbose(0).callback(keep))?;
    // The same backup with Adam's first average of the Dense kernel cut to 2 values.
    let bytes = std::fs::read(&file).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap().tensors();
    let short: Vec<u8> = [0.5f32, 0.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let tampered = tensors.into_iter().map(|(name, view)| match name.as_str() {
        "optimizer/dense/kernel/0" => {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &short).unwrap();
            (name, view)
        }
        _ => (name, view),
    });
    let tampered = safetensors::serialize(tampered, header.metadata().clone()).unwrap();
    std::fs::write(&file, &tampered).unwrap();
    let before = model.predict(&x)?;

    let resumed = Fit::new().epochs(2).verbose(0).callback(BackupAndRestore::new(&folder));
    let err = model.fit(&x, &y, resumed).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: not a readable backup (its optimizer state for dense/kernel has 2 values, the weight 108); hint: delete it to start training afresh",
            file.display()
        )
    );
    // Neither the backup nor the model changed.
    assert_eq!(std::fs::read(&file).unwrap(), tampered);
    assert_eq!(model.predict(&x)?, before);
    Ok(())
}

#[test]
fn a_file_where_the_backup_folder_should_be_is_refused_and_kept() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup");
    std::fs::write(&file, b"the learner's notes").unwrap();
    let Err(err) = train(&file, 1) else {
        panic!("training into a file should fail");
    };
    let err = err.to_string();
    assert_eq!(
        err,
        format!(
            "{}: is a file, not a folder; hint: BackupAndRestore keeps its backup in a folder of its own, e.g. BackupAndRestore::new(\"backup\")",
            file.display()
        )
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"the learner's notes",
        "the file is untouched"
    );
    Ok(())
}

/// The small CNN trained for up to 20 epochs with a best-only checkpoint and early stopping
/// (patience 3, restoring the best weights), both watching the training loss in "max" mode.
/// The loss falls, so epoch 1 stays the best and every later epoch is worse: the case where
/// a resumed run that forgot the epochs before the interruption would overwrite the best
/// checkpoint with a worse epoch and wait out its patience afresh. With `backed_up_after`,
/// training first stops after that many epochs, and a model built afresh resumes it.
/// Returns the history, the checkpoint file and the final model's predictions.
fn watched_training(backed_up_after: Option<usize>) -> Result<(History, Vec<u8>, Vec<f32>)> {
    let dir = tempfile::tempdir().unwrap();
    let (backup, best) = (dir.path().join("backup"), dir.path().join("best.safetensors"));
    let (x, y, _) = blobs(120, 6);
    let _seed = seeded(8);
    let build = || -> Result<Sequential> {
        let mut model = small_cnn()?;
        model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
        Ok(model)
    };
    let fit = |epochs| {
        Fit::new()
            .epochs(epochs)
            .batch_size(10)
            .verbose(0)
            .callback(
                ModelCheckpoint::new(best.to_str().unwrap())
                    .monitor("loss")
                    .mode("max")
                    .save_best_only(true),
            )
            .callback(
                EarlyStopping::new()
                    .monitor("loss")
                    .mode("max")
                    .patience(3)
                    .restore_best_weights(true),
            )
    };
    if let Some(first) = backed_up_after {
        let keep = BackupAndRestore::new(&backup).delete_checkpoint(false);
        build()?.fit(&x, &y, fit(first).callback(keep))?;
        set_seed(8);
    }
    let mut model = build()?;
    let history = model.fit(&x, &y, fit(20).callback(BackupAndRestore::new(&backup)))?;
    let predictions = model.predict(&x)?.iter().copied().collect();
    Ok((history, std::fs::read(&best).unwrap(), predictions))
}

#[test]
fn a_resumed_training_keeps_the_best_checkpoint_and_the_patience_of_the_epochs_before() -> Result<()> {
    let (history, best, predictions) = watched_training(None)?;
    assert_eq!(
        history.epoch,
        [1, 2, 3, 4],
        "the first epoch is the best: stopped after 3 more"
    );
    // After the first epoch the backup's last epoch is the best one: its weights are the
    // best weights, restored at the stop as in the run never interrupted.
    assert_eq!(
        watched_training(Some(1))?,
        (history.clone(), best.clone(), predictions.clone())
    );
    // After the second, the best epoch's weights are only in the checkpoint: the stop and
    // the checkpoint are the same, and the model keeps its last epoch's weights.
    let (resumed, resumed_best, resumed_predictions) = watched_training(Some(2))?;
    assert_eq!((resumed, resumed_best), (history, best));
    assert_ne!(resumed_predictions, predictions);
    Ok(())
}

#[test]
fn a_backup_made_with_validation_is_not_resumed_without_it_nor_the_other_way_round() -> Result<()> {
    let _seed = seeded(0);
    let (x, y, _) = blobs(60, 7);
    for validated_first in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("backup");
        let fit = |validated: bool| {
            let options = Fit::new().epochs(3).verbose(0);
            match validated {
                true => options.validation_split(0.2),
                false => options,
            }
        };
        let mut model = small_cnn()?;
        model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
        let keep = BackupAndRestore::new(&folder).delete_checkpoint(false);
        model.fit(&x, &y, fit(validated_first).epochs(1).callback(keep))?;
        let backup = std::fs::read(folder.join("backup.safetensors")).unwrap();
        let before = model.predict(&x)?;
        let err = model
            .fit(&x, &y, fit(!validated_first).callback(BackupAndRestore::new(&folder)))
            .unwrap_err()
            .to_string();
        let (there, here) = match validated_first {
            true => ("with validation data", "this fit has none"),
            false => ("without validation data", "this fit has some"),
        };
        assert_eq!(
            err,
            format!(
                "{}: this backup was made {there} and {here}; hint: run fit with the same validation setting to resume, or delete the folder {} to start afresh",
                folder.join("backup.safetensors").display(),
                folder.display()
            )
        );
        // Nothing changed: not the backup, not the model.
        assert_eq!(std::fs::read(folder.join("backup.safetensors")).unwrap(), backup);
        assert_eq!(model.predict(&x)?, before);
        // With the same setting it resumes.
        let history = model.fit(&x, &y, fit(validated_first).callback(BackupAndRestore::new(&folder)))?;
        assert_eq!(history.epoch, [1, 2, 3]);
        assert_eq!(history.val_loss.len(), if validated_first { 3 } else { 0 });
    }
    Ok(())
}
