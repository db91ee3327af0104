//! Watching one logged value for improvement — shared by the checkpoint and early stopping.

use super::{EpochLogs, TrainingPlan};
use crate::choice::{choice_of, Choice};
use crate::{bail, Error, History, Result};
use std::str::FromStr;

/// Which direction of a monitored value is an improvement, as Keras' `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Lower is better for losses, higher for accuracies.
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

choice_of!(Mode);

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Mode::Auto),
            "min" => Ok(Mode::Min),
            "max" => Ok(Mode::Max),
            _ => bail!(Setting, "unknown mode '{s}'; hint: use \"auto\", \"min\" or \"max\""),
        }
    }
}

/// A value to watch, which direction is better, and the best seen so far.
#[derive(Clone, Debug)]
pub(crate) struct Monitor {
    pub name: String,
    pub mode: Choice<Mode>,
    pub min_delta: f64,
    pub best: Option<f64>,
    maximize: bool,
}

impl Monitor {
    pub fn new(name: &str) -> Self {
        Monitor {
            name: name.into(),
            mode: Choice::Value(Mode::Auto),
            min_delta: 0.0,
            best: None,
            maximize: false,
        }
    }

    /// Check the settings before training; forget the best value of an earlier run. The
    /// value must be logged (`val_…` needs validation data) only when it is `watched`.
    pub fn begin(&mut self, callback: &str, plan: &TrainingPlan, watched: bool) -> Result<()> {
        self.best = None;
        // Larger values are better in `max` mode, and in `auto` mode for accuracies.
        self.maximize = match self.mode.resolve(callback)? {
            Mode::Max => true,
            Mode::Min => false,
            Mode::Auto => self.name.contains("acc"),
        };
        if !["loss", "accuracy", "val_loss", "val_accuracy", "acc", "val_acc"].contains(&self.name.as_str()) {
            bail!(
                Setting,
                "{callback}: cannot monitor '{}'; hint: use \"loss\", \"accuracy\", \"val_loss\" or \"val_accuracy\"",
                self.name
            );
        }
        if !self.min_delta.is_finite() {
            bail!(Setting,
                "{callback}: min_delta must be a finite number, got {}; hint: 0.001 counts only improvements larger than 0.001",
                self.min_delta
            );
        }
        if watched && self.name.starts_with("val_") && !plan.has_validation {
            bail!(Usage,
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
            None => bail!(Usage, "'{}' was not logged this epoch", self.name),
        }
    }

    /// Go through the epochs a restored backup already did as if they had just run, so that
    /// the best so far is theirs. Answers, epoch by epoch, whether each one improved.
    pub fn replay(&mut self, done: &History) -> Vec<bool> {
        let values = done.get(&self.name).unwrap_or_default();
        values
            .iter()
            .map(|&value| {
                let improved = self.improves(value);
                if improved {
                    self.best = Some(value);
                }
                improved
            })
            .collect()
    }

    /// Whether `value` beats the best so far by more than `min_delta`.
    pub fn improves(&self, value: f64) -> bool {
        match self.best {
            None => value.is_finite(),
            Some(best) if self.maximize => value > best + self.min_delta,
            Some(best) => value < best - self.min_delta,
        }
    }
}
