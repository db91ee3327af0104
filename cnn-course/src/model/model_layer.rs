//! One layer of a built model: its name, shapes, and weights as ndarray arrays.

use crate::arrays::{full_shape, to_array};
use crate::layers::{AnyLayer, Layer, Weight};
use crate::{bail, IntoTensor, Result};
use ndarray::ArrayD;

/// A layer as it sits in a model (Keras' `model.layers[i]`).
///
/// ```
/// use cnn_course::prelude::*;
/// let mut model = Sequential::new();
/// model.add(Conv2D::new(5, 3).input_shape((28, 28, 1))).unwrap();
/// let weights = model.layers()[0].get_weights().unwrap();
/// assert_eq!(weights[0].shape(), &[3, 3, 1, 5]); // kernels: rows, cols, in channels, filters
/// assert_eq!(weights[1].shape(), &[5]);          // biases
/// ```
#[derive(Clone)]
pub struct ModelLayer {
    pub(crate) name: String,
    pub(crate) layer: AnyLayer,
    pub(crate) input_shape: Vec<usize>,
    pub(crate) output_shape: Vec<usize>,
    pub(crate) trainable: bool,
}

impl ModelLayer {
    /// The layer's name, e.g. `conv2d_1`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Keras class name, e.g. `Conv2D`.
    pub fn type_name(&self) -> &'static str {
        self.layer.type_name()
    }

    /// Shape of one input sample (no batch axis), Keras order.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Shape of one output sample (no batch axis), Keras order.
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    /// Whether the optimizer updates this layer's weights (see `Sequential::set_trainable`).
    pub fn trainable(&self) -> bool {
        self.trainable
    }

    /// The activation applied to the layer's output (`linear` for none).
    pub fn activation(&self) -> crate::Activation {
        self.layer.activation()
    }

    /// Settings such as a dropout rate, as (name, value) pairs.
    pub fn config(&self) -> Vec<(&'static str, String)> {
        self.layer.config()
    }

    /// Number of weights, trainable or not.
    pub fn count_params(&self) -> usize {
        self.layer.weights().iter().map(|w| w.param.elem_count()).sum()
    }

    pub(crate) fn weights(&self) -> Vec<Weight> {
        self.layer.weights()
    }

    /// The weights as arrays in Keras order: for Conv2D `[kernel (rows, cols, in, filters),
    /// bias (filters,)]`, for Dense `[kernel (in, out), bias (out,)]`, for
    /// BatchNormalization `[gamma, beta, moving_mean, moving_variance]`.
    pub fn get_weights(&self) -> Result<Vec<ArrayD<f32>>> {
        self.weights().iter().map(|w| to_array(&w.param.get())).collect()
    }

    /// Replace the weights with arrays of the shapes [`ModelLayer::get_weights`] returns.
    /// Nothing changes unless every array fits.
    pub fn set_weights(&self, arrays: &[ArrayD<f32>]) -> Result<()> {
        let weights = self.weights();
        if arrays.len() != weights.len() {
            bail!(
                Shape,
                "{}: set_weights expected {} arrays ({}), got {}; hint: start from layer.get_weights()",
                self.name,
                weights.len(),
                weights.iter().map(|w| w.name).collect::<Vec<_>>().join(", "),
                arrays.len()
            );
        }
        let mut tensors = Vec::with_capacity(arrays.len());
        for (w, a) in weights.iter().zip(arrays) {
            let want = w.param.dims();
            if a.shape() != want.as_slice() {
                bail!(Shape,
                    "{}: {} should have shape {}, got {}; hint: start from layer.get_weights() and change values, not shapes",
                    self.name,
                    w.name,
                    full_shape(&want),
                    full_shape(a.shape())
                );
            }
            if a.iter().any(|v| !v.is_finite()) {
                bail!(Data,
                    "{}: {} contains NaN or infinite values; hint: weights must be numbers — check how the array was computed",
                    self.name,
                    w.name
                );
            }
            tensors.push(a.to_tensor_on(w.param.get().device())?);
        }
        for (w, t) in weights.iter().zip(tensors) {
            w.param.set(t);
        }
        Ok(())
    }
}
