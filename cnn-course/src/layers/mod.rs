//! The building blocks of a model, one file per layer, named as in Keras.
//!
//! Every layer implements [`Layer`]. A layer is created with its settings
//! (`Conv2D::new(32, 3).activation("relu")`), then [`crate::Sequential::add`] *builds* it:
//! the model hands it the shape coming out of the previous layer, the layer checks it,
//! creates its weights and answers with its own output shape. Nobody computes "576" by
//! hand. Shapes exchanged between layers are Keras shapes without the batch axis:
//! `(rows, cols, channels)` for images, `(features,)` for flat vectors.

mod any_layer;
mod avg_pool2d;
mod batch_normalization;
mod bias_op;
mod conv2d;
mod conv_op;
mod dense;
mod dropout;
mod flatten;
mod max_pool2d;
mod max_pool_op;
mod param;
mod spec;
mod windows;

pub use any_layer::AnyLayer;
pub use avg_pool2d::AvgPool2D;
pub use batch_normalization::BatchNormalization;
pub use conv2d::Conv2D;
pub(crate) use conv2d::ConvParts;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use max_pool2d::MaxPool2D;
pub use param::Param;
pub use spec::{InputShape, LayerSpec, Size2, WithInputShape};

use crate::arrays::keras_shape;
use crate::{Activation, Result};
use candle_core::{Device, Tensor, Var};

impl Weight {
    /// A weight list entry for `param`.
    pub fn new(name: &'static str, param: &Param, trainable: bool, keras_axes: Option<[usize; 4]>) -> Self {
        Weight {
            name,
            var: param.var(),
            param: param.clone(),
            trainable,
            keras_axes,
        }
    }
}

/// One array of a layer's weights.
#[derive(Clone, Debug)]
pub struct Weight {
    /// The Keras name: `kernel`, `bias`, `gamma`, `beta`, `moving_mean`, `moving_variance`.
    pub name: &'static str,
    /// The values, in the layer's internal layout (the slot's variable when this list was made).
    pub var: Var,
    /// The shared slot holding the variable.
    pub param: Param,
    /// Whether the optimizer changes it (batch norm's moving statistics are not trained).
    pub trainable: bool,
    /// The axis order that turns the internal layout into Keras' layout, when they differ
    /// (a conv kernel is stored `(filters, in channels, rows, cols)` for candle and shown
    /// `(rows, cols, in channels, filters)` as in Keras).
    pub keras_axes: Option<[usize; 4]>,
}

/// A layer of a [`crate::Sequential`] model.
///
/// Tensors passed to `forward` are batches in the internal layout:
/// `(batch, channels, rows, cols)` for images, `(batch, features)` for flat vectors.
pub trait Layer: Send + Sync {
    /// The Keras class name shown by `summary()`, e.g. `Conv2D`.
    fn type_name(&self) -> &'static str;

    /// The start of automatic layer names, e.g. `conv2d` (then `conv2d_1`, `conv2d_2`, …).
    fn base_name(&self) -> &'static str;

    /// Check the input shape (Keras order, no batch axis), create the weights and return
    /// the output shape. `name` is the layer's name, for error messages.
    fn build(&mut self, name: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>>;

    /// The layer's output before its activation. `train` selects training behaviour
    /// (dropout drops, batch norm uses batch statistics and updates its moving ones).
    fn pre_activation(&self, x: &Tensor, train: bool) -> Result<Tensor>;

    /// The activation applied after [`Layer::pre_activation`]; linear for layers without one.
    fn activation(&self) -> Activation {
        Activation::Linear
    }

    /// The layer's output: the activation of the pre-activation.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.activation().apply(&self.pre_activation(x, train)?, 1)
    }

    /// The layer's weights, in Keras' order (kernel before bias).
    fn weights(&self) -> Vec<Weight> {
        Vec::new()
    }

    /// Settings that do not show in the output shape or the weights, as (name, value)
    /// pairs — e.g. a dropout rate.
    fn config(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// The error for an input of the wrong rank, shared by layers that take images.
pub(crate) fn expect_images(name: &str, kind: &str, input_shape: &[usize]) -> Result<(usize, usize, usize)> {
    match input_shape {
        &[rows, cols, channels] => Ok((rows, cols, channels)),
        _ => crate::bail!(
            "{name}: {kind} expects images of shape (rows, cols, channels), got input shape {}; hint: {}",
            keras_shape(input_shape),
            if input_shape.len() == 1 {
                "a Flatten or Dense layer before it has already turned the images into vectors; put image layers before Flatten"
            } else {
                "give the first layer an input shape like .input_shape((28, 28, 1))"
            }
        ),
    }
}

/// The error for a 0 in a size setting (kernel, pool, strides, dilation).
pub(crate) fn expect_positive(name: &str, setting: &str, value: Size2) -> Result<()> {
    if value.rows == 0 || value.cols == 0 {
        crate::bail!("{name}: {setting} must be at least 1, got {value}; hint: use a positive size such as 2");
    }
    Ok(())
}

/// The message for a layer used before `Sequential::add` built it.
pub(crate) fn not_built(kind: &str) -> crate::Error {
    crate::Error::invalid(format!(
        "{kind}: this layer has not been built; hint: add it to a model with model.add(...) first"
    ))
}

#[cfg(test)]
pub(crate) mod gradient_check;
