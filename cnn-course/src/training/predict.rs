//! Using a model: `evaluate` (loss and accuracy on labelled data), `predict` (class
//! probabilities), `predict_classes`, and `layer_outputs` (every layer's feature maps).

use super::fit::class_scores;
use crate::arrays::{to_array, to_internal, to_keras};
use crate::cpu::CpuTrainer;
use crate::losses::cross_entropy;
use crate::metrics::count_correct;
use crate::model::input_checks::{check_inputs, samples_and_one_hot_labels};
use crate::{bail, IntoTensor, Result, Sequential};
use candle_core::{Tensor, D};
use ndarray::{Array1, Array2, ArrayD, Ix2};
use std::fmt;

/// Batch size for inference: large batches are faster and give the same results.
const INFERENCE_BATCH: usize = 256;

/// The result of [`Sequential::evaluate`], as Keras' `[loss, accuracy]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
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

impl Sequential {
    /// Loss and accuracy on samples `x` with labels `y`, in inference mode (no dropout,
    /// batch norm uses its moving statistics).
    pub fn evaluate(&self, x: &impl IntoTensor, y: &impl IntoTensor) -> Result<Evaluation> {
        let compiled = self.compiled("evaluate")?;
        let (x, y) = samples_and_one_hot_labels(self, compiled.loss, x, y, "evaluate")?;
        let (loss, accuracy) = self.evaluate_internal(&to_internal(&x)?, &y)?;
        Ok(Evaluation { loss, accuracy })
    }

    /// Mean loss and accuracy of samples already in the internal layout.
    pub(crate) fn evaluate_internal(&self, x: &Tensor, one_hot: &Tensor) -> Result<(f64, f64)> {
        let n = x.dims()[0];
        let cpu = CpuTrainer::plan(self);
        let (mut loss_sum, mut correct) = (0.0, 0);
        for start in (0..n).step_by(INFERENCE_BATCH) {
            let len = INFERENCE_BATCH.min(n - start);
            let (xb, yb) = (x.narrow(0, start, len)?, one_hot.narrow(0, start, len)?);
            let (z, activation) = self.inference_logits(&xb, cpu.as_ref())?;
            loss_sum += cross_entropy(&z, activation, &yb)?.to_scalar::<f32>()? as f64 * len as f64;
            correct += count_correct(&class_scores(&z, activation)?, &yb)?;
        }
        Ok((loss_sum / n as f64, correct as f64 / n as f64))
    }

    /// The model's outputs for samples `x`: with a softmax output, one row of class
    /// probabilities per sample.
    pub fn predict(&self, x: &impl IntoTensor) -> Result<Array2<f32>> {
        let x = x.to_tensor_on(self.device())?;
        check_inputs(self, &x, "predict")?;
        if self.output_shape().len() != 1 {
            bail!(
                "predict: the model's output {} is not one row per sample; hint: use layer_outputs to look at feature maps",
                crate::arrays::keras_shape(&self.output_shape())
            );
        }
        let x = to_internal(&x)?;
        let n = x.dims()[0];
        let cpu = CpuTrainer::plan(self);
        let mut rows = Vec::new();
        for start in (0..n).step_by(INFERENCE_BATCH) {
            let xb = x.narrow(0, start, INFERENCE_BATCH.min(n - start))?;
            let (z, activation) = self.inference_logits(&xb, cpu.as_ref())?;
            rows.push(activation.apply(&z, 1)?);
        }
        let all = Tensor::cat(&rows, 0)?;
        to_array(&all)?
            .into_dimensionality::<Ix2>()
            .map_err(|e| crate::Error::invalid(format!("predict: {e}")))
    }

    /// The predicted class of each sample: the index of its highest output.
    pub fn predict_classes(&self, x: &impl IntoTensor) -> Result<Array1<usize>> {
        let scores = self.predict(x)?;
        let t = scores.to_tensor()?;
        let classes = t.argmax(D::Minus1)?.to_vec1::<u32>()?;
        Ok(classes.into_iter().map(|c| c as usize).collect())
    }

    /// The output of every layer for samples `x`, in Keras layout — e.g. the feature maps
    /// `(samples, rows, cols, filters)` of each Conv2D — first layer first.
    pub fn layer_outputs(&self, x: &impl IntoTensor) -> Result<Vec<ArrayD<f32>>> {
        let x = x.to_tensor_on(self.device())?;
        check_inputs(self, &x, "layer_outputs")?;
        self.forward_all(&to_internal(&x)?)?
            .iter()
            .map(|t| to_array(&to_keras(t)?))
            .collect()
    }
}
