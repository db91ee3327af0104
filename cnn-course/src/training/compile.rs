//! `compile`: the optimizer, loss and metrics a model trains with.

use crate::losses::Loss;
use crate::optimizers::{Optimizer, OptimizerChoice};
use crate::{bail, Result, Sequential};
use std::sync::{Arc, Mutex};

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
    /// `RMSprop { learning_rate: 1e-4, ..Default::default() }`. Compiling again starts a
    /// fresh optimizer but keeps the weights.
    pub fn compile(&mut self, optimizer: impl Into<OptimizerChoice>, loss: &str, metrics: &[&str]) -> Result<()> {
        let optimizer = optimizer.into().into_optimizer()?;
        let loss: Loss = loss.parse()?;
        let mut show_accuracy = false;
        for metric in metrics {
            match *metric {
                "accuracy" | "acc" | "categorical_accuracy" | "sparse_categorical_accuracy" => show_accuracy = true,
                other => bail!("compile: unknown metric '{other}'; hint: use &[\"accuracy\"], or &[] for none"),
            }
        }
        if self.layers().is_empty() {
            bail!("compile: the model has no layers; hint: add layers with model.add(...) before compiling");
        }
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
            None => bail!(
                "{what}: the model is not compiled; hint: call model.compile(\"adam\", \"categorical_crossentropy\", &[\"accuracy\"]) first"
            ),
        }
    }
}
