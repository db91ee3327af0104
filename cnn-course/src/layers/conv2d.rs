//! `Conv2D`: a bank of small kernels slid over an image.
//!
//! Each of the `filters` kernels has shape `kernel_rows × kernel_cols × in_channels`; at
//! every window position it multiplies the window by its weights, sums, adds a bias and
//! applies the activation. One kernel gives one *feature map*. Weights are shared across
//! positions, so a conv layer has `filters · (kr · kc · in_channels + 1)` parameters
//! however large the image is — a Dense layer would need one weight per pixel.
//!
//! Like Keras, PyTorch and every deep-learning library, the layer computes a
//! *cross-correlation*: the kernel is not flipped. (A mathematician's convolution flips
//! it; for a kernel that is learned the difference does not matter.)
//!
//! # Shapes
//! - input: `(batch, rows, cols, in_channels)`
//! - output: `(batch, out_rows, out_cols, filters)`, where with `valid` padding
//!   `out = floor((in − covered) / stride) + 1`, `covered = (kernel − 1)·dilation + 1`,
//!   and with `same` padding `out = ceil(in / stride)` (see [`crate::padding`]).
//! - kernel: `(kernel_rows, kernel_cols, in_channels, filters)` (Keras order); bias `(filters,)`.
//!
//! # Forward and backward, as matrix products
//! Copy every window of the input into a row of a matrix (`im2col`): `n · out_pixels` rows
//! of `kr · kc · in_channels` values, in the same order as the kernel's first three axes.
//! Stored in Keras order, the kernel *is* the matrix `K` of `(kr · kc · in_channels)` rows
//! and `filters` columns, so the whole layer is one matrix product:
//!
//! ```text
//! forward:   cols = im2col(x)              (n·P, kr·kc·C)
//!            z    = cols · K + b           (n·P, F)       P = out_rows · out_cols
//!            y    = activation(z)
//! backward:  dz    = dy ⊙ activation'(z)   (from y: relu' = [y > 0], σ' = y(1 − y), …)
//!            dK    = colsᵀ · dz            each weight: Σ over positions of input × gradient
//!            db    = Σ_rows dz             each bias: Σ of its filter's gradients
//!            dcols = dz · Kᵀ
//!            dx    = col2im(dcols)         each window entry back to the pixel it came from
//! ```
//! `dx` is skipped for the first layer: nothing needs the gradient of the images.
//!
//! ```
//! use cnn_course::prelude::*;
//! let mut model = Sequential::new();
//! // 200×200 greyscale, 16 kernels of 2×2 moving 2 pixels at a time:
//! model.add(Conv2D::new(16, 2).strides(2).input_shape((200, 200, 1))).unwrap();
//! assert_eq!(model.output_shape(), vec![100, 100, 16]);
//! assert_eq!(model.count_params(), 16 * (2 * 2 * 1) + 16); // 80
//! ```

use super::{
    activation_backward, expect_images, expect_positive, Gradients, Kept, Layer, Needs, Param, Pass, Size2, Weight,
};
use crate::backend::{Backend, Op};
use crate::choice::Choice;
use crate::initializers::{check_size, constant, glorot_uniform};
use crate::padding::{AxisWindows, Geometry, Padding};
use crate::{bail, Activation, Result};
use candle_core::Device;

/// A 2-D convolution layer, as Keras' `Conv2D`.
#[derive(Clone)]
pub struct Conv2D {
    filters: usize,
    kernel_size: Size2,
    strides: Size2,
    padding: Choice<Padding>,
    dilation_rate: Size2,
    activation: Choice<Activation>,
    use_bias: bool,
    built: Option<Built>,
}

#[derive(Clone)]
struct Built {
    kernel: Param,
    bias: Option<Param>,
    geometry: Geometry,
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
            padding: Choice::Value(Padding::Valid),
            dilation_rate: Size2::from(1),
            activation: Choice::Value(Activation::Linear),
            use_bias: true,
            built: None,
        }
    }

    /// How far the kernel moves between positions (default 1).
    pub fn strides(mut self, strides: impl Into<Size2>) -> Self {
        self.strides = strides.into();
        self
    }

    /// `"valid"` / `Padding::Valid` (default: no padding) or `"same"` / `Padding::Same`
    /// (zero padding, output size `ceil(in / stride)`).
    pub fn padding(mut self, padding: impl Into<Choice<Padding>>) -> Self {
        self.padding = padding.into();
        self
    }

    /// Gaps between kernel pixels: a 3×3 kernel with dilation 2 sees a 5×5 field.
    pub fn dilation_rate(mut self, dilation: impl Into<Size2>) -> Self {
        self.dilation_rate = dilation.into();
        self
    }

    /// `"relu"`, `"softmax"`, `"sigmoid"`, `"tanh"` or `"linear"` (default), or an
    /// [`Activation`].
    pub fn activation(mut self, activation: impl Into<Choice<Activation>>) -> Self {
        self.activation = activation.into();
        self
    }

    /// Whether to add a bias per filter (default true).
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    fn built(&self) -> Result<&Built> {
        self.built.as_ref().ok_or_else(|| super::not_built("Conv2D"))
    }
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
            bail!(
                Setting,
                "{name}: filters must be at least 1, got 0; hint: Conv2D::new(32, 3) makes 32 filters"
            );
        }
        expect_positive(name, "kernel size", self.kernel_size)?;
        expect_positive(name, "strides", self.strides)?;
        expect_positive(name, "dilation rate", self.dilation_rate)?;
        if self.dilation_rate.rows != self.dilation_rate.cols {
            bail!(Setting,
                "{name}: a different dilation per axis ({}) is not supported; hint: use one number, e.g. .dilation_rate(2)",
                self.dilation_rate
            );
        }
        let padding = self.padding.resolve(name)?;
        let activation = self.activation.resolve(name)?;
        let (k, s, d) = (self.kernel_size, self.strides, self.dilation_rate);
        let rows = AxisWindows::plan(in_rows, k.rows, s.rows, d.rows, padding);
        let cols = AxisWindows::plan(in_cols, k.cols, s.cols, d.cols, padding);
        let (Some(rows), Some(cols)) = (rows, cols) else {
            let covered = |k: usize| k.saturating_sub(1).saturating_mul(d.rows).saturating_add(1);
            if padding == Padding::Same {
                // With `same` padding any window fits; only sizes past counting fail.
                bail!(Setting,
                    "{name}: kernel {k} with dilation {} and strides {s} covers more pixels than can be counted; hint: kernels, strides and dilations are a few pixels, e.g. Conv2D::new(32, 3).dilation_rate(2)",
                    d.rows
                );
            }
            bail!(Shape,
                "{name}: kernel {k} (covering {}×{} with dilation {}) is larger than its input {in_rows}×{in_cols} with padding 'valid'; hint: use .padding(\"same\"), a smaller kernel, or fewer pooling layers before this one",
                covered(k.rows),
                covered(k.cols),
                d.rows
            );
        };
        let geometry = Geometry::new(
            (in_rows, in_cols, in_channels),
            (k.rows, k.cols),
            (s.rows, s.cols),
            d.rows,
            &rows,
            &cols,
        );
        let kernel_shape = [k.rows, k.cols, in_channels, self.filters];
        check_size(name, &kernel_shape, device)?;
        geometry.check_memory(name, device)?;
        let (fan_in, fan_out) = (k.rows * k.cols * in_channels, k.rows * k.cols * self.filters);
        let kernel = Param::new(glorot_uniform(&kernel_shape, fan_in, fan_out, device)?);
        let bias = match self.use_bias {
            true => Some(Param::new(constant(&[self.filters], 0.0, device)?)),
            false => None,
        };
        self.built = Some(Built {
            kernel,
            bias,
            geometry,
            activation,
        });
        Ok(vec![rows.output, cols.output, self.filters])
    }

    fn weights(&self) -> Vec<Weight> {
        match &self.built {
            Some(built) => Weight::kernel_and_bias(&built.kernel, built.bias.as_ref()),
            None => Vec::new(),
        }
    }

    fn activation(&self) -> Activation {
        self.built.as_ref().map(|b| b.activation).unwrap_or_default()
    }

    fn work_per_sample(&self) -> usize {
        self.built
            .as_ref()
            .map(|b| (b.geometry.out_pixels() * b.geometry.window_len()).saturating_mul(self.filters))
            .unwrap_or(0)
    }

    fn forward<B: Backend>(&self, pass: &Pass<B>, x: &B::Buf) -> Result<(B::Buf, Kept<B>)> {
        let Built {
            geometry: g,
            activation,
            ..
        } = self.built()?;
        let b = pass.backend;
        let cols = b.im2col(g, x, pass.n)?;
        let z = b.matmul(
            (pass.n * g.out_pixels(), g.window_len(), self.filters),
            &cols,
            Op::Plain,
            &pass.weights[0],
            Op::Plain,
        )?;
        let y = b.bias_activation(z, pass.weights.get(1), self.filters, pass.activation(*activation))?;
        let kept = match pass.train {
            true => Kept::Values(cols),
            false => Kept::Nothing,
        };
        Ok((y, kept))
    }

    fn backward<B: Backend>(
        &self,
        pass: &Pass<B>,
        (_, y): (Option<&B::Buf>, Option<&B::Buf>),
        kept: Kept<B>,
        dy: B::Buf,
        needs: Needs,
    ) -> Result<Gradients<B>> {
        let Built {
            geometry: g,
            activation,
            ..
        } = self.built()?;
        let Kept::Values(cols) = kept else {
            bail!(
                Internal,
                "Conv2D: the backward pass needs the windows kept by a training forward pass"
            );
        };
        let b = pass.backend;
        let (rows, window) = (pass.n * g.out_pixels(), g.window_len());
        let dz = activation_backward(pass, "Conv2D", (dy, y), self.filters, *activation)?;
        let mut weights = Vec::new();
        if needs.weights {
            weights.push(b.matmul((window, rows, self.filters), &cols, Op::Transposed, &dz, Op::Plain)?);
            if pass.weights.len() > 1 {
                weights.push(b.column_sums(&dz, self.filters)?);
            }
        }
        let input = match needs.input {
            true => {
                let dcols = b.matmul(
                    (rows, self.filters, window),
                    &dz,
                    Op::Plain,
                    &pass.weights[0],
                    Op::Transposed,
                )?;
                Some(b.col2im(g, &dcols, pass.n)?)
            }
            false => None,
        };
        Ok(Gradients { input, weights })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer, keras_batch, outputs};

    /// Four nested loops over the definition: out[n, i, j, f] = b[f] + Σ x[n, i·s + u·d, j·s + v·d, c] · K[u, v, c, f].
    fn reference(layer: &Conv2D, x: &[f32], n: usize) -> Vec<f32> {
        let built = layer.built.as_ref().unwrap();
        let g = built.geometry;
        let k = built.kernel.get().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let f = layer.filters;
        let bias = match &built.bias {
            Some(b) => b.get().to_vec1::<f32>().unwrap(),
            None => vec![0.0; f],
        };
        let mut out = Vec::new();
        for s in 0..n {
            for i in 0..g.out_rows {
                for j in 0..g.out_cols {
                    for filter in 0..f {
                        let mut sum = bias[filter];
                        for u in 0..g.kernel_rows {
                            for v in 0..g.kernel_cols {
                                let Some(pixel) = g.input_pixel(i, j, u, v) else {
                                    continue;
                                };
                                for c in 0..g.channels {
                                    let xv = x[(s * g.in_pixels() + pixel) * g.channels + c];
                                    sum += xv * k[((u * g.kernel_cols + v) * g.channels + c) * f + filter];
                                }
                            }
                        }
                        out.push(sum);
                    }
                }
            }
        }
        out
    }

    fn built(layer: Conv2D, input: &[usize]) -> (Conv2D, Vec<usize>) {
        let _guard = crate::testing::seed_lock();
        crate::set_seed(3);
        let mut layer = layer;
        let out = layer.build("conv2d", input, &Device::Cpu).unwrap();
        (layer, out)
    }

    fn settings() -> Vec<(Conv2D, Vec<usize>)> {
        vec![
            (Conv2D::new(2, 3), vec![7, 6, 2]),
            (Conv2D::new(2, 2).padding("same"), vec![5, 6, 1]),
            (Conv2D::new(3, 3).strides(2).padding(Padding::Same), vec![7, 8, 2]),
            (Conv2D::new(2, (3, 2)).strides((2, 1)), vec![9, 6, 1]),
            (Conv2D::new(2, 3).dilation_rate(2), vec![8, 7, 2]),
            (Conv2D::new(1, 2).strides(3).use_bias(false), vec![11, 11, 1]),
        ]
    }

    #[test]
    fn output_matches_a_plain_loop_for_every_setting() {
        for (layer, input) in settings() {
            let (layer, out_shape) = built(layer, &input);
            let x = keras_batch(2, &input);
            let got = outputs(&layer, &x, 2);
            assert_eq!(got.len(), 2 * out_shape.iter().product::<usize>());
            let want = reference(&layer, &x, 2);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences_candle_and_the_device_backend() {
        let activations = [
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Relu,
            Activation::Linear,
        ];
        for (i, (layer, input)) in settings().into_iter().enumerate() {
            let (layer, _) = built(layer.activation(activations[i % 4]), &input);
            check_layer(&layer, &input);
        }
    }

    #[test]
    fn the_same_gradients_as_candles_own_convolution() {
        use candle_core::{Tensor, Var};
        let (layer, out) = built(Conv2D::new(3, (3, 2)).strides(2).activation("tanh"), &[7, 6, 2]);
        let x = keras_batch(2, &[7, 6, 2]);
        let r: Vec<f32> = (0..2 * out.iter().product::<usize>())
            .map(|i| (i % 7) as f32 / 3.0 - 1.0)
            .collect();
        let (_, ours_dx, ours_dw) = crate::layers::gradient_check::host_gradients(&layer, &x, 2, &r);
        // candle: NCHW input, (filters, channels, rows, cols) kernel, one stride for both axes.
        let xv = Var::from_tensor(&Tensor::from_slice(&x, (2, 7, 6, 2), &Device::Cpu).unwrap()).unwrap();
        let kv = Var::from_tensor(&layer.weights()[0].param.get()).unwrap();
        let bv = Var::from_tensor(&layer.weights()[1].param.get()).unwrap();
        let y = xv
            .as_tensor()
            .permute((0, 3, 1, 2))
            .unwrap()
            .conv2d(&kv.as_tensor().permute((3, 2, 0, 1)).unwrap(), 0, 2, 1, 1)
            .unwrap()
            .broadcast_add(&bv.as_tensor().reshape((1, 3, 1, 1)).unwrap())
            .unwrap()
            .tanh()
            .unwrap()
            .permute((0, 2, 3, 1))
            .unwrap();
        crate::layers::gradient_check::assert_same_as_candle(
            &y,
            &r,
            &[
                ("dx", &ours_dx, &xv),
                ("dkernel", &ours_dw[0], &kv),
                ("dbias", &ours_dw[1], &bv),
            ],
        );
    }

    #[test]
    fn the_parameter_count_follows_the_formula() {
        // K·F·F·D_in + K with K = 10 filters, F = 3, D_in = 1: 90 kernel weights + 10 biases.
        let (layer, out) = built(Conv2D::new(10, 3), &[28, 28, 1]);
        assert_eq!(out, vec![26, 26, 10]);
        let count: usize = layer.weights().iter().map(|w| w.param.elem_count()).sum();
        assert_eq!(count, 100);
        assert_eq!(layer.weights()[0].param.dims(), vec![3, 3, 1, 10]);
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
