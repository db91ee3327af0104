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

use crate::layers::Param;
use crate::{bail, Result};
use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;
use std::collections::HashMap;

/// Weight values per step below which the weights move one after the other on the calling
/// thread: handing parts to the other threads costs tens of microseconds, about as long as
/// an Adam step over this many values. (A dense 784-10-10-3 model, 8,000 values, whose
/// weights were moved, gradients summed and samples copied side by side at every step,
/// trained at 41,000 samples/s instead of 92,000 on two cores. Measured again once the
/// threads stayed awake between steps: with this at 4,096 and the gradient sums' threshold
/// at 8,192, that model trained 0.52–0.59× as fast and Conv(10,3)-Dense(3), 20,000 values,
/// 0.86–0.95×; at 65,536, the seed convnet, 34,826 values, was level.)
pub(crate) const VALUES_WORTH_THREADS: usize = 32_768;

/// What a setting may be, by Keras' rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// A number ≥ 0 (learning rates, accumulator starts).
    NonNegative,
    /// A number > 0 (epsilon: it keeps divisions away from 0).
    Positive,
    /// In [0, 1) (decay rates β and ρ: 1 would stop the averages from moving).
    Fraction,
    /// In [0, 1] (SGD's momentum).
    UpToOne,
}

impl Allowed {
    fn admits(self, v: f64) -> bool {
        v.is_finite()
            && match self {
                Allowed::NonNegative => v >= 0.0,
                Allowed::Positive => v > 0.0,
                Allowed::Fraction => (0.0..1.0).contains(&v),
                Allowed::UpToOne => (0.0..=1.0).contains(&v),
            }
    }

    fn describe(self) -> &'static str {
        match self {
            Allowed::NonNegative => "a number ≥ 0",
            Allowed::Positive => "a number > 0",
            Allowed::Fraction => "in [0, 1)",
            Allowed::UpToOne => "in [0, 1]",
        }
    }
}

/// An optimizer's settings, as Keras names them: written once per optimizer by
/// `keras_settings!`, which makes the settings struct, its `Default` (Keras' defaults)
/// and this trait from one table of names, defaults and rules.
pub trait Settings {
    /// The Keras name, e.g. `rmsprop`.
    fn name(&self) -> &'static str;

    /// The step size.
    fn learning_rate(&self) -> f64;

    /// Change the step size (e.g. between `fit` calls).
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// Every numeric setting: its Keras name, value, what it may be, and Keras' default.
    fn settings(&self) -> Vec<(&'static str, f64, Allowed, f64)>;
}

/// One optimization algorithm's update, for one weight.
pub trait UpdateRule: Settings + Send + Sync {
    /// Initial values of the state kept for each weight value (one per slot: momentum,
    /// squared-gradient average, …).
    fn initial_state(&self) -> Vec<f32>;

    /// Move the weights `w` against their gradients `g`, each value with its own state
    /// (`state[slot][i]` for value `i`), in place. `step` counts from 1. Every value
    /// moves on its own, so a weight's values may come in parts (on the cores side by side).
    fn update(&self, w: &mut [f32], g: &[f32], state: &mut [&mut [f32]], step: u64);
}

/// An optimizer's settings struct from one table: each setting's name, type and Keras
/// default, and for a number what it may be ([`Allowed`]), which `compile` checks.
/// ```text
/// keras_settings! {
///     /// Adam's settings.
///     Adam "adam" {
///         learning_rate: f64 = 0.001, NonNegative;
///         beta_1: f64 = 0.9, Fraction;
///     }
/// }
/// ```
/// gives `pub struct Adam { pub learning_rate: f64, pub beta_1: f64 }`, its `Default` and
/// its [`Settings`].
macro_rules! keras_settings {
    ($(#[$doc:meta])* $rule:ident $keras:literal {
        $($field:ident: $type:ty = $default:expr $(, $allowed:ident)?;)*
    }) => {
        $(#[$doc])*
        ///
        /// Keras' defaults:
        $(#[doc = concat!("- `", stringify!($field), "`: ", stringify!($default))])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $rule {
            $(
                #[doc = concat!("Keras' `", stringify!($field), "` (default ", stringify!($default), ").")]
                pub $field: $type,
            )*
        }

        impl Default for $rule {
            fn default() -> Self {
                $rule { $($field: $default,)* }
            }
        }

        impl $crate::optimizers::Settings for $rule {
            fn name(&self) -> &'static str {
                $keras
            }

            fn learning_rate(&self) -> f64 {
                self.learning_rate
            }

            fn set_learning_rate(&mut self, learning_rate: f64) {
                self.learning_rate = learning_rate;
            }

            fn settings(&self) -> Vec<(&'static str, f64, $crate::optimizers::Allowed, f64)> {
                vec![$($((stringify!($field), self.$field, $crate::optimizers::Allowed::$allowed, $default),)?)*]
            }
        }
    };
}
use keras_settings;

/// Check a rule's settings by Keras' rules.
fn check_settings(rule: &dyn UpdateRule) -> Result<()> {
    for (setting, value, allowed, default) in rule.settings() {
        if !allowed.admits(value) {
            bail!(
                Setting,
                "compile: {} {setting} must be {}, got {value}; hint: Keras' default is {default}",
                rule.name(),
                allowed.describe()
            );
        }
    }
    Ok(())
}

/// An update rule with the state it keeps for every weight.
pub struct Optimizer {
    rule: Box<dyn UpdateRule>,
    /// Per weight, by its name (`conv2d/kernel`), one vector per slot.
    state: HashMap<String, Vec<Vec<f32>>>,
    steps: u64,
}

impl Optimizer {
    /// An optimizer for `rule`, whose settings must follow Keras' rules.
    pub fn new(rule: Box<dyn UpdateRule>) -> Result<Self> {
        check_settings(rule.as_ref())?;
        Ok(Optimizer {
            rule,
            state: HashMap::new(),
            steps: 0,
        })
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
            _ => bail!(Setting,
                "compile: unknown optimizer '{name}'; hint: use one of \"sgd\", \"rmsprop\", \"adam\", \"adamax\", \"nadam\", \"adagrad\", \"adadelta\""
            ),
        };
        Optimizer::new(rule)
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
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        if !Allowed::NonNegative.admits(learning_rate) {
            bail!(Setting,
                "set_learning_rate: the learning rate must be a number ≥ 0, got {learning_rate}; hint: try 10× smaller than the current {}",
                self.learning_rate()
            );
        }
        self.rule.set_learning_rate(learning_rate);
        Ok(())
    }

    /// Number of steps taken so far.
    pub fn iterations(&self) -> u64 {
        self.steps
    }

    /// The running state: steps taken, and per weight name one vector per slot.
    pub(crate) fn state(&self) -> (u64, &HashMap<String, Vec<Vec<f32>>>) {
        (self.steps, &self.state)
    }

    /// Continue from a state taken by [`Optimizer::state`].
    pub(crate) fn restore_state(&mut self, steps: u64, state: HashMap<String, Vec<Vec<f32>>>) {
        self.steps = steps;
        self.state = state;
    }

    /// How many state slots each weight has.
    pub(crate) fn slots(&self) -> usize {
        self.rule.initial_state().len()
    }

    /// One training step: move every weight (name, slot, gradient) against its gradient.
    /// All or nothing: when any new value would not be a finite number, nothing changes —
    /// neither the weights nor the optimizer's state — and the result is `false`.
    ///
    /// The rules run on the host's copy of the values; on a GPU that is one copy of the
    /// weights each way per step.
    pub fn apply(&mut self, updates: &[(String, Param, Tensor)]) -> Result<bool> {
        let step = self.steps + 1;
        let values: usize = updates.iter().map(|(_, _, grad)| grad.elem_count()).sum();
        let side_by_side = values >= VALUES_WORTH_THREADS;
        // Each weight moves on its own (on the cores side by side, when there are enough
        // values); nothing is changed until every new value is known to be finite.
        let stage = |(name, param, grad): &(String, Param, Tensor)| -> Result<Option<_>> {
            let old = param.get();
            let host = |t: &Tensor| -> Result<Vec<f32>> {
                Ok(t.flatten_all()?
                    .to_dtype(DType::F32)?
                    .to_device(&Device::Cpu)?
                    .to_vec1::<f32>()?)
            };
            let (mut w, g) = (host(&old)?, host(grad)?);
            // A copy, so that a failed step leaves the state as it was. It costs about 12 %
            // of the chapter-6 MLP's training time (Adam, 615,000 weights; 2-core AMD EPYC):
            // reusing last step's buffers or reading the old state and writing the new into
            // a second buffer gained nothing (the cost is the memory traffic and the larger
            // working set, not the allocation); only updating in place would, which would
            // give up the all-or-nothing rule above.
            let mut state = match self.state.get(name) {
                Some(state) => state.clone(),
                None => self
                    .rule
                    .initial_state()
                    .into_iter()
                    .map(|v| vec![v; w.len()])
                    .collect(),
            };
            if !update_in_parts(self.rule.as_ref(), (&mut w, &g, &mut state), step, side_by_side) {
                return Ok(None);
            }
            let new = Tensor::from_vec(w, old.dims(), &Device::Cpu)?.to_device(old.device())?;
            Ok(Some((name.clone(), param.clone(), new, state)))
        };
        let staged: Option<Vec<_>> = match side_by_side {
            true => updates.par_iter().map(stage).collect::<Result<_>>()?,
            false => updates.iter().map(stage).collect::<Result<_>>()?,
        };
        let Some(staged) = staged else {
            return Ok(false);
        };
        for (name, param, new, state) in staged {
            param.set(new);
            self.state.insert(name, state);
        }
        self.steps = step;
        Ok(true)
    }
}

/// Values per part of a weight that [`update_in_parts`] moves on one core.
const UPDATE_PART: usize = 4096;

/// `rule`'s update of the values `w` with their gradients `g` and `state`, in parts of
/// [`UPDATE_PART`] values, side by side on the cores or one after the other; whether every
/// new value is a finite number. (Moved weight by weight, each on one core, the seed
/// convnet's weights kept at most two cores busy: most of them are in two kernels of
/// 36,864 values.)
fn update_in_parts(
    rule: &dyn UpdateRule,
    (w, g, state): (&mut [f32], &[f32], &mut [Vec<f32>]),
    step: u64,
    side_by_side: bool,
) -> bool {
    // Per part, its share of every slot of the state.
    let mut parts: Vec<Vec<&mut [f32]>> = (0..w.len().div_ceil(UPDATE_PART)).map(|_| Vec::new()).collect();
    for slot in state.iter_mut() {
        for (part, values) in parts.iter_mut().zip(slot.chunks_mut(UPDATE_PART)) {
            part.push(values);
        }
    }
    let update = |w: &mut [f32], g: &[f32], state: &mut [&mut [f32]]| {
        rule.update(w, g, state, step);
        w.iter().all(|v| v.is_finite())
    };
    match side_by_side && parts.len() > 1 {
        true => w
            .par_chunks_mut(UPDATE_PART)
            .zip(g.par_chunks(UPDATE_PART))
            .zip(parts.par_iter_mut())
            .all(|((w, g), state)| update(w, g, state)),
        false => w
            .chunks_mut(UPDATE_PART)
            .zip(g.chunks(UPDATE_PART))
            .zip(parts.iter_mut())
            .all(|((w, g), state)| update(w, g, state)),
    }
}

/// What `compile` accepts as an optimizer: a name or a settings struct.
pub enum OptimizerChoice {
    /// A Keras name, e.g. `"adam"`, with Keras' default settings.
    Name(String),
    /// A settings struct, e.g. `Adam { learning_rate: 0.01, ..Default::default() }`.
    Rule(Box<dyn UpdateRule>),
}

impl OptimizerChoice {
    pub(crate) fn into_optimizer(self) -> Result<Optimizer> {
        match self {
            OptimizerChoice::Name(name) => Optimizer::by_name(&name),
            OptimizerChoice::Rule(rule) => Optimizer::new(rule),
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
        let mut opt = Optimizer::new(Box::new(rule)).unwrap();
        let param = Param::new(Tensor::new(&W0, &Device::Cpu).unwrap());
        GRADS
            .iter()
            .map(|g| {
                let grad = Tensor::new(g, &Device::Cpu).unwrap();
                assert!(opt.apply(&[("w".to_string(), param.clone(), grad)]).unwrap());
                let w = param.get().to_vec1::<f32>().unwrap();
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

    #[test]
    fn a_weight_moved_in_parts_side_by_side_moves_as_in_one_piece() {
        let rules: Vec<Box<dyn UpdateRule>> = vec![
            Box::new(SGD {
                momentum: 0.9,
                nesterov: true,
                ..Default::default()
            }),
            Box::new(RMSprop {
                centered: true,
                momentum: 0.5,
                ..Default::default()
            }),
            Box::new(Adam::default()),
            Box::new(Adamax::default()),
            Box::new(Nadam::default()),
            Box::new(Adagrad::default()),
            Box::new(Adadelta::default()),
        ];
        // Three whole parts and a short one.
        let len = 3 * UPDATE_PART + 5;
        let values = |seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| ((i * 7919 + seed * 104_729) % 2001) as f32 / 1000.0 - 1.0)
                .collect()
        };
        for rule in &rules {
            let fresh = || {
                rule.initial_state()
                    .into_iter()
                    .map(|v| vec![v; len])
                    .collect::<Vec<_>>()
            };
            let (mut whole, mut parted) = (values(0), values(0));
            let (mut whole_state, mut parted_state) = (fresh(), fresh());
            for step in 1..=3 {
                let g = values(step as usize);
                let mut slots: Vec<&mut [f32]> = whole_state.iter_mut().map(|s| s.as_mut_slice()).collect();
                rule.update(&mut whole, &g, &mut slots, step);
                assert!(update_in_parts(
                    rule.as_ref(),
                    (&mut parted, &g, &mut parted_state),
                    step,
                    true
                ));
                assert_eq!(whole, parted, "{} step {step}", rule.name());
                assert_eq!(whole_state, parted_state, "{} step {step}", rule.name());
            }
            // A value that turns infinite in the last part is seen, one after the other or
            // side by side.
            let mut g = values(4);
            g[len - 1] = f32::INFINITY;
            for side_by_side in [false, true] {
                let (mut w, mut state) = (values(0), fresh());
                assert!(!update_in_parts(
                    rule.as_ref(),
                    (&mut w, &g, &mut state),
                    1,
                    side_by_side
                ));
            }
        }
    }
}

#[cfg(test)]
mod setting_tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn settings_outside_keras_rules_are_refused() {
        let err = |rule: Box<dyn UpdateRule>| Optimizer::new(rule).err().unwrap().to_string();
        assert_eq!(
            err(Box::new(SGD {
                learning_rate: f64::NAN,
                ..Default::default()
            })),
            "compile: sgd learning_rate must be a number ≥ 0, got NaN; hint: Keras' default is 0.01"
        );
        assert_eq!(
            err(Box::new(SGD {
                learning_rate: -0.1,
                ..Default::default()
            })),
            "compile: sgd learning_rate must be a number ≥ 0, got -0.1; hint: Keras' default is 0.01"
        );
        assert_eq!(
            err(Box::new(Adam {
                beta_1: 1.0,
                ..Default::default()
            })),
            "compile: adam beta_1 must be in [0, 1), got 1; hint: Keras' default is 0.9"
        );
        assert_eq!(
            err(Box::new(SGD {
                momentum: 1.5,
                ..Default::default()
            })),
            "compile: sgd momentum must be in [0, 1], got 1.5; hint: Keras' default is 0"
        );
        assert_eq!(
            err(Box::new(RMSprop {
                epsilon: 0.0,
                ..Default::default()
            })),
            "compile: rmsprop epsilon must be a number > 0, got 0; hint: Keras' default is 0.0000001"
        );
        assert_eq!(
            err(Box::new(Adagrad {
                initial_accumulator_value: -1.0,
                ..Default::default()
            })),
            "compile: adagrad initial_accumulator_value must be a number ≥ 0, got -1; hint: Keras' default is 0.1"
        );
    }

    #[test]
    fn a_step_that_would_make_a_weight_non_finite_changes_nothing() {
        let mut opt = Optimizer::by_name("adam").unwrap();
        let (a, b) = (
            Param::new(Tensor::new(&[1f32, 2.0], &Device::Cpu).unwrap()),
            Param::new(Tensor::new(&[3f32], &Device::Cpu).unwrap()),
        );
        let good = |v: &[f32]| Tensor::new(v, &Device::Cpu).unwrap();
        assert!(opt
            .apply(&[
                ("a".into(), a.clone(), good(&[0.1, 0.1])),
                ("b".into(), b.clone(), good(&[0.1]))
            ])
            .unwrap());
        let (a1, b1) = (a.get().to_vec1::<f32>().unwrap(), b.get().to_vec1::<f32>().unwrap());
        // The second weight's gradient is infinite: neither weight moves, the step is not counted.
        let applied = opt
            .apply(&[
                ("a".into(), a.clone(), good(&[0.1, 0.1])),
                ("b".into(), b.clone(), good(&[f32::INFINITY])),
            ])
            .unwrap();
        assert!(!applied);
        assert_eq!(
            (a.get().to_vec1::<f32>().unwrap(), b.get().to_vec1::<f32>().unwrap()),
            (a1, b1)
        );
        assert_eq!(opt.iterations(), 1);
    }
}
