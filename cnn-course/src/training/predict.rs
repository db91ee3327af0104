//! Using a model: `evaluate` (loss and accuracy on labelled data), `predict` (class
//! probabilities), `predict_classes`, and `layer_outputs` (every layer's feature maps).

use super::engine::{with_engine, Engine};
use super::fit::{evaluate_on, INFERENCE_BATCH};
use crate::arrays::keras_shape;
use crate::backend::Backend;
use crate::losses::{argmax, Head};
use crate::model::input_checks::{check_inputs, samples_and_targets};
use crate::{bail, Activation, Error, IntoTensor, Result, Sequential};
use candle_core::Tensor;
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use std::fmt;

/// The result of [`Sequential::evaluate`], as Keras' `[loss, accuracy]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss over the samples.
    pub loss: f64,
    /// The fraction of samples classified right.
    pub accuracy: f64,
}

impl Evaluation {
    /// `[loss, accuracy]`, the list Keras returns.
    pub fn to_vec(&self) -> Vec<f64> {
        vec![self.loss, self.accuracy]
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loss: {:.4} - accuracy: {:.4}", self.loss, self.accuracy)
    }
}

/// What to compute for a batch of samples, in inference mode.
enum Want {
    /// The last layer's output, activation applied.
    Outputs,
    /// Every layer's output.
    EveryLayer,
}

impl Sequential {
    /// Loss and accuracy on samples `x` with labels `y`, in inference mode (no dropout,
    /// batch norm uses its moving statistics). A loss that is not a number (an overflow:
    /// huge inputs or weights) is an error that names the largest input and weight.
    pub fn evaluate(&self, x: &impl IntoTensor, y: &impl IntoTensor) -> Result<Evaluation> {
        let compiled = self.compiled("evaluate")?;
        let head = self.head(compiled.loss)?;
        let (x, y) = samples_and_targets(self, compiled.loss, x, y, "evaluate")?;
        let n = x.dims()[0];
        let targets = y.flatten_all()?.to_vec1::<f32>()?;
        let width = x.elem_count() / n;
        let (loss, accuracy) = with_engine!(self, |engine| evaluate_on(
            &engine,
            (&engine.backend().load(&x)?, width),
            &targets,
            n,
            head
        ))?;
        if !loss.is_finite() {
            return Err(self.overflowed("evaluate", &format!("the loss is {loss}"), &x));
        }
        Ok(Evaluation { loss, accuracy })
    }

    /// The error for outputs that came out NaN or infinite, which no finite input and
    /// weights can give unless the arithmetic overflowed: it names the largest input and
    /// the largest weight, and the hint blames whichever is huge (1e4 and more).
    fn overflowed(&self, what: &str, found: &str, x: &Tensor) -> Error {
        let largest = |t: &Tensor| -> f32 {
            t.abs()
                .and_then(|a| a.flatten_all()?.max(0))
                .and_then(|m| m.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>())
                .unwrap_or(f32::NAN)
        };
        let input = largest(x);
        let (name, weight) = self
            .named_weights()
            .into_iter()
            .map(|(name, w)| (name, largest(&w.param.get())))
            .fold(
                (String::new(), 0f32),
                |best, next| if next.1 > best.1 { next } else { best },
            );
        let hint = match (input >= 1e4, weight >= 1e4) {
            (true, false) => "scale the inputs to 0..1 (pixels: divide by 255)",
            (false, true) => {
                "training diverged and left huge weights: build the model again and train it with a smaller learning rate (e.g. 10× smaller)"
            }
            _ => "scale the inputs to 0..1 (pixels: divide by 255); if the weights are huge, build the model again and train it with a smaller learning rate",
        };
        let readable = |v: f32| match (1e-3..1e4).contains(&v) {
            true => format!("{v:.3}"),
            false => format!("{v:.2e}"),
        };
        let weight = match name.is_empty() {
            true => "the model has no weights".to_string(),
            false => format!("the largest weight {}, in {name}", readable(weight)),
        };
        Error::new(
            crate::error::Kind::Data,
            format!(
                "{what}: {found}, because the arithmetic overflowed (the largest input is {}, {weight}); hint: {hint}",
                readable(input)
            ),
        )
    }

    /// Run samples `x` through the model in inference mode: per wanted output, its values
    /// for every sample.
    fn run_inference(&self, x: &Tensor, want: Want) -> Result<Vec<Vec<f32>>> {
        with_engine!(self, |engine| inference(&engine, x, want))
    }

    /// The model's outputs for samples `x`: with a softmax output, one row of class
    /// probabilities per sample; with a sigmoid output, the probability of a yes. Outputs
    /// that are not numbers are an error, as in [`Sequential::evaluate`].
    pub fn predict(&self, x: &impl IntoTensor) -> Result<Array2<f32>> {
        let x = x.to_tensor_on(&candle_core::Device::Cpu)?;
        check_inputs(self, &x, "predict")?;
        let outputs = self.output_shape();
        if outputs.len() != 1 {
            bail!(Shape,
                "predict: the model's output {} is not one row per sample; hint: use layer_outputs to look at feature maps",
                keras_shape(&outputs)
            );
        }
        let values = self.run_inference(&x, Want::Outputs)?.remove(0);
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            let found = format!(
                "the outputs hold {} (first in sample {})",
                values[at],
                at / outputs[0].max(1)
            );
            return Err(self.overflowed("predict", &found, &x));
        }
        Array2::from_shape_vec((x.dims()[0], outputs[0]), values)
            .map_err(|e| Error::new(crate::error::Kind::Internal, format!("predict: {e}")))
    }

    /// The predicted class of each sample: the index of its highest output — or, for a
    /// single sigmoid output, 1 where the probability is above 0.5.
    pub fn predict_classes(&self, x: &impl IntoTensor) -> Result<Array1<usize>> {
        let scores = self.predict(x)?;
        let single_sigmoid = scores.ncols() == 1
            && self.layer_slice().last().is_some_and(|l| {
                use crate::layers::Layer;
                l.layer.activation() == Activation::Sigmoid
            });
        Ok(scores
            .rows()
            .into_iter()
            .map(|row| match single_sigmoid {
                true => usize::from(row[0] > 0.5),
                false => argmax(row.as_slice().unwrap_or(&row.to_vec())),
            })
            .collect())
    }

    /// The output of every layer for samples `x`, in Keras layout — e.g. the feature maps
    /// `(samples, rows, cols, filters)` of each Conv2D — first layer first.
    pub fn layer_outputs(&self, x: &impl IntoTensor) -> Result<Vec<ArrayD<f32>>> {
        let x = x.to_tensor_on(&candle_core::Device::Cpu)?;
        check_inputs(self, &x, "layer_outputs")?;
        let n = x.dims()[0];
        let outputs = self.run_inference(&x, Want::EveryLayer)?;
        self.layer_slice()
            .iter()
            .zip(outputs)
            .map(|(layer, values)| {
                let mut shape = vec![n];
                shape.extend(&layer.output_shape);
                ArrayD::from_shape_vec(IxDyn(&shape), values)
                    .map_err(|e| Error::new(crate::error::Kind::Internal, format!("layer_outputs: {e}")))
            })
            .collect()
    }
}

/// Inference on every sample of `x`, in batches of [`INFERENCE_BATCH`].
fn inference<B: Backend>(engine: &Engine<B>, x: &Tensor, want: Want) -> Result<Vec<Vec<f32>>>
where
    B::Buf: Send,
{
    let n = x.dims()[0];
    let width = x.elem_count() / n.max(1);
    let data = engine.backend().load(x)?;
    let ids: Vec<usize> = (0..n).collect();
    let every_layer = matches!(want, Want::EveryLayer);
    // Every layer's outputs are kept for all samples; otherwise a batch's at a time.
    let (what, at_once) = match every_layer {
        true => ("layer_outputs", n),
        false => ("predict", n.min(INFERENCE_BATCH)),
    };
    engine.check_memory(what, at_once, false)?;
    let mut all: Vec<Vec<f32>> = Vec::new();
    for chunk in ids.chunks(INFERENCE_BATCH) {
        let outputs = engine.infer((&data, width), chunk, None::<Head>, every_layer)?;
        if all.is_empty() {
            all = outputs;
        } else {
            all.iter_mut().zip(outputs).for_each(|(a, o)| a.extend(o));
        }
    }
    Ok(all)
}
