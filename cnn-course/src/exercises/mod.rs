//! Checkers for the notebooks' exercises, one file per chapter.
//!
//! Each checker compares a learner's answer with the right one and says exactly what is
//! wrong ("your feature map has shape (28, 28); a 3×3 kernel without padding gives
//! (26, 26)"), or confirms it. It prints its verdict — on stdout when right, on stderr
//! (shown in red) when not — and returns it as a [`Check`].
//!
//! ```
//! use cnn_course::exercises::ch3;
//! use ndarray::array;
//! let check = ch3::convolution_1d(&array![0., 1., 0., -1., 0., 1., 0., -1., 0.]);
//! assert!(check.passed);
//! ```

pub mod ch1;
pub mod ch2;
pub mod ch3;
pub mod ch4;
pub mod ch5;
pub mod ch6;

use crate::arrays::{full_shape, keras_shape};
use crate::Sequential;
use ndarray::{ArrayBase, Data, Dimension};
use std::fmt;

/// A checker's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub passed: bool,
    pub message: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            if self.passed { "✓ Correct:" } else { "✗ Not yet:" },
            self.message
        )
    }
}

/// Print and return a verdict.
pub(crate) fn verdict(result: Result<String, String>) -> Check {
    let check = match result {
        Ok(message) => Check { passed: true, message },
        Err(message) => Check { passed: false, message },
    };
    if check.passed {
        println!("{check}");
    } else {
        eprintln!("{check}");
    }
    check
}

/// Compare an array with the expected one: shape first, then every value.
pub(crate) fn same_array<S1, D1, S2, D2>(
    what: &str,
    yours: &ArrayBase<S1, D1>,
    expected: &ArrayBase<S2, D2>,
    tolerance: f32,
) -> Result<(), String>
where
    S1: Data<Elem = f32>,
    D1: Dimension,
    S2: Data<Elem = f32>,
    D2: Dimension,
{
    if yours.shape() != expected.shape() {
        return Err(format!(
            "your {what} has shape {}; expected {}",
            full_shape(yours.shape()),
            full_shape(expected.shape())
        ));
    }
    let yours = yours.view().into_dyn();
    let expected = expected.view().into_dyn();
    for (index, want) in expected.indexed_iter() {
        let got = yours[&index];
        if !(got - want).abs().le(&tolerance) {
            return Err(format!("{what}{:?} is {got}; expected {want}", index.slice()));
        }
    }
    Ok(())
}

/// One expected layer: its Keras type, output shape (no batch) and parameter count.
pub(crate) type LayerSpec<'a> = (&'a str, &'a [usize], usize);

/// Compare a model's layers with the expected architecture, layer by layer.
pub(crate) fn same_model(model: &Sequential, expected: &[LayerSpec]) -> Result<(), String> {
    let layers = model.layers();
    for (i, (want_type, want_shape, want_params)) in expected.iter().enumerate() {
        let Some(layer) = layers.get(i) else {
            return Err(format!(
                "your model has {} layers; expected {} — layer {} should be a {want_type}",
                layers.len(),
                expected.len(),
                i + 1
            ));
        };
        if layer.type_name() != *want_type {
            return Err(format!(
                "layer {} ({}) is a {}; expected a {want_type}",
                i + 1,
                layer.name(),
                layer.type_name()
            ));
        }
        if layer.output_shape() != *want_shape {
            return Err(format!(
                "layer {} ({}) outputs {}; expected {} — check its filters/units, kernel size, padding and strides",
                i + 1,
                layer.name(),
                keras_shape(layer.output_shape()),
                keras_shape(want_shape)
            ));
        }
        if layer.count_params() != *want_params {
            return Err(format!(
                "layer {} ({}) has {} parameters; expected {want_params}",
                i + 1,
                layer.name(),
                layer.count_params()
            ));
        }
    }
    if layers.len() > expected.len() {
        return Err(format!(
            "your model has {} layers; expected only {}",
            layers.len(),
            expected.len()
        ));
    }
    Ok(())
}

/// The model compiled with `optimizer` (`why` says which the exercise uses) and
/// categorical cross-entropy (`labels` says why that loss).
pub(crate) fn compiled_with(model: &Sequential, optimizer: &str, why: &str, labels: &str, done: &str) -> Check {
    verdict(match (model.optimizer_name(), model.loss_name()) {
        (None, _) => Err("the model is not compiled: call model.compile(…)".into()),
        (Some(o), _) if o != optimizer => Err(format!("the optimizer is {o}; {why} \"{optimizer}\"")),
        (_, Some(l)) if l != "categorical_crossentropy" => {
            Err(format!("the loss is {l}; {labels} \"categorical_crossentropy\""))
        }
        _ => Ok(done.into()),
    })
}

/// An `f32` answer within a tolerance.
pub(crate) fn same_number(what: &str, yours: f64, expected: f64, hint: &str) -> Result<String, String> {
    if (yours - expected).abs() <= 1e-6 * expected.abs().max(1.0) {
        Ok(format!("{what} = {expected}"))
    } else {
        Err(format!("{what} is {yours}; expected {expected}. {hint}"))
    }
}
