//! `fit`: the training loop.
//!
//! Each epoch shuffles the training samples and cuts them into batches. For every batch
//! the engine (`src/training/engine.rs`) runs the model forward, computes the loss, runs it back
//! to get every weight's gradient, and the optimizer moves the weights against their
//! gradients. After the epoch, `fit` evaluates the validation data, prints one log line,
//! records the [`History`] and runs the callbacks.

use super::compile::Compiled;
use super::engine::{with_engine, Engine};
use super::history::History;
use crate::backend::Backend;
use crate::callbacks::{Callback, Control, EpochLogs, TrainingPlan};
use crate::layers::Layer;
use crate::losses::{loss_step, Head};
use crate::model::input_checks::samples_and_targets;
use crate::{bail, rng, Error, IntoTensor, Result, Sequential};
use candle_core::Tensor;
use std::io::Write;
use std::time::Instant;

/// Samples per inference batch: large batches are faster and give the same results.
pub(crate) const INFERENCE_BATCH: usize = 256;

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
    pub(crate) callbacks: Vec<Box<dyn Callback>>,
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
    /// Keras' defaults: 1 epoch, batches of 32, shuffled, no validation, a line per epoch.
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

/// Samples (Keras layout) with the rows the loss compares the outputs with, on the host.
pub(crate) struct Samples {
    pub x: Tensor,
    pub y: Tensor,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.x.dims()[0]
    }

    fn rows(&self, start: usize, len: usize) -> Result<Samples> {
        Ok(Samples {
            x: self.x.narrow(0, start, len)?,
            y: self.y.narrow(0, start, len)?,
        })
    }
}

/// The rows `ids` of a matrix whose rows have `width` values.
fn target_rows(targets: &[f32], width: usize, ids: &[usize]) -> Vec<f32> {
    ids.iter()
        .flat_map(|&i| targets[i * width..(i + 1) * width].iter().copied())
        .collect()
}

/// The hint of a training stopped by a loss that is not a number, after a step or an epoch.
const DIVERGED: &str = "lower the learning rate (e.g. 10× smaller) and check that the inputs are scaled to 0..1";

impl Sequential {
    /// Whether this model trains on the CPU backend (else candle's operations on its
    /// device). `CNN_COURSE_BACKEND=candle` runs candle's operations on the CPU too, for
    /// comparisons.
    pub(crate) fn on_host(&self) -> bool {
        self.device().is_cpu() && std::env::var("CNN_COURSE_BACKEND").map_or(true, |v| v != "candle")
    }

    /// Where training runs, for the log: e.g. `CPU: 2 threads, AVX-512` or
    /// `GPU: NVIDIA H100 80GB HBM3, candle's operations`.
    pub fn device_description(&self) -> String {
        if let Some((name, _)) = crate::device::gpu(self.device()) {
            return format!("GPU: {name}, candle's operations");
        }
        let threads = rayon::current_num_threads();
        #[cfg(target_arch = "x86_64")]
        let vectors = if std::is_x86_feature_detected!("avx512f") && cfg!(feature = "avx512") {
            ", AVX-512"
        } else if std::is_x86_feature_detected!("avx2") {
            ", AVX2"
        } else {
            ""
        };
        #[cfg(not(target_arch = "x86_64"))]
        let vectors = "";
        let engine = if self.on_host() { "" } else { ", candle's operations" };
        format!(
            "CPU: {threads} thread{}{vectors}{engine}",
            if threads == 1 { "" } else { "s" }
        )
    }

    /// Train the model on samples `x` (Keras layout, e.g. `(samples, 28, 28, 1)`) and
    /// labels `y` (one-hot rows, class numbers with the sparse loss, 0/1 with the binary one).
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
        let _training = self.start_training("fit")?;
        let head = self.head(compiled.loss)?;
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
            bail!(
                Setting,
                "fit: batch_size must be at least 1, got 0; hint: 32 is the usual default"
            );
        }
        let (x, y) = samples_and_targets(self, compiled.loss, x, y, "fit")?;
        let samples = Samples { x, y };
        let (train, validation) = match (validation_split, validation_data) {
            (Some(_), Some(_)) => bail!(Usage,
                "fit: both validation_split and validation_data were given; hint: use one — validation_data for a separate validation set"
            ),
            (Some(split), None) => {
                if !(split > 0.0 && split < 1.0) {
                    bail!(Setting,
                        "fit: validation_split must be between 0 and 1 (exclusive), got {split}; hint: 0.2 keeps the last 20 % of the samples for validation; leave it out for no validation"
                    );
                }
                let n = samples.len();
                let n_train = (n as f64 * (1.0 - split)) as usize;
                if n_train == 0 || n_train == n {
                    bail!(Data,
                        "fit: validation_split {split} of {n} samples leaves {n_train} for training and {} for validation; hint: both need at least one sample",
                        n - n_train
                    );
                }
                (samples.rows(0, n_train)?, Some(samples.rows(n_train, n - n_train)?))
            }
            (None, Some(data)) => {
                let (vx, vy) = data.map_err(|e| e.context("fit: validation_data"))?;
                let (vx, vy) = samples_and_targets(self, compiled.loss, &vx, &vy, "fit (validation_data)")?;
                (samples, Some(Samples { x: vx, y: vy }))
            }
            (None, None) => (samples, None),
        };
        let plan = TrainingPlan {
            epochs,
            has_validation: validation.is_some(),
        };
        for callback in callbacks.iter_mut() {
            callback.on_train_begin(&plan, self)?;
        }
        // Before a backup is restored: it puts the model's generator where the interrupted
        // run left it, which a later seed must not undo.
        if self.follow_a_later_seed() {
            println!(
                "note: set_seed came after this model drew its initial weights: shuffling and dropout follow the seed from now on, but for repeatable weights call set_seed before adding the model's first layer"
            );
        }
        let mut done = History::default();
        for callback in callbacks.iter_mut() {
            if let Some(history) = callback.resume(self)? {
                done = history;
                break;
            }
        }
        if !done.epoch.is_empty() {
            for callback in callbacks.iter_mut() {
                callback.resumed(&done, self)?;
            }
        }
        if verbose > 0 {
            let device = self.device_description();
            match &validation {
                Some(val) => println!(
                    "Train on {} samples, validate on {} samples ({device})",
                    train.len(),
                    val.len()
                ),
                None => println!("Train on {} samples ({device})", train.len()),
            }
        }
        let run = Run {
            done,
            compiled: &compiled,
            head,
            epochs,
            batch_size,
            shuffle,
            verbose,
        };
        let history = with_engine!(self, |engine| self.train_on(
            engine,
            &run,
            &train,
            validation.as_ref(),
            &mut callbacks
        ))?;
        for callback in callbacks.iter_mut() {
            callback.on_train_end(self)?;
        }
        Ok(history)
    }
}

/// The settings of one `fit` call, for the loop.
struct Run<'a> {
    /// Epochs a restored backup already did (see [`crate::BackupAndRestore`]).
    done: History,
    compiled: &'a Compiled,
    head: Head,
    epochs: usize,
    batch_size: usize,
    shuffle: bool,
    verbose: u8,
}

impl Sequential {
    /// A note for a model whose every layer with weights is frozen: Keras trains it
    /// without complaint, and the learner sees a loss that does not move.
    fn all_frozen_note(&self) -> Option<String> {
        let with_weights: Vec<_> = self
            .layer_slice()
            .iter()
            .filter(|l| !l.layer.weights().is_empty())
            .collect();
        match with_weights.last() {
            Some(last) if with_weights.iter().all(|l| !l.trainable) => Some(format!(
                "note: every layer with weights is frozen, so fit changes no weights; hint: model.set_trainable(\"{}\", true) trains the last one",
                last.name
            )),
            _ => None,
        }
    }

    fn train_on<B: Backend>(
        &self,
        engine: Engine<B>,
        run: &Run,
        train: &Samples,
        validation: Option<&Samples>,
        callbacks: &mut [Box<dyn Callback>],
    ) -> Result<History>
    where
        B::Buf: Send,
    {
        let backend = engine.backend();
        let n = train.len();
        let data = backend.load(&train.x)?;
        let width = train.x.elem_count() / n.max(1);
        let targets = train.y.flatten_all()?.to_vec1::<f32>()?;
        let target_width = targets.len() / n.max(1);
        let validation = match validation {
            Some(v) => Some((backend.load(&v.x)?, v.y.flatten_all()?.to_vec1::<f32>()?, v.len())),
            None => None,
        };
        if let Some(note) = self.all_frozen_note() {
            println!("{note}");
        }
        // Shuffling and dropout masks come from the model's own seeded generator.
        let generator = self.generator();
        let _active = rng::activate(&generator);
        let steps = n.div_ceil(run.batch_size);
        engine.check_memory("fit", run.batch_size.min(n), true)?;
        let layers = self.layer_slice();
        let mut history = run.done.clone();
        'epochs: for epoch in history.epoch.len() + 1..=run.epochs {
            let started = Instant::now();
            // Kept to go back to if the epoch ends with a validation loss that is not a
            // number (tensors are replaced, not changed, by an update: this is no copy).
            let before_epoch = self.snapshot();
            let order = match run.shuffle {
                true => rng::permutation(n),
                false => (0..n).collect(),
            };
            // The epoch's steps run on the thread pool, handed over once (`Engine::in_pool`),
            // with the model's generator active there too, for the dropout masks. It gives
            // the epoch's loss sum and correct answers, or why training stopped.
            let steps_run = || -> Result<std::result::Result<(f64, f64), String>> {
                let _active = rng::activate(&generator);
                let (mut loss_sum, mut correct) = (0.0, 0.0);
                for (step, ids) in order.chunks(run.batch_size).enumerate() {
                    let batch_targets = target_rows(&targets, target_width, ids);
                    let outcome = engine.train_step((&data, width), ids, &batch_targets, run.head)?;
                    let stop = |what: String| {
                        Err(format!(
                            "Epoch {epoch}, step {}/{steps}: {what}; training stopped with the weights from before this step. Hint: {DIVERGED}",
                            step + 1
                        ))
                    };
                    if !outcome.loss.is_finite() {
                        return Ok(stop(format!("the loss is {}", outcome.loss)));
                    }
                    let updates: Vec<_> = outcome
                        .gradients
                        .into_iter()
                        .map(|(name, w, g)| (name, w.param, g))
                        .collect();
                    let applied = run
                        .compiled
                        .optimizer
                        .lock()
                        .map_err(|_| {
                            Error::new(
                                crate::error::Kind::Internal,
                                "fit: the optimizer was left broken by an earlier panic; hint: compile the model again",
                            )
                        })?
                        .apply(&updates)?;
                    if !applied {
                        let reason = "the update would make some weights NaN or infinite";
                        return Ok(stop(reason.into()));
                    }
                    for (layer, sums) in layers.iter().zip(&outcome.sums) {
                        if let Some(sums) = sums {
                            layer.layer.finish_step(sums)?;
                        }
                    }
                    loss_sum += outcome.loss * ids.len() as f64;
                    correct += outcome.correct;
                }
                Ok(Ok((loss_sum, correct)))
            };
            let (loss_sum, correct) = match engine.in_pool(run.batch_size.min(n), steps_run)? {
                Ok(sums) => sums,
                Err(reason) => {
                    println!("{reason}");
                    history.stopped_early = Some(reason);
                    break 'epochs;
                }
            };
            let mut logs = EpochLogs {
                loss: loss_sum / n as f64,
                accuracy: correct / n as f64,
                val_loss: None,
                val_accuracy: None,
            };
            if let Some((vdata, vtargets, vn)) = &validation {
                let (loss, accuracy) = evaluate_on(&engine, (vdata, width), vtargets, *vn, run.head)?;
                if !loss.is_finite() {
                    self.restore(&before_epoch);
                    let reason = format!(
                        "Epoch {epoch}: the validation loss is {loss}; training stopped with the weights from before this epoch. Hint: {DIVERGED}"
                    );
                    println!("{reason}");
                    history.stopped_early = Some(reason);
                    break 'epochs;
                }
                logs.val_loss = Some(loss);
                logs.val_accuracy = Some(accuracy);
            }
            history.record(epoch, &logs);
            if run.verbose > 0 {
                let seconds = started.elapsed().as_secs_f64();
                println!("{}", epoch_line(epoch, run, steps, seconds, &logs));
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
        Ok(history)
    }
}

/// One epoch's log line, as Keras prints it.
fn epoch_line(epoch: usize, run: &Run, steps: usize, seconds: f64, logs: &EpochLogs) -> String {
    let mut line = format!(
        "Epoch {epoch}/{} - {steps}/{steps} steps - {seconds:.1}s {:.0}ms/step - loss: {:.4}",
        run.epochs,
        seconds * 1000.0 / steps as f64,
        logs.loss
    );
    if run.compiled.show_accuracy {
        line.push_str(&format!(" - accuracy: {:.4}", logs.accuracy));
    }
    if let Some(v) = logs.val_loss {
        line.push_str(&format!(" - val_loss: {v:.4}"));
    }
    if let (Some(v), true) = (logs.val_accuracy, run.compiled.show_accuracy) {
        line.push_str(&format!(" - val_accuracy: {v:.4}"));
    }
    line
}

/// Mean loss and accuracy of `n` loaded samples, in inference mode, in batches.
pub(crate) fn evaluate_on<B: Backend>(
    engine: &Engine<B>,
    (data, width): (&B::Buf, usize),
    targets: &[f32],
    n: usize,
    head: Head,
) -> Result<(f64, f64)>
where
    B::Buf: Send,
{
    let target_width = targets.len() / n.max(1);
    let (mut loss_sum, mut correct) = (0.0, 0.0);
    engine.check_memory("evaluate", n.min(INFERENCE_BATCH), false)?;
    let ids: Vec<usize> = (0..n).collect();
    for chunk in ids.chunks(INFERENCE_BATCH) {
        let scores = engine.infer((data, width), chunk, Some(head), false)?;
        let mine = target_rows(targets, target_width, chunk);
        let step = loss_step(head, &scores[0], &mine, target_width, 1);
        loss_sum += step.sum;
        correct += step.correct;
    }
    Ok((loss_sum / n.max(1) as f64, correct / n.max(1) as f64))
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;

    #[test]
    fn a_model_with_every_weighted_layer_frozen_gets_a_note() -> Result<()> {
        let mut model = Sequential::new();
        model.add(Flatten::new().input_shape((4, 4, 1)))?;
        model.add(Dense::new(3).activation("relu"))?;
        model.add(Dense::new(2).activation("softmax"))?;
        assert_eq!(model.all_frozen_note(), None);
        model.set_trainable("dense", false)?;
        assert_eq!(model.all_frozen_note(), None, "one layer still trains");
        model.set_trainable("dense_1", false)?;
        assert_eq!(
            model.all_frozen_note().as_deref(),
            Some("note: every layer with weights is frozen, so fit changes no weights; hint: model.set_trainable(\"dense_1\", true) trains the last one")
        );
        let mut weightless = Sequential::new();
        weightless.add(Flatten::new().input_shape((4, 4, 1)))?;
        assert_eq!(weightless.all_frozen_note(), None);
        Ok(())
    }
}
