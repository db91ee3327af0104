//! `fit`: the training loop.
//!
//! Each epoch shuffles the training samples, cuts them into batches, and for every batch
//! runs the model forward (training mode), computes the loss, back-propagates and lets
//! the optimizer move the weights. After the epoch it evaluates the validation data,
//! prints one log line, records the [`History`] and runs the callbacks.

use super::compile::Compiled;
use super::history::History;
use crate::arrays::to_internal;
use crate::callbacks::{Callback, Control, EpochLogs, TrainingPlan};
use crate::cpu::CpuTrainer;
use crate::losses::cross_entropy;
use crate::metrics::count_correct;
use crate::model::input_checks::samples_and_one_hot_labels;
use crate::{bail, rng, Activation, Error, IntoTensor, Result, Sequential};
use candle_core::{Tensor, Var};
use std::io::Write;
use std::time::Instant;

/// The options of [`Sequential::fit`], with Keras' defaults: 1 epoch, batch size 32,
/// shuffling, no validation, one log line per epoch.
///
/// ```
/// use cnn_course::prelude::*;
/// let options = Fit::new().epochs(3).batch_size(10).validation_split(0.2);
/// ```
pub struct Fit {
    epochs: usize,
    batch_size: usize,
    validation_split: Option<f64>,
    validation_data: Option<Result<(Tensor, Tensor)>>,
    shuffle: bool,
    callbacks: Vec<Box<dyn Callback>>,
    verbose: u8,
}

impl Default for Fit {
    fn default() -> Self {
        Fit {
            epochs: 1,
            batch_size: 32,
            validation_split: None,
            validation_data: None,
            shuffle: true,
            callbacks: Vec::new(),
            verbose: 1,
        }
    }
}

impl Fit {
    pub fn new() -> Self {
        Self::default()
    }

    /// Passes over the training data (default 1).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Samples per gradient step (default 32).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Keep the *last* fraction of the samples (before shuffling) for validation, as Keras.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = Some(fraction);
        self
    }

    /// Validate on these samples and labels after each epoch.
    pub fn validation_data(mut self, x: &impl IntoTensor, y: &impl IntoTensor) -> Self {
        self.validation_data = Some(x.to_tensor().and_then(|x| Ok((x, y.to_tensor()?))));
        self
    }

    /// Shuffle the training samples before each epoch (default true).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Add a callback such as [`crate::ModelCheckpoint`] or [`crate::EarlyStopping`].
    pub fn callback(mut self, callback: impl Callback + 'static) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// 0: silent; 1 or 2: one line per epoch (default 1).
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }
}

/// Samples in the internal layout with their one-hot labels.
struct Samples {
    x: Tensor,
    y: Tensor,
}

impl Samples {
    fn len(&self) -> usize {
        self.x.dims()[0]
    }

    fn batch(&self, ids: &[usize]) -> Result<(Tensor, Tensor)> {
        let ids: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
        let ids = Tensor::new(ids, self.x.device())?;
        Ok((self.x.index_select(&ids, 0)?, self.y.index_select(&ids, 0)?))
    }
}

/// Scores whose largest entry is the predicted class: the logits for softmax and linear
/// outputs, the activation's output otherwise.
pub(crate) fn class_scores(z: &Tensor, activation: Activation) -> Result<Tensor> {
    match activation {
        Activation::Softmax | Activation::Linear => Ok(z.clone()),
        other => other.apply(z, 1),
    }
}

/// What one training step produced.
struct StepResult {
    /// The batch's mean loss (not finite: the step was not applied).
    loss: f64,
    /// Scores whose largest entry is the predicted class.
    scores: Tensor,
    forward_s: f64,
    backward_s: f64,
    optimizer_s: f64,
}

impl Sequential {
    /// Re-create every weight in this cell's copy of candle (see `layers::Param`), so that
    /// all tensors of a training step are numbered by the same copy; return the weights
    /// the optimizer updates.
    fn prepare_training(&self) -> Result<Vec<(String, Var)>> {
        for (_, weight) in self.named_weights() {
            weight.param.rehome()?;
        }
        Ok(self.trainable_vars())
    }

    /// One training step on a batch (internal layout, one-hot labels): forward pass, loss,
    /// backward pass and optimizer update — the update only when the loss is finite.
    ///
    /// With a `cpu` plan the forward and backward passes are the hand-written ones of
    /// [`crate::cpu`]; otherwise candle's automatic differentiation (same results).
    fn train_step(
        &self,
        x: &Tensor,
        y: &Tensor,
        vars: &[(String, Var)],
        compiled: &Compiled,
        cpu: Option<&CpuTrainer>,
    ) -> Result<StepResult> {
        let started = Instant::now();
        let (loss_value, scores, grads, forward_s, backward_s) = match cpu {
            Some(trainer) => {
                let step = trainer.step(x, y)?;
                (step.loss, step.logits, step.grads, step.forward_s, step.backward_s)
            }
            None => {
                let (z, activation) = self.graph_forward_to_logits(x, true)?;
                let loss = cross_entropy(&z, activation, y)?;
                let loss_value = loss.to_scalar::<f32>()? as f64;
                let forward_s = started.elapsed().as_secs_f64();
                let scores = class_scores(&z, activation)?;
                if !loss_value.is_finite() {
                    (loss_value, scores, Vec::new(), forward_s, 0.0)
                } else {
                    let grads = loss.backward()?;
                    let named = vars
                        .iter()
                        .filter_map(|(name, v)| grads.get(v.as_tensor()).map(|g| (name.clone(), g.clone())))
                        .collect();
                    (
                        loss_value,
                        scores,
                        named,
                        forward_s,
                        started.elapsed().as_secs_f64() - forward_s,
                    )
                }
            }
        };
        if !loss_value.is_finite() {
            return Ok(StepResult {
                loss: loss_value,
                scores,
                forward_s,
                backward_s: 0.0,
                optimizer_s: 0.0,
            });
        }
        let updates: Vec<(String, Var, Tensor)> = grads
            .into_iter()
            .filter_map(|(name, g)| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (name, v.clone(), g)))
            .collect();
        compiled
            .optimizer
            .lock()
            .map_err(|_| {
                Error::invalid("fit: the optimizer was left broken by an earlier panic; hint: compile the model again")
            })?
            .apply(&updates)?;
        let optimizer_s = started.elapsed().as_secs_f64() - forward_s - backward_s;
        Ok(StepResult {
            loss: loss_value,
            scores,
            forward_s,
            backward_s,
            optimizer_s,
        })
    }

    /// Train the model on samples `x` (Keras layout, e.g. `(samples, 28, 28, 1)`) and
    /// labels `y` (one-hot rows, or class numbers with the sparse loss).
    ///
    /// ```no_run
    /// # use cnn_course::prelude::*;
    /// # fn demo(model: &mut Sequential, x: &Array4<f32>, y: &Array2<f32>) -> cnn_course::Result<()> {
    /// let history = model.fit(x, y, Fit::new().epochs(3).batch_size(64).validation_split(0.2))?;
    /// println!("{:?}", history.val_accuracy);
    /// # Ok(()) }
    /// ```
    pub fn fit(&mut self, x: &impl IntoTensor, y: &impl IntoTensor, options: Fit) -> Result<History> {
        let compiled = self.compiled("fit")?.clone();
        let Fit {
            epochs,
            batch_size,
            validation_split,
            validation_data,
            shuffle,
            mut callbacks,
            verbose,
        } = options;
        if batch_size == 0 {
            bail!("fit: batch_size must be at least 1, got 0; hint: 32 is the usual default");
        }
        let (x, y) = samples_and_one_hot_labels(self, compiled.loss, x, y, "fit")?;
        let samples = x.dims()[0];

        let (train, validation) = match (validation_split, validation_data) {
            (Some(_), Some(_)) => bail!(
                "fit: both validation_split and validation_data were given; hint: use one — validation_data for a separate validation set"
            ),
            (Some(split), None) => {
                if !(split > 0.0 && split < 1.0) {
                    bail!(
                        "fit: validation_split must be between 0 and 1 (exclusive), got {split}; hint: 0.2 keeps the last 20 % of the samples for validation; leave it out for no validation"
                    );
                }
                let n_train = (samples as f64 * (1.0 - split)) as usize;
                if n_train == 0 || n_train == samples {
                    bail!(
                        "fit: validation_split {split} of {samples} samples leaves {n_train} for training and {} for validation; hint: both need at least one sample",
                        samples - n_train
                    );
                }
                let train = Samples { x: to_internal(&x.narrow(0, 0, n_train)?)?, y: y.narrow(0, 0, n_train)? };
                let val = Samples {
                    x: to_internal(&x.narrow(0, n_train, samples - n_train)?)?,
                    y: y.narrow(0, n_train, samples - n_train)?,
                };
                (train, Some(val))
            }
            (None, Some(data)) => {
                let (vx, vy) = data.map_err(|e| e.context("fit: validation_data"))?;
                let (vx, vy) = samples_and_one_hot_labels(self, compiled.loss, &vx, &vy, "fit (validation_data)")?;
                (Samples { x: to_internal(&x)?, y }, Some(Samples { x: to_internal(&vx)?, y: vy }))
            }
            (None, None) => (Samples { x: to_internal(&x)?, y }, None),
        };

        let plan = TrainingPlan {
            epochs,
            has_validation: validation.is_some(),
        };
        for callback in callbacks.iter_mut() {
            callback.on_train_begin(&plan)?;
        }
        if verbose > 0 {
            match &validation {
                Some(val) => println!("Train on {} samples, validate on {} samples", train.len(), val.len()),
                None => println!("Train on {} samples", train.len()),
            }
        }
        let vars = self.prepare_training()?;
        let cpu = CpuTrainer::plan(self);
        // Shuffling and dropout masks come from the model's own seeded generator.
        let generator = self.generator.clone();
        let _active = crate::rng::activate(&generator);
        let steps = train.len().div_ceil(batch_size);
        let mut history = History::default();
        'epochs: for epoch in 1..=epochs {
            let started = Instant::now();
            let order = match shuffle {
                true => rng::permutation(train.len()),
                false => (0..train.len()).collect(),
            };
            let (mut loss_sum, mut correct) = (0.0, 0);
            for (step, ids) in order.chunks(batch_size).enumerate() {
                let (xb, yb) = train.batch(ids)?;
                let step_result = self.train_step(&xb, &yb, &vars, &compiled, cpu.as_ref())?;
                let loss_value = step_result.loss;
                if !loss_value.is_finite() {
                    // The update was not applied, so the weights stay those of the last good step.
                    let reason = format!(
                        "Epoch {epoch}, step {}/{steps}: the loss is {loss_value}; training stopped with the weights from before this step. Hint: lower the learning rate (e.g. 10× smaller) and check that the inputs are scaled to 0..1 and contain no NaN",
                        step + 1
                    );
                    println!("{reason}");
                    history.stopped_early = Some(reason);
                    break 'epochs;
                }
                loss_sum += loss_value * ids.len() as f64;
                correct += count_correct(&step_result.scores, &yb)?;
            }
            let logs = EpochLogs {
                loss: loss_sum / train.len() as f64,
                accuracy: correct as f64 / train.len() as f64,
                val_loss: None,
                val_accuracy: None,
            };
            let logs = match &validation {
                Some(val) => {
                    let (val_loss, val_accuracy) = self.evaluate_internal(&val.x, &val.y)?;
                    EpochLogs {
                        val_loss: Some(val_loss),
                        val_accuracy: Some(val_accuracy),
                        ..logs
                    }
                }
                None => logs,
            };
            history.epoch.push(epoch);
            history.loss.push(logs.loss);
            history.accuracy.push(logs.accuracy);
            if let (Some(l), Some(a)) = (logs.val_loss, logs.val_accuracy) {
                history.val_loss.push(l);
                history.val_accuracy.push(a);
            }
            if verbose > 0 {
                let seconds = started.elapsed().as_secs_f64();
                let mut line = format!(
                    "Epoch {epoch}/{epochs} - {steps}/{steps} steps - {seconds:.1}s {:.0}ms/step - loss: {:.4}",
                    seconds * 1000.0 / steps as f64,
                    logs.loss
                );
                if compiled.show_accuracy {
                    line.push_str(&format!(" - accuracy: {:.4}", logs.accuracy));
                }
                if let Some(v) = logs.val_loss {
                    line.push_str(&format!(" - val_loss: {v:.4}"));
                }
                if let (Some(v), true) = (logs.val_accuracy, compiled.show_accuracy) {
                    line.push_str(&format!(" - val_accuracy: {v:.4}"));
                }
                println!("{line}");
                let _ = std::io::stdout().flush();
            }
            for callback in callbacks.iter_mut() {
                if let Control::Stop(reason) = callback.on_epoch_end(epoch, &logs, self)? {
                    println!("{reason}");
                    history.stopped_early = Some(reason);
                    break 'epochs;
                }
            }
        }
        for callback in callbacks.iter_mut() {
            callback.on_train_end(self)?;
        }
        Ok(history)
    }
}

/// Where one training step's time goes, from [`Sequential::profile_step`].
#[derive(Clone, Copy, Debug)]
pub struct StepProfile {
    pub forward_ms: f64,
    pub backward_ms: f64,
    pub optimizer_ms: f64,
}

impl std::fmt::Display for StepProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "forward {:.1} ms, backward {:.1} ms, optimizer {:.1} ms",
            self.forward_ms, self.backward_ms, self.optimizer_ms
        )
    }
}

impl Sequential {
    /// Time the parts of training steps on one batch (median of 5 steps after a warm-up);
    /// the weights are trained by these steps. For benchmarks.
    pub fn profile_step(&mut self, x: &impl IntoTensor, y: &impl IntoTensor) -> Result<StepProfile> {
        let compiled = self.compiled("profile_step")?.clone();
        let (x, y) = samples_and_one_hot_labels(self, compiled.loss, x, y, "profile_step")?;
        let x = to_internal(&x)?;
        let vars = self.prepare_training()?;
        let cpu = CpuTrainer::plan(self);
        let mut runs = Vec::new();
        for _ in 0..6 {
            let step = self.train_step(&x, &y, &vars, &compiled, cpu.as_ref())?;
            runs.push((step.forward_s, step.backward_s, step.optimizer_s));
        }
        runs.remove(0);
        let median = |f: fn(&(f64, f64, f64)) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2] * 1000.0
        };
        Ok(StepProfile {
            forward_ms: median(|r| r.0),
            backward_ms: median(|r| r.1),
            optimizer_ms: median(|r| r.2),
        })
    }
}
