//! The errors for data that does not fit the model: wrong shapes, channels, labels.

use super::Sequential;
use crate::arrays::{full_shape, keras_shape};
use crate::losses::Loss;
use crate::{bail, IntoTensor, Result};
use candle_core::{DType, Tensor};

/// Check a batch of inputs `x` (Keras layout) against the model's input shape.
/// `what` names the caller (`fit`, `evaluate`, …).
pub(crate) fn check_inputs(model: &Sequential, x: &Tensor, what: &str) -> Result<()> {
    let Some(first) = model.layer_slice().first() else {
        bail!(
            Usage,
            "{what}: the model has no layers; hint: add some with model.add(...)"
        );
    };
    let expected = first.input_shape();
    let got = x.dims();
    if got.first() == Some(&0) {
        bail!(
            Data,
            "{what}: the dataset is empty (input shape {}); hint: check how the arrays were loaded or sliced",
            full_shape(got)
        );
    }
    if !got.is_empty() && &got[1..] == expected {
        return check_finite(x, what);
    }
    // The most common mistakes get their own hint.
    if got.len() == 4 && expected.len() == 3 && got[1..3] == expected[..2] {
        let (want, have) = (expected[2], got[3]);
        bail!(Shape,
            "{}: expected input with {want} channel{}, got {have} (input shape {}); hint: the model was built with input_shape {}; convert the images ({}) or rebuild the first layer with {have} channel{}",
            first.name(),
            if want == 1 { "" } else { "s" },
            full_shape(got),
            full_shape(expected),
            if want == 1 { "e.g. to greyscale" } else { "e.g. to colour" },
            if have == 1 { "" } else { "s" },
        );
    }
    let hint = if got == expected {
        let one = full_shape(&[&[1], got].concat());
        format!(
            "this is one sample without the sample axis; x.insert_axis(Axis(0)) turns {} into a batch of one, {one}",
            full_shape(got)
        )
    } else if got.len() == 4 && expected.len() == 3 && got[1] == expected[2] && got[2..] == expected[..2] {
        "these images are channels-first (samples, channels, rows, cols), as PyTorch stores them; Keras and this course put channels last: x.permuted_axes([0, 2, 3, 1])".to_string()
    } else if got.len() == 3 && expected.len() == 3 && expected[2] == 1 && got[1..] == expected[..2] {
        "add the channel axis: x.insert_axis(Axis(3)) turns (samples, rows, cols) into (samples, rows, cols, 1)"
            .to_string()
    } else if expected.len() == 1 && got[1..].iter().product::<usize>() == expected[0] {
        format!(
            "flatten each sample first: x.into_shape_with_order(({}, {}))",
            got[0], expected[0]
        )
    } else {
        "give the first layer the shape of one sample, without the sample axis".to_string()
    };
    bail!(
        Shape,
        "{what}: expected input of shape {}, got {}; hint: {hint}",
        keras_shape(expected),
        full_shape(got)
    );
}

/// Refuse NaN and infinite inputs: ReLU would silently turn a NaN into 0.
fn check_finite(x: &Tensor, what: &str) -> Result<()> {
    // One reduction first; the values are only scanned when something is off.
    if x.sum_all()?.to_dtype(DType::F32)?.to_scalar::<f32>()?.is_finite() {
        return Ok(());
    }
    let values = x.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
    let per_sample = values.len() / x.dims()[0].max(1);
    if let Some(position) = values.iter().position(|v| !v.is_finite()) {
        bail!(Data,
            "{what}: the inputs contain {} (first in sample {}); hint: check how the data was loaded and scaled — pixels should be numbers in 0..1",
            values[position],
            position / per_sample.max(1)
        );
    }
    Ok(())
}

/// Samples `x` (Keras layout) and their labels `y` as a caller such as `fit` or
/// `evaluate` receives them, checked: the samples as a tensor, the labels as the rows the
/// loss compares the outputs with (one-hot rows, or 0/1 per unit). `what` names the caller.
pub(crate) fn samples_and_targets(
    model: &Sequential,
    loss: Loss,
    x: &impl IntoTensor,
    y: &impl IntoTensor,
    what: &str,
) -> Result<(Tensor, Tensor)> {
    let x = x.to_tensor_on(&candle_core::Device::Cpu)?;
    check_inputs(model, &x, what)?;
    let y = labels_to_targets(
        model,
        loss,
        x.dims()[0],
        &y.to_tensor_on(&candle_core::Device::Cpu)?,
        what,
    )?;
    Ok((x, y))
}

/// Check labels `y` against `x`'s sample count and the model's outputs, and turn them into
/// the rows the loss compares the outputs with.
pub(crate) fn labels_to_targets(
    model: &Sequential,
    loss: Loss,
    x_samples: usize,
    y: &Tensor,
    what: &str,
) -> Result<Tensor> {
    let outputs = model.output_shape();
    let &[classes] = outputs.as_slice() else {
        bail!(Shape,
            "{what}: the model's output {} is not one score per class; hint: end the model with Flatten() and Dense(classes, \"softmax\")",
            keras_shape(&outputs)
        );
    };
    let samples = y.dims().first().copied().unwrap_or(0);
    if samples != x_samples {
        bail!(Shape,
            "{what}: {x_samples} input samples but {samples} labels (labels shape {}); hint: x and y must have one row per sample, in the same order",
            full_shape(y.dims())
        );
    }
    let values = y.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let per_row = values.len() / samples.max(1);
    if let Some(at) = values.iter().position(|v| !v.is_finite()) {
        bail!(Data,
            "{what}: the labels contain {} (first in row {}); hint: check how the labels were made — the inputs are fine",
            values[at],
            at / per_row.max(1)
        );
    }
    let y = y.to_dtype(DType::F32)?;
    match loss {
        Loss::CategoricalCrossentropy => {
            if y.rank() == 1 || y.dims() == [samples, 1] {
                bail!(Shape,
                    "{what}: categorical_crossentropy needs one-hot labels of shape ({samples}, {classes}), got class numbers of shape {}; hint: one-hot encode them with to_categorical(...), or compile with \"sparse_categorical_crossentropy\"",
                    full_shape(y.dims())
                );
            }
            if y.dims() != [samples, classes] {
                bail!(Shape,
                    "{what}: expected labels of shape ({samples}, {classes}) for the model's {classes} outputs, got {}; hint: the last Dense layer needs one unit per class",
                    full_shape(y.dims())
                );
            }
            if let Some(bad) = values.iter().find(|&&v| v < 0.0) {
                bail!(
                    Data,
                    "{what}: one-hot labels are 0s and 1s, found {bad}; hint: make them with to_categorical(...)"
                );
            }
            // A row of zeros would give a loss of 0 whatever the model says.
            let rows = values
                .chunks(classes.max(1))
                .map(|row| row.iter().map(|&v| v as f64).sum::<f64>());
            if let Some((row, sum)) = rows.enumerate().find(|(_, sum)| (sum - 1.0).abs() > 1e-3) {
                bail!(Data,
                    "{what}: row {row} of the labels adds up to {sum}, not 1: categorical_crossentropy needs one 1 per row (or probabilities that add up to 1); hint: make the labels with to_categorical(...)"
                );
            }
            Ok(y)
        }
        Loss::SparseCategoricalCrossentropy => {
            // Class numbers, as (samples,) or — as Keras also accepts — (samples, 1).
            if !(y.rank() == 1 || y.dims() == [samples, 1]) {
                bail!(Shape,
                    "{what}: sparse_categorical_crossentropy needs class numbers of shape ({samples},), got {}; hint: for one-hot labels compile with \"categorical_crossentropy\"",
                    full_shape(y.dims())
                );
            }
            if let Some(bad) = values
                .iter()
                .find(|&&v| v < 0.0 || v >= classes as f32 || v.fract() != 0.0)
            {
                bail!(Data,
                    "{what}: labels must be class numbers 0..{}, found {bad}; hint: the last Dense layer needs one unit per class",
                    classes - 1
                );
            }
            let mut one_hot = vec![0f32; samples * classes];
            for (row, &class) in values.iter().enumerate() {
                one_hot[row * classes + class as usize] = 1.0;
            }
            Ok(Tensor::from_vec(one_hot, (samples, classes), y.device())?)
        }
        Loss::MeanSquaredError => {
            if !(y.dims() == [samples, classes] || (classes == 1 && y.rank() == 1)) {
                bail!(
                    Shape,
                    "{what}: mean_squared_error needs one target number per output, shape ({samples}, {classes}), got {}; hint: the model's last layer has {classes} output{}",
                    full_shape(y.dims()),
                    if classes == 1 { "" } else { "s" }
                );
            }
            Ok(y.reshape((samples, classes))?)
        }
        Loss::BinaryCrossentropy => {
            let fits = y.dims() == [samples, classes] || (classes == 1 && y.rank() == 1);
            if !fits {
                bail!(Shape,
                    "{what}: binary_crossentropy needs one 0/1 label per output unit, shape ({samples}, {classes}){}, got {}; hint: the model has {classes} sigmoid output{}",
                    if classes == 1 { format!(" or ({samples},)") } else { String::new() },
                    full_shape(y.dims()),
                    if classes == 1 { "" } else { "s" }
                );
            }
            if let Some(bad) = values.iter().find(|&&v| !(0.0..=1.0).contains(&v)) {
                bail!(Data, "{what}: binary labels are 0 or 1 (or a probability in between), found {bad}; hint: for class numbers 0, 1, 2, … use a softmax output and \"sparse_categorical_crossentropy\"");
            }
            Ok(y.reshape((samples, classes))?)
        }
    }
}
