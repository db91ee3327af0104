//! `ModelCheckpoint`: save the weights during training.
//!
//! With `save_best_only`, the file is written only when the monitored value (by default
//! `val_loss`) improves, so after training it holds the best epoch's weights even when
//! later epochs overfit. Rebuild the same layers and call `load_weights` to use them.

use super::monitor::{Mode, Monitor};
use super::{Callback, Control, EpochLogs, TrainingPlan};
use crate::choice::Choice;
use crate::{Result, Sequential};
use std::path::PathBuf;

/// Saves weights to a safetensors file, as Keras' `ModelCheckpoint(save_weights_only=True)`.
///
/// `{epoch}` in the path is replaced by the epoch number (`weights-{epoch}.safetensors`).
pub struct ModelCheckpoint {
    path: String,
    monitor: Monitor,
    save_best_only: bool,
    verbose: bool,
}

impl ModelCheckpoint {
    /// Save to `path` after every epoch, monitoring `val_loss`.
    pub fn new(path: impl Into<String>) -> Self {
        ModelCheckpoint {
            path: path.into(),
            monitor: Monitor::new("val_loss"),
            save_best_only: false,
            verbose: true,
        }
    }

    /// The value to watch: `val_loss` (default), `val_accuracy`, `loss`, `accuracy`.
    pub fn monitor(mut self, name: &str) -> Self {
        self.monitor.name = name.into();
        self
    }

    /// Save only when the monitored value improves.
    pub fn save_best_only(mut self, yes: bool) -> Self {
        self.save_best_only = yes;
        self
    }

    /// `"min"`, `"max"`, or `"auto"` (default: max for accuracies, min otherwise).
    pub fn mode(mut self, mode: impl Into<Choice<Mode>>) -> Self {
        self.monitor.mode = mode.into();
        self
    }

    /// Print a line when saving (default true).
    pub fn verbose(mut self, yes: bool) -> Self {
        self.verbose = yes;
        self
    }

    fn path_for(&self, epoch: usize) -> PathBuf {
        PathBuf::from(self.path.replace("{epoch}", &format!("{epoch:02}")))
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, plan: &TrainingPlan, _model: &Sequential) -> Result<()> {
        self.monitor.begin("ModelCheckpoint", plan)
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &EpochLogs, model: &Sequential) -> Result<Control> {
        let path = self.path_for(epoch);
        if !self.save_best_only {
            model.save_weights(&path)?;
            if self.verbose {
                println!("Epoch {epoch}: saving weights to {}", path.display());
            }
            return Ok(Control::Continue);
        }
        let value = self.monitor.value(logs)?;
        let name = &self.monitor.name;
        if self.monitor.improves(value) {
            model.save_weights(&path)?;
            if self.verbose {
                match self.monitor.best {
                    Some(best) => println!(
                        "Epoch {epoch}: {name} improved from {best:.5} to {value:.5}, saving weights to {}",
                        path.display()
                    ),
                    None => println!(
                        "Epoch {epoch}: {name} is {value:.5}, saving weights to {}",
                        path.display()
                    ),
                }
            }
            self.monitor.best = Some(value);
        } else if self.verbose {
            println!(
                "Epoch {epoch}: {name} did not improve from {:.5}",
                self.monitor.best.unwrap_or(value)
            );
        }
        Ok(Control::Continue)
    }
}
