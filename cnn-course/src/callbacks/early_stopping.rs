//! `EarlyStopping`: stop training once the monitored value stops improving.
//!
//! After `patience` epochs without an improvement larger than `min_delta`, training stops.
//! With `restore_best_weights`, the model then gets back the weights of its best epoch
//! (as in Keras, only when training was stopped early).

use super::monitor::{Mode, Monitor};
use super::{Callback, Control, EpochLogs, TrainingPlan};
use crate::choice::Choice;
use crate::layers::Weight;
use crate::{History, Result, Sequential};
use candle_core::Tensor;

/// Early stopping, as Keras' `EarlyStopping`.
pub struct EarlyStopping {
    monitor: Monitor,
    patience: usize,
    restore_best_weights: bool,
    wait: usize,
    best_epoch: usize,
    best_weights: Option<Vec<(Weight, Tensor)>>,
    stopped: bool,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self::new()
    }
}

impl EarlyStopping {
    /// Monitor `val_loss`, patience 0, no minimum change, keep the last weights.
    pub fn new() -> Self {
        EarlyStopping {
            monitor: Monitor::new("val_loss"),
            patience: 0,
            restore_best_weights: false,
            wait: 0,
            best_epoch: 0,
            best_weights: None,
            stopped: false,
        }
    }

    /// The value to watch: `val_loss` (default), `val_accuracy`, `loss`, `accuracy`.
    pub fn monitor(mut self, name: &str) -> Self {
        self.monitor.name = name.into();
        self
    }

    /// Epochs without improvement to wait before stopping.
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.monitor.min_delta = delta.abs();
        self
    }

    /// `"min"`, `"max"`, or `"auto"` (default), or a [`Mode`].
    pub fn mode(mut self, mode: impl Into<Choice<Mode>>) -> Self {
        self.monitor.mode = mode.into();
        self
    }

    /// When stopping, put back the weights of the best epoch.
    pub fn restore_best_weights(mut self, yes: bool) -> Self {
        self.restore_best_weights = yes;
        self
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, plan: &TrainingPlan, _model: &Sequential) -> Result<()> {
        self.monitor.begin("EarlyStopping", plan, true)?;
        self.wait = 0;
        self.best_epoch = 0;
        self.best_weights = None;
        self.stopped = false;
        Ok(())
    }

    /// Patience counts the epochs before the interruption too. The backup holds the last
    /// epoch's weights: when that epoch is the best one they are the best weights.
    fn resumed(&mut self, done: &History, model: &Sequential) -> Result<()> {
        for (i, improved) in self.monitor.replay(done).into_iter().enumerate() {
            match improved {
                true => (self.best_epoch, self.wait) = (i + 1, 0),
                false => self.wait += 1,
            }
        }
        if self.restore_best_weights && self.best_epoch == done.epoch.len() {
            self.best_weights = Some(model.snapshot());
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &EpochLogs, model: &Sequential) -> Result<Control> {
        let value = self.monitor.value(logs)?;
        if self.monitor.improves(value) {
            self.monitor.best = Some(value);
            self.best_epoch = epoch;
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights = Some(model.snapshot());
            }
            return Ok(Control::Continue);
        }
        self.wait += 1;
        if self.wait >= self.patience.max(1) {
            self.stopped = true;
            return Ok(Control::Stop(format!(
                "Epoch {epoch}: early stopping: {} has not improved for {} epoch{} (best {:.5} at epoch {})",
                self.monitor.name,
                self.wait,
                if self.wait == 1 { "" } else { "s" },
                self.monitor.best.unwrap_or(value),
                self.best_epoch
            )));
        }
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, model: &Sequential) -> Result<()> {
        if !(self.stopped && self.restore_best_weights) {
            return Ok(());
        }
        match &self.best_weights {
            Some(best) => {
                model.restore(best);
                println!("Restoring the weights of epoch {}, the best one.", self.best_epoch);
            }
            // No epoch improved (every value was NaN): there is nothing to restore.
            None if self.best_epoch == 0 => {}
            None => println!(
                "note: the weights of epoch {}, the best one, cannot be restored: training resumed from a backup made after it, so the model keeps its last epoch's weights; hint: ModelCheckpoint::new(\"best.safetensors\").save_best_only(true) keeps the best epoch's weights in a file that survives an interruption",
                self.best_epoch
            ),
        }
        Ok(())
    }
}
