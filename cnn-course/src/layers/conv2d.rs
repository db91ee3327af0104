//! `Conv2D`: a bank of small kernels slid over an image.
//!
//! Each of the `filters` kernels has shape `kernel_rows × kernel_cols × in_channels`; at
//! every window position it multiplies the window by its weights, sums, adds a bias and
//! applies the activation. One kernel gives one *feature map*. Weights are shared across
//! positions, so a conv layer has `filters · (kr · kc · in_channels + 1)` parameters
//! however large the image is — a Dense layer would need one weight per pixel.
//!
//! # Shapes
//! - input: `(batch, rows, cols, in_channels)`
//! - output: `(batch, out_rows, out_cols, filters)`, where with `valid` padding
//!   `out = floor((in − covered) / stride) + 1`, `covered = (kernel − 1)·dilation + 1`,
//!   and with `same` padding `out = ceil(in / stride)` (see [`crate::padding`]).
//! - kernel: Keras order `(kernel_rows, kernel_cols, in_channels, filters)`; bias `(filters,)`.
//!
//! ```
//! use cnn_course::prelude::*;
//! let mut model = Sequential::new();
//! // 200×200 greyscale, 16 kernels of 2×2 moving 2 pixels at a time:
//! model.add(Conv2D::new(16, 2).strides(2).input_shape((200, 200, 1))).unwrap();
//! assert_eq!(model.output_shape(), vec![100, 100, 16]);
//! assert_eq!(model.count_params(), 16 * (2 * 2 * 1) + 16); // 80
//! ```

use super::windows::{crop_and_pad, strided_indices};
use super::Param;
use super::{expect_images, expect_positive, not_built, Layer, Size2, Weight};
use crate::activation::ActivationName;
use crate::initializers::{constant, glorot_uniform};
use crate::padding::{AxisWindows, Padding};
use crate::{bail, Activation, Result};
use candle_core::{Device, Tensor};

/// A 2-D convolution layer, as Keras' `Conv2D`.
#[derive(Clone)]
pub struct Conv2D {
    filters: usize,
    kernel_size: Size2,
    strides: Size2,
    padding: String,
    dilation_rate: Size2,
    activation: ActivationName,
    use_bias: bool,
    built: Option<Built>,
}

#[derive(Clone)]
struct Built {
    kernel: Param,
    bias: Option<Param>,
    rows: AxisWindows,
    cols: AxisWindows,
    activation: Activation,
}

impl Conv2D {
    /// `filters` kernels of `kernel_size` (`3` for 3×3, `(3, 2)` for 3 rows × 2 columns);
    /// stride 1, `valid` padding, no dilation, linear activation, with bias.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Conv2D {
            filters,
            kernel_size: kernel_size.into(),
            strides: Size2::from(1),
            padding: "valid".into(),
            dilation_rate: Size2::from(1),
            activation: ActivationName::default(),
            use_bias: true,
            built: None,
        }
    }

    /// How far the kernel moves between positions (default 1).
    pub fn strides(mut self, strides: impl Into<Size2>) -> Self {
        self.strides = strides.into();
        self
    }

    /// `"valid"` (default: no padding) or `"same"` (zero padding, output size `ceil(in/stride)`).
    pub fn padding(mut self, padding: &str) -> Self {
        self.padding = padding.into();
        self
    }

    /// Gaps between kernel pixels: a 3×3 kernel with dilation 2 sees a 5×5 field.
    pub fn dilation_rate(mut self, dilation: impl Into<Size2>) -> Self {
        self.dilation_rate = dilation.into();
        self
    }

    /// `"relu"`, `"softmax"`, `"sigmoid"`, `"tanh"` or `"linear"` (default).
    pub fn activation(mut self, activation: &str) -> Self {
        self.activation = ActivationName(activation.into());
        self
    }

    /// Whether to add a bias per filter (default true).
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    /// Strides, dilation and padding, for the reference implementation in tests.
    #[cfg(test)]
    pub(crate) fn settings(&self) -> (Size2, Size2, Padding) {
        (self.strides, self.dilation_rate, self.padding.parse().unwrap())
    }

    fn built(&self) -> Result<&Built> {
        self.built.as_ref().ok_or_else(|| not_built("Conv2D"))
    }

    /// What the CPU training step (`crate::cpu`) needs; `None` before the layer is built.
    pub(crate) fn parts(&self) -> Option<ConvParts> {
        let built = self.built.as_ref()?;
        Some(ConvParts {
            kernel: built.kernel.clone(),
            bias: built.bias.clone(),
            strides: self.strides,
            dilation: self.dilation_rate.rows,
            rows: built.rows,
            cols: built.cols,
            activation: built.activation,
        })
    }
}

/// A built [`Conv2D`]'s weights and window plan (the kernel is stored `(filters, in
/// channels, rows, cols)`).
pub(crate) struct ConvParts {
    pub kernel: Param,
    pub bias: Option<Param>,
    pub strides: Size2,
    pub dilation: usize,
    pub rows: AxisWindows,
    pub cols: AxisWindows,
    pub activation: Activation,
}

impl Layer for Conv2D {
    fn type_name(&self) -> &'static str {
        "Conv2D"
    }

    fn base_name(&self) -> &'static str {
        "conv2d"
    }

    fn build(&mut self, name: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>> {
        let (in_rows, in_cols, in_channels) = expect_images(name, "Conv2D", input_shape)?;
        if self.filters == 0 {
            bail!("{name}: filters must be at least 1, got 0; hint: Conv2D::new(32, 3) makes 32 filters");
        }
        expect_positive(name, "kernel size", self.kernel_size)?;
        expect_positive(name, "strides", self.strides)?;
        expect_positive(name, "dilation rate", self.dilation_rate)?;
        if self.dilation_rate.rows != self.dilation_rate.cols {
            bail!(
                "{name}: a different dilation per axis ({}) is not supported; hint: use one number, e.g. .dilation_rate(2)",
                self.dilation_rate
            );
        }
        let padding: Padding = self.padding.parse().map_err(|e: crate::Error| e.context(name))?;
        let activation = self.activation.parse(name)?;
        let (k, s, d) = (self.kernel_size, self.strides, self.dilation_rate);
        let rows = AxisWindows::plan(in_rows, k.rows, s.rows, d.rows, padding);
        let cols = AxisWindows::plan(in_cols, k.cols, s.cols, d.cols, padding);
        let (Some(rows), Some(cols)) = (rows, cols) else {
            let covered = Size2 {
                rows: (k.rows - 1) * d.rows + 1,
                cols: (k.cols - 1) * d.cols + 1,
            };
            bail!(
                "{name}: kernel {k} (covering {covered} with dilation {}) is larger than its input {in_rows}×{in_cols} with padding 'valid'; hint: use .padding(\"same\"), a smaller kernel, or fewer pooling layers before this one",
                d.rows
            );
        };
        let fan_in = in_channels * k.rows * k.cols;
        let fan_out = self.filters * k.rows * k.cols;
        let kernel = Param::new(glorot_uniform(
            &[self.filters, in_channels, k.rows, k.cols],
            fan_in,
            fan_out,
            device,
        )?);
        let bias = match self.use_bias {
            true => Some(Param::new(constant(&[self.filters], 0.0, device)?)),
            false => None,
        };
        self.built = Some(Built {
            kernel,
            bias,
            rows,
            cols,
            activation,
        });
        Ok(vec![rows.output, cols.output, self.filters])
    }

    fn pre_activation(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let built = self.built()?;
        // Pad (or drop the unused trailing pixels) explicitly, so candle's convolution
        // always sees an input its windows cover exactly; this also gives Keras'
        // asymmetric 'same' padding for even kernels and strides.
        let x = crop_and_pad(x, 2, &built.rows, 0.0)?;
        let x = crop_and_pad(&x, 3, &built.cols, 0.0)?.contiguous()?;
        let dilation = self.dilation_rate.rows;
        let kernel = built.kernel.tensor();
        let fast = x.device().is_cpu() && x.dtype() == candle_core::DType::F32;
        let y = if fast && self.strides == Size2::from(1) && dilation == 1 {
            super::conv_op::conv2d_stride1(&x, &kernel)?
        } else if self.strides.rows == self.strides.cols {
            x.conv2d(&kernel, 0, self.strides.rows, dilation, 1)?
        } else {
            // candle has one stride for both axes: convolve at every position, keep the
            // rows and columns the strides land on.
            let all = x.conv2d(&kernel, 0, 1, dilation, 1)?;
            let rows = strided_indices(0, self.strides.rows, built.rows.output, &all)?;
            let cols = strided_indices(0, self.strides.cols, built.cols.output, &all)?;
            all.index_select(&rows, 2)?.index_select(&cols, 3)?
        };
        match &built.bias {
            Some(bias) if fast => super::bias_op::add_channel_bias(&y, &bias.tensor()),
            Some(bias) => Ok(y.broadcast_add(&bias.tensor().reshape((1, self.filters, 1, 1))?)?),
            None => Ok(y),
        }
    }

    fn activation(&self) -> Activation {
        self.built.as_ref().map(|b| b.activation).unwrap_or_default()
    }

    fn weights(&self) -> Vec<Weight> {
        let Some(built) = &self.built else {
            return Vec::new();
        };
        // The kernel is stored (filters, in, rows, cols) and shown (rows, cols, in, filters).
        let mut weights = vec![Weight::new("kernel", &built.kernel, true, Some([2, 3, 1, 0]))];
        if let Some(bias) = &built.bias {
            weights.push(Weight::new("bias", bias, true, None));
        }
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer_gradients, reference_conv2d};

    fn built(layer: Conv2D, input: &[usize]) -> (Conv2D, Vec<usize>) {
        let _guard = crate::testing::seed_lock();
        crate::set_seed(3);
        let mut layer = layer;
        let out = layer.build("conv2d", input, &Device::Cpu).unwrap();
        (layer, out)
    }

    #[test]
    fn output_matches_a_plain_loop_for_every_setting() {
        let cases = [
            (Conv2D::new(2, 3), vec![7, 6, 2]),
            (Conv2D::new(2, 2).padding("same"), vec![5, 6, 1]),
            (Conv2D::new(3, 3).strides(2).padding("same"), vec![7, 8, 2]),
            (Conv2D::new(2, (3, 2)).strides((2, 1)), vec![9, 6, 1]),
            (Conv2D::new(2, 3).dilation_rate(2), vec![8, 7, 2]),
            (Conv2D::new(1, 2).strides(3).use_bias(false), vec![11, 11, 1]),
        ];
        for (layer, input) in cases {
            let (layer, out_shape) = built(layer, &input);
            let x = crate::testing::random_batch(2, &input);
            let got = layer.pre_activation(&x, false).unwrap();
            let want = reference_conv2d(&layer, &x);
            assert_eq!(got.dims()[1..], [out_shape[2], out_shape[0], out_shape[1]]);
            crate::testing::assert_close(&got, &want, 1e-5);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let cases = [
            (
                Conv2D::new(2, 3).strides(2).padding("same").activation("tanh"),
                vec![7, 6, 2],
            ),
            (Conv2D::new(2, 2).padding("same").activation("sigmoid"), vec![5, 5, 1]),
            (Conv2D::new(2, 3).dilation_rate(2).activation("tanh"), vec![7, 8, 2]),
            (Conv2D::new(2, (2, 3)).strides((1, 2)).activation("tanh"), vec![6, 7, 1]),
        ];
        for (layer, input) in cases {
            let (layer, _) = built(layer, &input);
            check_layer_gradients(&layer, &input);
        }
    }

    #[test]
    fn the_parameter_count_follows_the_formula() {
        // K·F·F·D_in + K with K = 10 filters, F = 3, D_in = 1: 90 kernel weights + 10 biases.
        let (layer, out) = built(Conv2D::new(10, 3), &[28, 28, 1]);
        assert_eq!(out, vec![26, 26, 10]);
        let count: usize = layer.weights().iter().map(|w| w.var.elem_count()).sum();
        assert_eq!(count, 100);
    }

    #[test]
    fn bad_settings_name_the_layer_and_the_fix() {
        let err = |layer: Conv2D, input: &[usize]| {
            let mut layer = layer;
            layer.build("conv2d_1", input, &Device::Cpu).err().unwrap().to_string()
        };
        assert_eq!(
            err(Conv2D::new(4, 5), &[3, 3, 1]),
            "conv2d_1: kernel 5×5 (covering 5×5 with dilation 1) is larger than its input 3×3 with padding 'valid'; hint: use .padding(\"same\"), a smaller kernel, or fewer pooling layers before this one"
        );
        assert_eq!(
            err(Conv2D::new(4, 3).strides(0), &[28, 28, 1]),
            "conv2d_1: strides must be at least 1, got 0×0; hint: use a positive size such as 2"
        );
        assert_eq!(
            err(Conv2D::new(4, 3), &[784]),
            "conv2d_1: Conv2D expects images of shape (rows, cols, channels), got input shape (None, 784); hint: a Flatten or Dense layer before it has already turned the images into vectors; put image layers before Flatten"
        );
        assert_eq!(
            err(Conv2D::new(4, 3).padding("full"), &[28, 28, 1]),
            "conv2d_1: unknown padding 'full'; hint: use \"valid\" (no padding) or \"same\""
        );
        assert_eq!(
            err(Conv2D::new(0, 3), &[28, 28, 1]),
            "conv2d_1: filters must be at least 1, got 0; hint: Conv2D::new(32, 3) makes 32 filters"
        );
    }
}
