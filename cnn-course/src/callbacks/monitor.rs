//! Watching one logged value for improvement — shared by the checkpoint and early stopping.

use super::{EpochLogs, TrainingPlan};
use crate::{bail, Result};

/// A value to watch, which direction is better, and the best seen so far.
#[derive(Clone, Debug)]
pub(crate) struct Monitor {
    pub name: String,
    pub mode: String,
    pub min_delta: f64,
    pub best: Option<f64>,
}

impl Monitor {
    pub fn new(name: &str) -> Self {
        Monitor {
            name: name.into(),
            mode: "auto".into(),
            min_delta: 0.0,
            best: None,
        }
    }

    /// Whether larger values are better: `max` mode, or `auto` for accuracies.
    fn maximize(&self) -> bool {
        self.mode == "max" || (self.mode == "auto" && self.name.contains("acc"))
    }

    /// Check the settings before training; forget the best value of an earlier run.
    pub fn begin(&mut self, callback: &str, plan: &TrainingPlan) -> Result<()> {
        self.best = None;
        if !["auto", "min", "max"].contains(&self.mode.as_str()) {
            bail!(
                "{callback}: unknown mode '{}'; hint: use \"auto\", \"min\" or \"max\"",
                self.mode
            );
        }
        if !["loss", "accuracy", "val_loss", "val_accuracy", "acc", "val_acc"].contains(&self.name.as_str()) {
            bail!(
                "{callback}: cannot monitor '{}'; hint: use \"loss\", \"accuracy\", \"val_loss\" or \"val_accuracy\"",
                self.name
            );
        }
        if self.name.starts_with("val_") && !plan.has_validation {
            bail!(
                "{callback}: monitoring '{}' needs validation data; hint: pass .validation_split(0.2) or .validation_data(&x_val, &y_val) to fit, or monitor \"loss\"",
                self.name
            );
        }
        Ok(())
    }

    /// The monitored value in this epoch's logs.
    pub fn value(&self, logs: &EpochLogs) -> Result<f64> {
        match logs.get(&self.name) {
            Some(v) => Ok(v),
            None => bail!("'{}' was not logged this epoch", self.name),
        }
    }

    /// Whether `value` beats the best so far by more than `min_delta`.
    pub fn improves(&self, value: f64) -> bool {
        match self.best {
            None => value.is_finite(),
            Some(best) if self.maximize() => value > best + self.min_delta,
            Some(best) => value < best - self.min_delta,
        }
    }
}
