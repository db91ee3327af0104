//! Checkers for the notebooks' exercises, one file per chapter, and the chapter-end
//! questionnaires ([`quiz`]).
//!
//! A checker says whether an answer is right and, when it is not, what is wrong and why:
//! the rule to apply ("a Conv2D layer has kernel rows × cols × input channels × filters
//! weights, plus one bias per filter"), never the number to type in. It prints its verdict
//! — on stdout when right, on stderr (shown in red) when not — and returns it as a
//! [`Check`]. A checker never panics, whatever it is given.
//!
//! Three kinds of exercise:
//! - *write it*: the learner computes or builds something, the checker compares it;
//! - *predict, then run*: the learner writes down a prediction (an output shape, a count,
//!   whether accuracy rises); the check cell computes the truth and [`prediction`] compares;
//! - *questionnaires*: multiple choice, each option with the reason it is right or wrong.
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
pub mod quiz;

use crate::arrays::{full_shape, keras_shape};
use crate::{Activation, Sequential};
use ndarray::{ArrayBase, Data, Dimension};
use std::fmt;

/// A checker's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// Whether the answer is right.
    pub passed: bool,
    /// What the checker prints: why it is right, or what to fix.
    pub message: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.passed { "✓ Correct:" } else { "✗ Not yet:" };
        write!(f, "{mark} {}", self.message)
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

/// A prediction written down before running a cell, against what the cell computed.
/// Either way the learner sees the truth and why it is so.
pub fn prediction<T: PartialEq + fmt::Debug>(what: &str, yours: T, truth: T, why: &str) -> Check {
    verdict(match yours == truth {
        true => Ok(format!("you predicted {what} = {truth:?}, and so it is: {why}")),
        false => Err(format!(
            "you predicted {what} = {yours:?}; the cell computed {truth:?}. {why}"
        )),
    })
}

/// Compare an array with the expected one: the shape first (it is part of the question),
/// then the values, naming the first wrong position and the learner's value there.
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
    if expected.is_empty() {
        // Computed from the learner's input: an empty or tiny image would make any empty
        // answer "right".
        return Err(format!(
            "there is no {what} to check: the input is empty or smaller than the window — pass the image the exercise gives"
        ));
    }
    if yours.shape() != expected.shape() {
        return Err(format!(
            "your {what} has shape {}; expected {}",
            full_shape(yours.shape()),
            full_shape(expected.shape())
        ));
    }
    let yours = yours.view().into_dyn();
    for (index, want) in expected.view().into_dyn().indexed_iter() {
        let got = yours[&index];
        if !(got - want).abs().le(&tolerance) {
            return Err(format!("{what}{:?} is {got}, which is not right", index.slice()));
        }
    }
    Ok(())
}

/// A number the learner computed. When it is wrong, the message gives the learner's value
/// and the rule (`hint`), not the answer.
pub(crate) fn same_number(what: &str, yours: f64, expected: f64, hint: &str) -> Result<String, String> {
    let shown = format!("{yours:.4}");
    let shown = match shown.contains('.') {
        true => shown.trim_end_matches('0').trim_end_matches('.'),
        false => &shown,
    };
    match (yours - expected).abs() <= 1e-3 * expected.abs().max(1e-3) {
        true => Ok(format!("{what} = {shown}")),
        false => Err(format!("{what} is not {shown}. {hint}")),
    }
}

/// One expected layer: its Keras type, output shape (no batch), parameter count and
/// activation (`""`: any).
pub(crate) type LayerSpec<'a> = (&'a str, &'a [usize], usize, &'a str);

/// How a layer's parameters are counted, for messages.
fn parameter_rule(layer: &crate::ModelLayer) -> String {
    let channels = layer.input_shape().last().copied().unwrap_or(0);
    match layer.type_name() {
        "Conv2D" => format!(
            "a Conv2D layer has kernel rows × cols × input channels × filters weights, plus one bias per filter — its input has {channels} channel(s)"
        ),
        "Dense" => format!(
            "a Dense layer has inputs × units weights, plus one bias per unit — its input has {channels} values"
        ),
        "BatchNormalization" => "batch normalization keeps 4 numbers per channel (gamma, beta, moving mean and variance)".into(),
        _ => "this layer has no parameters".into(),
    }
}

/// Compare a model with the exercise's architecture, layer by layer. A mismatch is
/// explained by the rule behind it (what sets a layer's output size or parameter count),
/// not by the expected numbers.
pub(crate) fn same_model(model: &Sequential, expected: &[LayerSpec]) -> Result<(), String> {
    let layers = model.layers();
    for (i, &(want_type, want_shape, want_params, want_activation)) in expected.iter().enumerate() {
        let Some(layer) = layers.get(i) else {
            return Err(format!(
                "your model has {} layers; the exercise has {} — layer {} should be a {want_type}",
                layers.len(),
                expected.len(),
                i + 1
            ));
        };
        let (n, name, kind) = (i + 1, layer.name(), layer.type_name());
        let shape = layer.output_shape();
        if kind != want_type {
            return Err(format!(
                "layer {n} ({name}) is a {kind}; the exercise's layer {n} is a {want_type}"
            ));
        }
        if shape.last() != want_shape.last() && matches!(kind, "Conv2D" | "Dense") {
            let (what, count) = if kind == "Conv2D" {
                ("filters", "filters")
            } else {
                ("units", "units")
            };
            return Err(format!(
                "layer {n} ({name}) has {} {what}; the exercise asks for {}: the first argument of {kind}::new is its number of {count}",
                shape.last().unwrap_or(&0),
                want_shape.last().unwrap_or(&0)
            ));
        }
        if shape != want_shape {
            return Err(format!(
                "layer {n} ({name}) outputs {}, not the exercise's size: {}",
                keras_shape(shape),
                match kind {
                    "Conv2D" => "check its kernel size, padding ('valid' shrinks by kernel − 1, 'same' keeps the size), strides (divide the size) and the layers before it",
                    "MaxPool2D" | "AvgPool2D" => "check its pool size and the layers before it",
                    _ => "check the layers before it",
                }
            ));
        }
        if layer.count_params() != want_params {
            return Err(format!(
                "layer {n} ({name}) has {} parameters, not the exercise's number: {}",
                layer.count_params(),
                parameter_rule(layer)
            ));
        }
        let activation = layer.activation();
        if !want_activation.is_empty() && activation.to_string() != want_activation {
            return Err(match activation {
                Activation::Linear => {
                    format!("layer {n} ({name}) has no activation: add .activation(\"{want_activation}\")")
                }
                other => format!("layer {n} ({name}) uses {other}; the exercise uses {want_activation}"),
            });
        }
    }
    match layers.len() > expected.len() {
        true => Err(format!(
            "your model has {} layers; the exercise has only {}",
            layers.len(),
            expected.len()
        )),
        false => Ok(()),
    }
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
