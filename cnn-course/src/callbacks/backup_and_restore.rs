//! `BackupAndRestore`: training that survives an interruption.
//!
//! The notebook's Interrupt button (or a crash) stops the kernel's process, and every
//! variable with it. With this callback, `fit` writes a backup after every epoch — the
//! weights, the optimizer's state and the history so far — into a folder, atomically. Run
//! the same cell again: the model is rebuilt, `fit` finds the backup, restores it and
//! continues after the last saved epoch. When training ends normally the backup is
//! deleted, so the next run starts afresh (as Keras' `BackupAndRestore`).
//!
//! The backup also holds where the model's random generator stood, so a resumed run
//! shuffles and drops out as the interrupted one would have gone on to: after `set_seed`,
//! it gives the same numbers, bit for bit, as a run that was never interrupted. The other
//! callbacks go on from the backed-up epochs too: `EarlyStopping` counts its patience from
//! the best of them, and a best-only `ModelCheckpoint` replaces its file only when a resumed
//! epoch beats them. (`EarlyStopping`'s best weights are in the backup only when the last
//! backed-up epoch was the best; otherwise the checkpoint file has them.)

use super::{Callback, Control, EpochLogs, TrainingPlan};
use crate::arrays::full_shape;
use crate::model::weights_file::write_safetensors;
use crate::rng;
use crate::training::History;
use crate::{Error, Result, Sequential};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const FILE: &str = "backup.safetensors";

/// Backs training up after every epoch and resumes from the backup, as Keras'
/// `BackupAndRestore(backup_dir)`.
///
/// ```no_run
/// # use cnn_course::prelude::*;
/// # fn demo(model: &mut Sequential, x: &Array4<f32>, y: &Array2<f32>) -> cnn_course::Result<()> {
/// let history = model.fit(x, y, Fit::new().epochs(20).callback(BackupAndRestore::new("backup")))?;
/// # Ok(()) }
/// ```
pub struct BackupAndRestore {
    folder: PathBuf,
    delete_when_done: bool,
    history: History,
    /// Whether the `fit` under way has validation data.
    has_validation: bool,
}

impl BackupAndRestore {
    /// Keep the backup in `folder` (created when needed).
    pub fn new(folder: impl AsRef<Path>) -> Self {
        BackupAndRestore {
            folder: folder.as_ref().to_path_buf(),
            delete_when_done: true,
            history: History::default(),
            has_validation: false,
        }
    }

    /// Whether to delete the backup when training ends normally (default true).
    pub fn delete_checkpoint(mut self, yes: bool) -> Self {
        self.delete_when_done = yes;
        self
    }

    fn file(&self) -> PathBuf {
        self.folder.join(FILE)
    }

    fn another_model(&self, why: &str) -> Error {
        Error::file(
            self.file(),
            format!(
                "this backup belongs to another model or optimizer: {why}; hint: delete the folder {} to start training afresh, or back up into another folder",
                self.folder.display()
            ),
        )
    }
}

/// History series as text, one number per epoch (Rust prints `f64` so that it reads back exactly).
fn series_text(values: &[f64]) -> String {
    values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",")
}

fn series(text: Option<&String>) -> Vec<f64> {
    text.map(|t| t.split(',').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default()
}

impl Callback for BackupAndRestore {
    fn on_train_begin(&mut self, plan: &TrainingPlan, _model: &Sequential) -> Result<()> {
        if self.folder.is_file() {
            return Err(Error::file(
                &self.folder,
                "is a file, not a folder; hint: BackupAndRestore keeps its backup in a folder of its own, e.g. BackupAndRestore::new(\"backup\")",
            ));
        }
        std::fs::create_dir_all(&self.folder).map_err(|e| Error::io(&self.folder, e))?;
        self.history = History::default();
        self.has_validation = plan.has_validation;
        Ok(())
    }

    fn resume(&mut self, model: &Sequential) -> Result<Option<History>> {
        let path = self.file();
        if !path.is_file() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let unreadable = |e: String| {
            Error::file(
                &path,
                format!("not a readable backup ({e}); hint: delete it to start training afresh"),
            )
        };
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| unreadable(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let mut tensors =
            candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| unreadable(e.to_string()))?;
        // The epochs already done, as the history of the interrupted run logged them.
        let loss = series(metadata.get("loss"));
        let history = History {
            epoch: (1..=loss.len()).collect(),
            loss,
            accuracy: series(metadata.get("accuracy")),
            val_loss: series(metadata.get("val_loss")),
            val_accuracy: series(metadata.get("val_accuracy")),
            stopped_early: None,
        };
        // Validation, or none, as before: otherwise the validation series of the history
        // would start at the first resumed epoch and be read against the wrong epochs.
        let validated = !history.val_loss.is_empty();
        if validated != self.has_validation {
            let (there, here) = match validated {
                true => ("with validation data", "this fit has none"),
                false => ("without validation data", "this fit has some"),
            };
            return Err(Error::file(
                &path,
                format!(
                    "this backup was made {there} and {here}; hint: run fit with the same validation setting to resume, or delete the folder {} to start afresh",
                    self.folder.display()
                ),
            ));
        }
        // The weights: every one of the model's, with its shape.
        let weights = model.named_weights();
        for (name, weight) in &weights {
            match tensors.get(&format!("weights/{name}")) {
                Some(t) if t.dims() == weight.param.dims().as_slice() => {}
                Some(t) => {
                    let (there, here) = (full_shape(t.dims()), full_shape(&weight.param.dims()));
                    return Err(self.another_model(&format!("{name} is {there} there and {here} here")));
                }
                None => return Err(self.another_model(&format!("it has no {name}"))),
            }
        }
        // The optimizer's state.
        let compiled = model.compiled("BackupAndRestore")?;
        let mut optimizer = compiled.optimizer.lock().map_err(|_| {
            Error::new(
                crate::error::Kind::Internal,
                "BackupAndRestore: the optimizer is broken; hint: compile again",
            )
        })?;
        let saved_optimizer = metadata.get("optimizer").cloned().unwrap_or_default();
        if saved_optimizer != optimizer.name() {
            return Err(self.another_model(&format!(
                "it was trained with {saved_optimizer}, this model is compiled with {}",
                optimizer.name()
            )));
        }
        let mut state = HashMap::new();
        for (name, weight) in weights.iter().filter(|(_, w)| w.trainable) {
            let slots: Option<Vec<Vec<f32>>> = (0..optimizer.slots())
                .map(|slot| {
                    tensors
                        .remove(&format!("optimizer/{name}/{slot}"))
                        .and_then(|t| t.to_vec1::<f32>().ok())
                })
                .collect();
            if let Some(slots) = slots {
                // One state value per weight value: the update would otherwise move only
                // the first values, or none.
                let values = weight.param.elem_count();
                if let Some(slot) = slots.iter().find(|slot| slot.len() != values) {
                    return Err(unreadable(format!(
                        "its optimizer state for {name} has {} values, the weight {values}",
                        slot.len()
                    )));
                }
                state.insert(name.clone(), slots);
            }
        }
        let steps = metadata
            .get("optimizer_steps")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        for (name, weight) in &weights {
            let saved = &tensors[&format!("weights/{name}")];
            weight.param.set(saved.to_device(&weight.param.get().device().clone())?);
        }
        optimizer.restore_state(steps, state);
        // The generator, where the interrupted run left it (a backup from before this was
        // saved has none: the run goes on from where the generator is now).
        if let Some(text) = metadata.get("generator") {
            let generator = rng::position_from_text(text)
                .ok_or_else(|| unreadable(format!("its generator position {text:?} is not one a backup writes")))?;
            *model.generator().lock().unwrap_or_else(|p| p.into_inner()) = generator;
        }
        println!(
            "Restored the backup of epoch {} from {}: training resumes at epoch {}",
            history.epoch.len(),
            self.folder.display(),
            history.epoch.len() + 1
        );
        self.history = history.clone();
        Ok(Some(history))
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &EpochLogs, model: &Sequential) -> Result<Control> {
        self.history.record(epoch, logs);
        let mut tensors = Vec::new();
        for (name, weight) in model.named_weights() {
            tensors.push((format!("weights/{name}"), weight.param.get().to_device(&Device::Cpu)?));
        }
        let compiled = model.compiled("BackupAndRestore")?;
        let optimizer = compiled.optimizer.lock().map_err(|_| {
            Error::new(
                crate::error::Kind::Internal,
                "BackupAndRestore: the optimizer is broken; hint: compile again",
            )
        })?;
        let (steps, state) = optimizer.state();
        for (name, slots) in state {
            for (slot, values) in slots.iter().enumerate() {
                tensors.push((
                    format!("optimizer/{name}/{slot}"),
                    Tensor::from_slice(values, values.len(), &Device::Cpu)?,
                ));
            }
        }
        let h = &self.history;
        let generator = rng::position_text(&model.generator().lock().unwrap_or_else(|p| p.into_inner()));
        let metadata = HashMap::from([
            ("generator".to_string(), generator),
            ("optimizer".to_string(), optimizer.name().to_string()),
            ("optimizer_steps".to_string(), steps.to_string()),
            ("loss".to_string(), series_text(&h.loss)),
            ("accuracy".to_string(), series_text(&h.accuracy)),
            ("val_loss".to_string(), series_text(&h.val_loss)),
            ("val_accuracy".to_string(), series_text(&h.val_accuracy)),
        ]);
        drop(optimizer);
        write_safetensors(&self.file(), tensors, Some(metadata))?;
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _model: &Sequential) -> Result<()> {
        if self.delete_when_done {
            let path = self.file();
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
            // The folder too, when nothing else is in it.
            let _ = std::fs::remove_dir(&self.folder);
        }
        Ok(())
    }
}
