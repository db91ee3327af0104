//! The building blocks of a model, one file per layer, named as in Keras.
//!
//! Each file holds everything about its layer: the settings a learner chooses, the shape
//! inference that runs when the layer is added to a model (`build`: the model hands it the
//! shape coming out of the previous layer, the layer checks it, creates its weights and
//! answers with its own output shape — nobody computes "576" by hand), and the maths of
//! its forward and backward passes, written with the array operations of
//! the backend (`src/backend/`). Its tests sit at the bottom: the forward pass against a plain loop,
//! the backward pass against finite differences and against candle's automatic
//! differentiation of the same function.
//!
//! Shapes exchanged between layers are Keras shapes without the batch axis:
//! `(rows, cols, channels)` for images, `(features,)` for flat vectors. Data is
//! channels-last throughout, as in Keras.
//!
//! ## Backpropagation in one paragraph
//! Training needs, for every weight, how much the loss changes when the weight changes:
//! its gradient. The chain rule gives it layer by layer, from the last to the first: a
//! layer that computes `y = f(x, w)` receives `dy` (the gradient of the loss at its
//! output) and returns `dx = dy · ∂f/∂x` for the layer before it, and `dw = dy · ∂f/∂w`
//! for the optimizer. Each layer's `backward` below is exactly that.

mod avg_pool2d;
mod batch_normalization;
mod conv2d;
mod dense;
mod dropout;
mod flatten;
mod max_pool2d;
mod param;
mod spec;

pub use avg_pool2d::AvgPool2D;
pub use batch_normalization::BatchNormalization;
pub use conv2d::Conv2D;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use max_pool2d::MaxPool2D;
pub use param::Param;
pub use spec::{InputShape, LayerSpec, Size2, WithInputShape};

use crate::arrays::keras_shape;
use crate::backend::Backend;
use crate::{Activation, Result};
use candle_core::Device;

/// One array of a layer's weights.
#[derive(Clone, Debug)]
pub struct Weight {
    /// The Keras name: `kernel`, `bias`, `gamma`, `beta`, `moving_mean`, `moving_variance`.
    pub name: &'static str,
    /// The values, Keras order (a conv kernel is `(rows, cols, in channels, filters)`).
    pub param: Param,
    /// Whether the optimizer changes it (batch norm's moving statistics are not trained).
    pub trainable: bool,
}

impl Weight {
    pub(crate) fn new(name: &'static str, param: &Param, trainable: bool) -> Self {
        Weight {
            name,
            param: param.clone(),
            trainable,
        }
    }

    /// The trainable weights of a Conv2D or Dense layer: its kernel, and its bias if it has one.
    pub(crate) fn kernel_and_bias(kernel: &Param, bias: Option<&Param>) -> Vec<Self> {
        let mut weights = vec![Weight::new("kernel", kernel, true)];
        weights.extend(bias.map(|bias| Weight::new("bias", bias, true)));
        weights
    }
}

/// What a layer's forward or backward pass receives besides its input.
pub(crate) struct Pass<'a, B: Backend> {
    pub backend: &'a B,
    /// Samples in this piece of the batch.
    pub n: usize,
    /// Training (dropout drops, batch norm uses the batch's statistics) or inference.
    pub train: bool,
    /// The layer's weights for this step, in the order of [`Layer::weights`].
    pub weights: &'a [B::Buf],
    /// This piece's share of what the layer drew for the step ([`Layer::draw`]).
    pub drawn: Option<&'a [f32]>,
    /// Sums over the whole batch for the forward pass, when the layer asked for them
    /// ([`Layer::batch_sums`]); the backward pass sees them too.
    pub sums: Option<&'a [f64]>,
    /// Sums over the whole batch for the backward pass.
    pub grad_sums: Option<&'a [f64]>,
    /// This piece's own share of `grad_sums`.
    pub grad_share: Option<&'a [f64]>,
    /// Leave the activation out: the last layer hands its scores to the loss, which
    /// combines softmax (or sigmoid) and the log in one numerically stable step.
    pub scores_only: bool,
}

impl<B: Backend> Pass<'_, B> {
    /// The activation this pass applies.
    pub fn activation(&self, activation: Activation) -> Activation {
        if self.scores_only {
            Activation::Linear
        } else {
            activation
        }
    }
}

/// What a forward pass keeps for the backward pass.
pub(crate) enum Kept<B: Backend> {
    Nothing,
    /// Values, e.g. a convolution's windows.
    Values(B::Buf),
    /// Max pooling's winners.
    Winners(B::Index),
}

/// Which gradients a backward pass must produce.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Needs {
    /// The gradient at the input: some earlier layer is trained.
    pub input: bool,
    /// The gradients of the weights: this layer is trained.
    pub weights: bool,
}

/// What a backward pass produces.
pub(crate) struct Gradients<B: Backend> {
    /// The gradient of the loss at the layer's input (when [`Needs::input`]).
    pub input: Option<B::Buf>,
    /// The gradients of the trainable weights, in the order of [`Layer::weights`] (when
    /// [`Needs::weights`]).
    pub weights: Vec<B::Buf>,
}

impl<B: Backend> Gradients<B> {
    pub fn input_only(input: Option<B::Buf>) -> Self {
        Gradients {
            input,
            weights: Vec::new(),
        }
    }
}

/// Which feature maps a layer's backward pass reads ([`Layer::backward_reads`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reads {
    pub input: bool,
    pub output: bool,
}

/// A feature map the backward pass reads: kept by the trainer where the layer's
/// [`Layer::backward_reads`] says so.
pub(crate) fn kept_map<'a, T>(map: Option<&'a T>, layer: &str, which: &str) -> Result<&'a T> {
    map.ok_or_else(|| {
        crate::Error::new(
            crate::error::Kind::Internal,
            format!("{layer}: the backward pass needs the layer's {which}, which was not kept"),
        )
    })
}

/// The gradient at an activation's input from `dy` at its output `y`: `dy` itself for a
/// linear activation, whose output need not be kept.
pub(crate) fn activation_backward<B: Backend>(
    pass: &Pass<B>,
    layer: &str,
    (dy, y): (B::Buf, Option<&B::Buf>),
    width: usize,
    activation: Activation,
) -> Result<B::Buf> {
    match pass.activation(activation) {
        Activation::Linear => Ok(dy),
        activation => {
            let y = kept_map(y, layer, "output")?;
            pass.backend.activation_backward(dy, y, width, activation)
        }
    }
}

/// The batch sums a layer asks for (batch normalization).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SumsFor {
    Forward,
    Backward,
}

/// What every layer implements. `forward` and `backward` are the layer's maths.
pub(crate) trait Layer {
    /// The Keras class name shown by `summary()`, e.g. `Conv2D`.
    fn type_name(&self) -> &'static str;

    /// The start of automatic layer names, e.g. `conv2d` (then `conv2d_1`, …).
    fn base_name(&self) -> &'static str;

    /// Check the input shape (Keras order, no batch axis), create the weights and return
    /// the output shape. `name` is the layer's name, for error messages.
    fn build(&mut self, name: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>>;

    /// The layer's weights, in Keras' order (kernel before bias).
    fn weights(&self) -> Vec<Weight> {
        Vec::new()
    }

    /// Settings that do not show in the output shape or the weights, as (name, value).
    fn config(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The activation applied to the layer's output (linear for layers without one).
    fn activation(&self) -> Activation {
        Activation::Linear
    }

    /// Multiply-adds of one sample's forward pass (for choosing how to run a batch).
    fn work_per_sample(&self) -> usize {
        0
    }

    /// The output for `pass.n` samples `x`, and what the backward pass needs.
    fn forward<B: Backend>(&self, pass: &Pass<B>, x: &B::Buf) -> Result<(B::Buf, Kept<B>)>;

    /// Which of its input `x` and output `y` the backward pass reads. The trainer keeps
    /// only those until the backward pass, and frees the others as soon as the next layer
    /// has run. By default the output, for an activation's gradient.
    fn backward_reads(&self) -> Reads {
        Reads {
            input: false,
            output: self.activation() != Activation::Linear,
        }
    }

    /// From `dy`, the gradient of the loss at this layer's output `y` (for input `x`), the
    /// gradients at its input and weights. `io` holds `x` and `y` where
    /// [`Layer::backward_reads`] asks for them.
    fn backward<B: Backend>(
        &self,
        pass: &Pass<B>,
        io: (Option<&B::Buf>, Option<&B::Buf>),
        kept: Kept<B>,
        dy: B::Buf,
        needs: Needs,
    ) -> Result<Gradients<B>>;

    /// Random values for a training step of `batch` samples (dropout's masks), drawn from
    /// the model's generator in sample order; each piece of the batch gets its share.
    fn draw(&self, _batch: usize) -> Option<Vec<f32>> {
        None
    }

    /// Whether this layer needs sums over the whole batch before its `forward` or
    /// `backward` (batch normalization in training).
    fn needs_sums(&self, _when: SumsFor, _train: bool) -> bool {
        false
    }

    /// This piece's share of those sums; the trainer adds the pieces' shares in order and
    /// passes the totals as [`Pass::sums`] or [`Pass::grad_sums`]. For `Backward`, `dy` is
    /// the gradient at the layer's output.
    fn batch_sums<B: Backend>(
        &self,
        _when: SumsFor,
        _pass: &Pass<B>,
        _x: &B::Buf,
        _dy: Option<&B::Buf>,
    ) -> Result<Vec<f64>> {
        Ok(Vec::new())
    }

    /// After a training step was applied, with the forward sums of the whole batch
    /// (batch norm updates its moving statistics).
    fn finish_step(&self, _forward_sums: &[f64]) -> Result<()> {
        Ok(())
    }

    /// Whether the layer runs in inference mode while frozen, even during `fit` (batch
    /// norm, as in Keras: a frozen base keeps its moving statistics).
    fn inference_when_frozen(&self) -> bool {
        false
    }
}

/// Any built-in layer, as one concrete type.
///
/// A model stores its layers in this enum rather than as trait objects because of evcxr:
/// each notebook cell is compiled into its own library, with its own copy of this crate
/// (and of its statics, such as the random generator of the model being trained). With an
/// enum, the code of the cell that calls `fit` runs every layer.
#[derive(Clone)]
pub enum AnyLayer {
    /// A [`Conv2D`] layer.
    Conv2D(Conv2D),
    /// A [`MaxPool2D`] layer.
    MaxPool2D(MaxPool2D),
    /// An [`AvgPool2D`] layer.
    AvgPool2D(AvgPool2D),
    /// A [`Flatten`] layer.
    Flatten(Flatten),
    /// A [`Dense`] layer.
    Dense(Dense),
    /// A [`Dropout`] layer.
    Dropout(Dropout),
    /// A [`BatchNormalization`] layer.
    BatchNormalization(BatchNormalization),
}

/// `$body` with `$layer` bound to the layer inside an [`AnyLayer`].
macro_rules! each_layer {
    ($any:expr, $layer:ident => $body:expr) => {
        match $any {
            AnyLayer::Conv2D($layer) => $body,
            AnyLayer::MaxPool2D($layer) => $body,
            AnyLayer::AvgPool2D($layer) => $body,
            AnyLayer::Flatten($layer) => $body,
            AnyLayer::Dense($layer) => $body,
            AnyLayer::Dropout($layer) => $body,
            AnyLayer::BatchNormalization($layer) => $body,
        }
    };
}

impl Layer for AnyLayer {
    fn type_name(&self) -> &'static str {
        each_layer!(self, l => l.type_name())
    }
    fn base_name(&self) -> &'static str {
        each_layer!(self, l => l.base_name())
    }
    fn build(&mut self, name: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>> {
        each_layer!(self, l => l.build(name, input_shape, device))
    }
    fn weights(&self) -> Vec<Weight> {
        each_layer!(self, l => l.weights())
    }
    fn config(&self) -> Vec<(&'static str, String)> {
        each_layer!(self, l => l.config())
    }
    fn activation(&self) -> Activation {
        each_layer!(self, l => l.activation())
    }
    fn work_per_sample(&self) -> usize {
        each_layer!(self, l => l.work_per_sample())
    }
    fn backward_reads(&self) -> Reads {
        each_layer!(self, l => l.backward_reads())
    }
    fn forward<B: Backend>(&self, pass: &Pass<B>, x: &B::Buf) -> Result<(B::Buf, Kept<B>)> {
        each_layer!(self, l => l.forward(pass, x))
    }
    fn backward<B: Backend>(
        &self,
        pass: &Pass<B>,
        io: (Option<&B::Buf>, Option<&B::Buf>),
        kept: Kept<B>,
        dy: B::Buf,
        needs: Needs,
    ) -> Result<Gradients<B>> {
        each_layer!(self, l => l.backward(pass, io, kept, dy, needs))
    }
    fn draw(&self, batch: usize) -> Option<Vec<f32>> {
        each_layer!(self, l => l.draw(batch))
    }
    fn needs_sums(&self, when: SumsFor, train: bool) -> bool {
        each_layer!(self, l => l.needs_sums(when, train))
    }
    fn batch_sums<B: Backend>(
        &self,
        when: SumsFor,
        pass: &Pass<B>,
        x: &B::Buf,
        dy: Option<&B::Buf>,
    ) -> Result<Vec<f64>> {
        each_layer!(self, l => l.batch_sums(when, pass, x, dy))
    }
    fn finish_step(&self, forward_sums: &[f64]) -> Result<()> {
        each_layer!(self, l => l.finish_step(forward_sums))
    }
    fn inference_when_frozen(&self) -> bool {
        each_layer!(self, l => l.inference_when_frozen())
    }
}

macro_rules! any_layer_from {
    ($($kind:ident),*) => {$(
        impl From<$kind> for AnyLayer {
            fn from(layer: $kind) -> Self {
                AnyLayer::$kind(layer)
            }
        }
    )*};
}
any_layer_from!(
    Conv2D,
    MaxPool2D,
    AvgPool2D,
    Flatten,
    Dense,
    Dropout,
    BatchNormalization
);

/// The error for an input of the wrong rank, shared by layers that take images.
pub(crate) fn expect_images(name: &str, kind: &str, input_shape: &[usize]) -> Result<(usize, usize, usize)> {
    match input_shape {
        &[rows, cols, channels] => Ok((rows, cols, channels)),
        _ => crate::bail!(
            Shape,
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
        crate::bail!(
            Setting,
            "{name}: {setting} must be at least 1, got {value}; hint: use a positive size such as 2"
        );
    }
    Ok(())
}

/// The message for a layer used before `Sequential::add` built it.
pub(crate) fn not_built(kind: &str) -> crate::Error {
    crate::Error::new(
        crate::error::Kind::Usage,
        format!("{kind}: this layer has not been built; hint: add it to a model with model.add(...) first"),
    )
}

#[cfg(test)]
pub(crate) mod gradient_check;
