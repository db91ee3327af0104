//! Optimizers: how weights move against their gradients, by their Keras names.
//!
//! Each optimizer is a small settings struct with Keras' defaults (one file each) that
//! implements [`UpdateRule`]: given a weight, its gradient and the optimizer's running
//! state for that weight, compute the new weight. [`Optimizer`] keeps that state per
//! weight and counts the steps. Choose one by name (`"rmsprop"`) or as a struct
//! (`RMSprop { learning_rate: 1e-4, ..Default::default() }`).
//!
//! candle-nn's AdamW is not used: its default weight decay of 0.01 makes it a different
//! optimizer from Keras' Adam.

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod nadam;
mod rmsprop;
mod sgd;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamax::Adamax;
pub use nadam::Nadam;
pub use rmsprop::RMSprop;
pub use sgd::SGD;

use crate::{bail, Result};
use candle_core::{Tensor, Var};
use std::collections::HashMap;

/// One optimization algorithm's update, for one weight.
pub trait UpdateRule: Send {
    /// The Keras name, e.g. `rmsprop`.
    fn name(&self) -> &'static str;

    /// The step size.
    fn learning_rate(&self) -> f64;

    /// Change the step size (e.g. between `fit` calls).
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// Initial values of the state tensors kept for each weight (one per slot: momentum,
    /// squared-gradient average, …).
    fn initial_state(&self) -> Vec<f64>;

    /// Called once per training step, before the weights are updated; `step` counts from 1.
    fn begin_step(&mut self, _step: u64) {}

    /// The new value of weight `w` with gradient `g`; updates `state` in place.
    fn update(&self, w: &Tensor, g: &Tensor, state: &mut [Tensor], step: u64) -> Result<Tensor>;
}

/// An update rule with the state it keeps for every weight.
pub struct Optimizer {
    rule: Box<dyn UpdateRule>,
    /// Per weight, by its name (`conv2d/kernel`): names survive re-created variables.
    state: HashMap<String, Vec<Tensor>>,
    steps: u64,
}

impl Optimizer {
    pub fn new(rule: Box<dyn UpdateRule>) -> Self {
        Optimizer {
            rule,
            state: HashMap::new(),
            steps: 0,
        }
    }

    /// An optimizer by its Keras name, with Keras' default settings.
    pub fn by_name(name: &str) -> Result<Self> {
        let rule: Box<dyn UpdateRule> = match name.to_ascii_lowercase().as_str() {
            "sgd" => Box::new(SGD::default()),
            "rmsprop" => Box::new(RMSprop::default()),
            "adam" => Box::new(Adam::default()),
            "adamax" => Box::new(Adamax::default()),
            "nadam" => Box::new(Nadam::default()),
            "adagrad" => Box::new(Adagrad::default()),
            "adadelta" => Box::new(Adadelta::default()),
            _ => bail!(
                "compile: unknown optimizer '{name}'; hint: use one of \"sgd\", \"rmsprop\", \"adam\", \"adamax\", \"nadam\", \"adagrad\", \"adadelta\""
            ),
        };
        Ok(Optimizer::new(rule))
    }

    /// The Keras name of the algorithm.
    pub fn name(&self) -> &'static str {
        self.rule.name()
    }

    /// The current step size.
    pub fn learning_rate(&self) -> f64 {
        self.rule.learning_rate()
    }

    /// Change the step size; the state (momentum, averages) is kept.
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.rule.set_learning_rate(learning_rate)
    }

    /// Number of steps taken so far.
    pub fn iterations(&self) -> u64 {
        self.steps
    }

    /// One training step: move every weight (name, variable, gradient) against its gradient.
    pub fn apply(&mut self, updates: &[(String, Var, Tensor)]) -> Result<()> {
        self.steps += 1;
        self.rule.begin_step(self.steps);
        for (name, var, grad) in updates {
            let w = var.as_tensor().detach();
            let grad = grad.detach();
            let state = match self.state.entry(name.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let initial = self
                        .rule
                        .initial_state()
                        .into_iter()
                        .map(|v| Ok(w.ones_like()?.affine(v, 0.0)?))
                        .collect::<Result<Vec<_>>>()?;
                    e.insert(initial)
                }
            };
            let new_w = self.rule.update(&w, &grad, state, self.steps)?;
            var.set(&new_w)?;
        }
        Ok(())
    }
}

/// What `compile` accepts as an optimizer: a name or a settings struct.
pub enum OptimizerChoice {
    Name(String),
    Rule(Box<dyn UpdateRule>),
}

impl OptimizerChoice {
    pub(crate) fn into_optimizer(self) -> Result<Optimizer> {
        match self {
            OptimizerChoice::Name(name) => Optimizer::by_name(&name),
            OptimizerChoice::Rule(rule) => Ok(Optimizer::new(rule)),
        }
    }
}

impl From<&str> for OptimizerChoice {
    fn from(name: &str) -> Self {
        OptimizerChoice::Name(name.into())
    }
}

impl From<String> for OptimizerChoice {
    fn from(name: String) -> Self {
        OptimizerChoice::Name(name)
    }
}

macro_rules! choice_from_rule {
    ($($rule:ty),*) => {$(
        impl From<$rule> for OptimizerChoice {
            fn from(rule: $rule) -> Self {
                OptimizerChoice::Rule(Box::new(rule))
            }
        }
    )*};
}
choice_from_rule!(SGD, RMSprop, Adam, Adamax, Nadam, Adagrad, Adadelta);

/// `a · x + b · y` for tensors, the building block of every moving average.
pub(crate) fn mix(a: f64, x: &Tensor, b: f64, y: &Tensor) -> Result<Tensor> {
    Ok(x.affine(a, 0.0)?.add(&y.affine(b, 0.0)?)?)
}

#[cfg(test)]
pub(crate) mod reference {
    //! Runs a rule on a two-element weight and compares with a scalar implementation of
    //! the published formula.
    use super::*;
    use candle_core::Device;

    pub const W0: [f32; 2] = [1.0, -2.0];
    pub const GRADS: [[f32; 2]; 3] = [[0.5, -1.0], [0.1, 0.3], [-0.4, 0.2]];

    /// Apply `GRADS` one after the other, return the weights after each step.
    pub fn run(rule: impl UpdateRule + 'static) -> Vec<[f64; 2]> {
        let mut opt = Optimizer::new(Box::new(rule));
        let var = Var::new(&W0, &Device::Cpu).unwrap();
        GRADS
            .iter()
            .map(|g| {
                let grad = Tensor::new(g, &Device::Cpu).unwrap();
                opt.apply(&[("w".to_string(), var.clone(), grad)]).unwrap();
                let w = var.as_tensor().to_vec1::<f32>().unwrap();
                [w[0] as f64, w[1] as f64]
            })
            .collect()
    }

    /// Assert the tensor run matches `scalar`, a per-element implementation called with
    /// (weight, gradient history) for each element.
    pub fn assert_matches(got: &[[f64; 2]], scalar: impl Fn(usize) -> Vec<f64>) {
        for i in 0..2 {
            for (step, (w, got)) in scalar(i).iter().zip(got).enumerate() {
                assert!(
                    (got[i] - w).abs() < 1e-5,
                    "element {i}, step {}: got {}, want {w}",
                    step + 1,
                    got[i]
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keras_name_gives_its_optimizer_with_keras_defaults() {
        for (name, lr) in [
            ("sgd", 0.01),
            ("rmsprop", 0.001),
            ("adam", 0.001),
            ("adamax", 0.001),
            ("nadam", 0.001),
            ("adagrad", 0.001),
            ("adadelta", 0.001),
        ] {
            let opt = Optimizer::by_name(name).unwrap();
            assert_eq!((opt.name(), opt.learning_rate()), (name, lr));
        }
        assert_eq!(
            Optimizer::by_name("adamw").err().unwrap().to_string(),
            "compile: unknown optimizer 'adamw'; hint: use one of \"sgd\", \"rmsprop\", \"adam\", \"adamax\", \"nadam\", \"adagrad\", \"adadelta\""
        );
    }
}
