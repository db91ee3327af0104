//! Callbacks: code that watches training epoch by epoch, as in Keras.
//!
//! - [`ModelCheckpoint`] saves the weights, every epoch or only when a monitored value
//!   improves;
//! - [`EarlyStopping`] stops training when a monitored value stops improving;
//! - [`BackupAndRestore`] backs training up after every epoch, so that an interrupted
//!   `fit` resumes where it stopped.
//!
//! Write your own by implementing [`Callback`].

mod backup_and_restore;
mod early_stopping;
mod model_checkpoint;
mod monitor;

pub use backup_and_restore::BackupAndRestore;
pub use early_stopping::EarlyStopping;
pub use model_checkpoint::ModelCheckpoint;
pub use monitor::Mode;

use crate::{History, Result, Sequential};

/// What training reports after each epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochLogs {
    /// Mean training loss over the epoch's batches.
    pub loss: f64,
    /// Training accuracy over the epoch.
    pub accuracy: f64,
    /// Validation loss after the epoch, with validation data.
    pub val_loss: Option<f64>,
    /// Validation accuracy after the epoch, with validation data.
    pub val_accuracy: Option<f64>,
}

impl EpochLogs {
    /// A value by its Keras name: `loss`, `accuracy`, `val_loss`, `val_accuracy`.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
            "accuracy" | "acc" => Some(self.accuracy),
            "val_loss" => self.val_loss,
            "val_accuracy" | "val_acc" => self.val_accuracy,
            _ => None,
        }
    }
}

/// What a callback knows before training starts.
#[derive(Clone, Copy, Debug)]
pub struct TrainingPlan {
    /// Epochs asked for (a resumed run does fewer).
    pub epochs: usize,
    /// Whether `fit` has validation data (`val_…` values are logged).
    pub has_validation: bool,
}

/// Whether training goes on after an epoch.
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    /// Go on with the next epoch.
    Continue,
    /// Stop, with the reason to print.
    Stop(String),
}

/// Code run by `fit` at the start, after each epoch, and at the end of training.
pub trait Callback {
    /// Check settings against the training about to start (e.g. a monitored value that
    /// needs validation data).
    fn on_train_begin(&mut self, _plan: &TrainingPlan, _model: &Sequential) -> Result<()> {
        Ok(())
    }

    /// After `on_train_begin`: a callback that holds a backup of an interrupted run puts
    /// the model back as it was and returns the epochs already done; training resumes
    /// after them.
    fn resume(&mut self, _model: &Sequential) -> Result<Option<History>> {
        Ok(None)
    }

    /// After a backup was restored (by [`Callback::resume`]), every callback gets the epochs
    /// it already did, so that one that watches a value across epochs goes on from them
    /// as if training had never stopped.
    fn resumed(&mut self, _done: &History, _model: &Sequential) -> Result<()> {
        Ok(())
    }

    /// After epoch `epoch` (counting from 1).
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &EpochLogs, _model: &Sequential) -> Result<Control> {
        Ok(Control::Continue)
    }

    /// When training ends, normally or early.
    fn on_train_end(&mut self, _model: &Sequential) -> Result<()> {
        Ok(())
    }
}
