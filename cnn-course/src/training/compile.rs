//! `compile`: the optimizer, loss and metrics a model trains with.

use crate::choice::{choice_of, Choice};
use crate::layers::Layer;
use crate::losses::{Head, Loss};
use crate::optimizers::{Optimizer, OptimizerChoice};
use crate::{bail, Activation, Error, Result, Sequential};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// A metric reported by `fit` and `evaluate`, by its Keras name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// The fraction of samples classified correctly (for a binary loss: of answers).
    Accuracy,
}

choice_of!(Metric);

impl FromStr for Metric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "accuracy" | "acc" | "categorical_accuracy" | "sparse_categorical_accuracy" | "binary_accuracy" => {
                Ok(Metric::Accuracy)
            }
            other => bail!(
                Setting,
                "unknown metric '{other}'; hint: use &[\"accuracy\"], or &[] for none"
            ),
        }
    }
}

/// The metrics given to `compile`: `&["accuracy"]`, `&[]`, `Metric::Accuracy` or `[Metric::Accuracy]`.
pub struct Metrics(Vec<Choice<Metric>>);

impl<const N: usize> From<&[&str; N]> for Metrics {
    fn from(names: &[&str; N]) -> Self {
        Metrics(names.iter().map(|n| Choice::from(*n)).collect())
    }
}

impl From<&[&str]> for Metrics {
    fn from(names: &[&str]) -> Self {
        Metrics(names.iter().map(|n| Choice::from(*n)).collect())
    }
}

impl From<Vec<&str>> for Metrics {
    fn from(names: Vec<&str>) -> Self {
        Metrics(names.into_iter().map(Choice::from).collect())
    }
}

impl From<Metric> for Metrics {
    fn from(metric: Metric) -> Self {
        Metrics(vec![Choice::Value(metric)])
    }
}

impl<const N: usize> From<[Metric; N]> for Metrics {
    fn from(metrics: [Metric; N]) -> Self {
        Metrics(metrics.into_iter().map(Choice::Value).collect())
    }
}

/// What `compile` chose. Clones of a model share the optimizer's state.
#[derive(Clone)]
pub(crate) struct Compiled {
    pub optimizer: Arc<Mutex<Optimizer>>,
    pub loss: Loss,
    pub show_accuracy: bool,
}

impl Sequential {
    /// Choose how the model learns, as in Keras:
    /// `model.compile("adam", "categorical_crossentropy", &["accuracy"])`.
    ///
    /// The optimizer is a name (`"sgd"`, `"rmsprop"`, `"adam"`, `"adamax"`, `"nadam"`,
    /// `"adagrad"`, `"adadelta"`, with Keras' defaults) or settings such as
    /// `RMSprop { learning_rate: 1e-4, ..Default::default() }`; the loss a name or a
    /// [`Loss`]. Compiling again starts a fresh optimizer but keeps the weights.
    pub fn compile(
        &mut self,
        optimizer: impl Into<OptimizerChoice>,
        loss: impl Into<Choice<Loss>>,
        metrics: impl Into<Metrics>,
    ) -> Result<()> {
        let optimizer = optimizer.into().into_optimizer()?;
        let loss = loss.into().resolve("compile")?;
        let mut show_accuracy = false;
        for metric in metrics.into().0 {
            show_accuracy |= metric.resolve("compile")? == Metric::Accuracy;
        }
        if self.layers().is_empty() {
            bail!(
                Usage,
                "compile: the model has no layers; hint: add layers with model.add(...) before compiling"
            );
        }
        if show_accuracy && !loss.classifies() {
            bail!(
                Setting,
                "compile: accuracy counts correct classes, and {loss} predicts numbers; hint: compile with &[] for no metric"
            );
        }
        self.head(loss)?;
        self.compiled = Some(Compiled {
            optimizer: Arc::new(Mutex::new(optimizer)),
            loss,
            show_accuracy,
        });
        Ok(())
    }

    /// The Keras name of the optimizer chosen by `compile` (`None` before compiling).
    pub fn optimizer_name(&self) -> Option<&'static str> {
        let compiled = self.compiled.as_ref()?;
        let optimizer = compiled.optimizer.lock().ok()?;
        Some(optimizer.name())
    }

    /// The Keras name of the loss chosen by `compile` (`None` before compiling).
    pub fn loss_name(&self) -> Option<&'static str> {
        self.compiled.as_ref().map(|c| c.loss.name())
    }

    pub(crate) fn compiled(&self, what: &str) -> Result<&Compiled> {
        match &self.compiled {
            Some(c) => Ok(c),
            None => bail!(Usage,
                "{what}: the model is not compiled; hint: call model.compile(\"adam\", \"categorical_crossentropy\", &[\"accuracy\"]) first"
            ),
        }
    }

    /// How `loss` reads this model's output; an error for outputs it cannot be right on.
    pub(crate) fn head(&self, loss: Loss) -> Result<Head> {
        let layers = self.layer_slice();
        let Some(last) = layers.last() else {
            bail!(
                Usage,
                "{}: the model has no layers; hint: add some with model.add(...)",
                self.name()
            );
        };
        // A softmax followed only by layers without weights (Dropout, Flatten, …) is the
        // real output: the loss would apply softmax to probabilities a second time.
        if let Some(at) = layers.iter().rposition(|l| l.layer.activation() == Activation::Softmax) {
            let after = &layers[at + 1..];
            if !after.is_empty() && after.iter().all(|l| l.layer.weights().is_empty()) {
                let names: Vec<&str> = after.iter().map(|l| l.name.as_str()).collect();
                bail!(Shape,
                    "{}: {} comes after the softmax output of '{}', so the loss would see probabilities where it expects scores; hint: end the model with the softmax layer — put Dropout before the last Dense layer",
                    names[0],
                    names.join(", "),
                    layers[at].name
                );
            }
        }
        let units: usize = last.output_shape.iter().product();
        Head::choose(loss, last.layer.activation(), units, &last.name)
    }
}
