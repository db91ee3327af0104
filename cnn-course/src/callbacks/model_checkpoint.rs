//! `ModelCheckpoint`: save the weights during training.
//!
//! With `save_best_only`, the file is written only when the monitored value (by default
//! `val_loss`) improves, so after training it holds the best epoch's weights even when
//! later epochs overfit. Rebuild the same layers and call `load_weights` to use them.

use super::monitor::{Mode, Monitor};
use super::{Callback, Control, EpochLogs, TrainingPlan};
use crate::choice::Choice;
use crate::{bail, History, Result, Sequential};
use std::path::PathBuf;

/// Saves weights to a safetensors file, as Keras' `ModelCheckpoint(save_weights_only=True)`.
///
/// As in Keras, the path may name the epoch and the logged values, with Python's format
/// specifications: `weights.{epoch:02d}.safetensors` → `weights.03.safetensors`,
/// `best-{val_loss:.2f}.safetensors` → `best-0.41.safetensors`. The folder is created if
/// it does not exist.
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

    fn path_for(&self, epoch: usize, logs: &EpochLogs) -> Result<PathBuf> {
        fill_placeholders(&self.path, epoch, logs).map(PathBuf::from)
    }
}

/// `template` with each `{name}` or `{name:spec}` replaced by the epoch number or a logged
/// value, formatted as Python would: `{epoch:02d}` → `03`, `{val_loss:.2f}` → `0.41`.
pub(crate) fn fill_placeholders(template: &str, epoch: usize, logs: &EpochLogs) -> Result<String> {
    let names = "{epoch}, {loss}, {accuracy}, {val_loss} or {val_accuracy}, with a format such as {epoch:02d} or {val_loss:.2f}";
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            bail!(
                Setting,
                "ModelCheckpoint: the path '{template}' opens a {{ that is never closed; hint: use {names}"
            );
        };
        let field = &rest[open + 1..close];
        let (name, spec) = field.split_once(':').unwrap_or((field, ""));
        let value = match name {
            "epoch" => Some(epoch as f64),
            other => logs.get(other),
        };
        let Some(value) = value else {
            let why = match name {
                "val_loss" | "val_accuracy" | "val_acc" => " needs validation data",
                _ => " is not a logged value",
            };
            bail!(
                Setting,
                "ModelCheckpoint: {{{name}}} in the path '{template}'{why}; hint: use {names}"
            );
        };
        out.push_str(&format_value(value, spec).ok_or_else(|| {
            crate::Error::new(
                crate::error::Kind::Setting,
                format!("ModelCheckpoint: unknown format '{spec}' in {{{field}}}; hint: use {names}"),
            )
        })?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A number formatted by a Python format spec: `''`, `d`, `03d`, `.2f`, `8.4f`.
fn format_value(value: f64, spec: &str) -> Option<String> {
    if spec.is_empty() {
        return Some(if value.fract() == 0.0 {
            format!("{}", value as i64)
        } else {
            format!("{value}")
        });
    }
    if let Some(width) = spec.strip_suffix('d') {
        let zeros = width.starts_with('0');
        let width: usize = if width.is_empty() { 0 } else { width.parse().ok()? };
        let whole = value.round() as i64;
        return Some(match zeros {
            true => format!("{whole:0width$}"),
            false => format!("{whole:width$}"),
        });
    }
    let (width, precision) = spec.strip_suffix('f')?.split_once('.')?;
    let width: usize = if width.is_empty() { 0 } else { width.parse().ok()? };
    let precision: usize = precision.parse().ok()?;
    Some(format!("{value:width$.precision$}"))
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, plan: &TrainingPlan, _model: &Sequential) -> Result<()> {
        // The monitored value is read only when saving the best epoch; a misspelt name or
        // mode is refused either way, since it shows what the learner meant to watch.
        self.monitor.begin("ModelCheckpoint", plan, self.save_best_only)?;
        // Every problem with the path shows now, not after the first epoch's training.
        let example = EpochLogs {
            loss: 0.0,
            accuracy: 0.0,
            val_loss: plan.has_validation.then_some(0.0),
            val_accuracy: plan.has_validation.then_some(0.0),
        };
        let path = self.path_for(1, &example)?;
        crate::model::weights_file::check_weights_path(&path)?;
        if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| crate::Error::io(folder, e).context("ModelCheckpoint"))?;
        }
        crate::files::check_writable(&path)
    }

    /// The best-only file holds the best of the epochs before the interruption: a resumed
    /// epoch replaces it only when it does better.
    fn resumed(&mut self, done: &History, _model: &Sequential) -> Result<()> {
        if self.save_best_only {
            self.monitor.replay(done);
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &EpochLogs, model: &Sequential) -> Result<Control> {
        let path = self.path_for(epoch, logs)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_epoch_and_values_as_keras_does() {
        let logs = EpochLogs {
            loss: 0.5123,
            accuracy: 0.75,
            val_loss: Some(0.41234),
            val_accuracy: None,
        };
        let fill = |t: &str| fill_placeholders(t, 3, &logs);
        assert_eq!(
            fill("weights.{epoch:02d}.safetensors").unwrap(),
            "weights.03.safetensors"
        );
        assert_eq!(
            fill("w-{epoch}-{val_loss:.2f}.safetensors").unwrap(),
            "w-3-0.41.safetensors"
        );
        assert_eq!(fill("best.safetensors").unwrap(), "best.safetensors");
        assert_eq!(
            fill("w-{val_accuracy:.3f}.safetensors").unwrap_err().to_string(),
            "ModelCheckpoint: {val_accuracy} in the path 'w-{val_accuracy:.3f}.safetensors' needs validation data; hint: use {epoch}, {loss}, {accuracy}, {val_loss} or {val_accuracy}, with a format such as {epoch:02d} or {val_loss:.2f}"
        );
        assert_eq!(
            fill("w-{step}.safetensors").unwrap_err().to_string(),
            "ModelCheckpoint: {step} in the path 'w-{step}.safetensors' is not a logged value; hint: use {epoch}, {loss}, {accuracy}, {val_loss} or {val_accuracy}, with a format such as {epoch:02d} or {val_loss:.2f}"
        );
        assert_eq!(
            fill("w-{epoch:x}.safetensors").unwrap_err().to_string(),
            "ModelCheckpoint: unknown format 'x' in {epoch:x}; hint: use {epoch}, {loss}, {accuracy}, {val_loss} or {val_accuracy}, with a format such as {epoch:02d} or {val_loss:.2f}"
        );
    }
}
