//! `MaxPool2D`: keep the largest value of each window.
//!
//! Pooling shrinks feature maps (2×2 windows halve rows and columns), which cuts the
//! computation of later layers and makes the network tolerate small shifts. It has no
//! weights. In training, the gradient of each output flows back to the one input pixel
//! that won its window — and to nothing else.
//!
//! candle's own `max_pool2d` is not used: its gradient is wrong (it divides by the window
//! size and misplaces gradients when the size does not divide, e.g. 11×11 → 5×5).
//!
//! # Shapes
//! - input: `(batch, rows, cols, channels)`
//! - output: `(batch, out_rows, out_cols, channels)`, with `valid` padding
//!   `out = floor((in − pool) / stride) + 1`, with `same` padding `out = ceil(in / stride)`.
//!
//! ```
//! use cnn_course::prelude::*;
//! let mut model = Sequential::new();
//! model.add(MaxPool2D::new(2).input_shape((100, 100, 15))).unwrap();
//! assert_eq!(model.output_shape(), vec![50, 50, 15]);
//! ```

use super::max_pool_op::{MaxPoolCpu, MaxPoolOp};
use super::windows::gather_windows;
use super::{expect_images, expect_positive, Layer, Size2};
use crate::padding::{AxisWindows, Padding};
use crate::{bail, Result};
use candle_core::{Device, Tensor, D};

/// Max pooling, as Keras' `MaxPooling2D` / `MaxPool2D`.
#[derive(Clone)]
pub struct MaxPool2D {
    pub(super) window: PoolWindow,
}

/// What pooling layers share: window size, strides, padding, and the plan made at build.
#[derive(Clone)]
pub(super) struct PoolWindow {
    pub pool_size: Size2,
    pub strides: Option<Size2>,
    pub padding: String,
    pub plan: Option<(AxisWindows, AxisWindows)>,
}

impl PoolWindow {
    pub fn new(pool_size: Size2) -> Self {
        PoolWindow {
            pool_size,
            strides: None,
            padding: "valid".into(),
            plan: None,
        }
    }

    /// Strides default to the pool size, as in Keras.
    pub fn strides(&self) -> Size2 {
        self.strides.unwrap_or(self.pool_size)
    }

    pub fn build(&mut self, name: &str, kind: &str, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (rows, cols, channels) = expect_images(name, kind, input_shape)?;
        expect_positive(name, "pool size", self.pool_size)?;
        expect_positive(name, "strides", self.strides())?;
        let padding: Padding = self.padding.parse().map_err(|e: crate::Error| e.context(name))?;
        let (p, s) = (self.pool_size, self.strides());
        let row_plan = AxisWindows::plan(rows, p.rows, s.rows, 1, padding);
        let col_plan = AxisWindows::plan(cols, p.cols, s.cols, 1, padding);
        let (Some(row_plan), Some(col_plan)) = (row_plan, col_plan) else {
            bail!(
                "{name}: pool {p} is larger than its input {rows}×{cols}; hint: use a smaller pool size, .padding(\"same\"), or remove a pooling layer before this one"
            );
        };
        self.plan = Some((row_plan, col_plan));
        Ok(vec![row_plan.output, col_plan.output, channels])
    }

    /// The windows of `x`, `(batch, channels, out_rows, out_cols, pool_rows·pool_cols)`.
    pub fn windows(&self, kind: &str, x: &Tensor, pad_value: f32) -> Result<Tensor> {
        let Some((rows, cols)) = &self.plan else {
            return Err(super::not_built(kind));
        };
        gather_windows(x, self.pool_size, self.strides(), rows, cols, pad_value)
    }
}

impl MaxPool2D {
    /// Windows of `pool_size` (`2` for 2×2), moving by the pool size, `valid` padding.
    pub fn new(pool_size: impl Into<Size2>) -> Self {
        MaxPool2D {
            window: PoolWindow::new(pool_size.into()),
        }
    }

    /// How far the window moves (default: the pool size, so windows do not overlap).
    pub fn strides(mut self, strides: impl Into<Size2>) -> Self {
        self.window.strides = Some(strides.into());
        self
    }

    /// `"valid"` (default) or `"same"`; padded pixels never win a window.
    pub fn padding(mut self, padding: &str) -> Self {
        self.window.padding = padding.into();
        self
    }

    /// Pool size, strides and the window plan, for the CPU training step (`crate::cpu`);
    /// `None` before the layer is built.
    pub(crate) fn parts(&self) -> Option<(Size2, Size2, AxisWindows, AxisWindows)> {
        let (rows, cols) = self.window.plan?;
        Some((self.window.pool_size, self.window.strides(), rows, cols))
    }
}

impl MaxPool2D {
    /// Max pooling from candle's differentiable operations, on any device: the windows
    /// stacked along a new axis, and each window's winner picked by index — so its
    /// gradient goes to that one pixel only (a max over the axis would share it between
    /// tied pixels).
    fn generic(&self, x: &Tensor) -> Result<Tensor> {
        // Padding uses the lowest float, so it never wins against a real pixel.
        let windows = self.window.windows("MaxPool2D", x, f32::MIN)?;
        let winner = windows.argmax_keepdim(D::Minus1)?;
        Ok(windows.gather(&winner, D::Minus1)?.squeeze(D::Minus1)?)
    }
}

impl Layer for MaxPool2D {
    fn type_name(&self) -> &'static str {
        "MaxPool2D"
    }

    fn base_name(&self) -> &'static str {
        "max_pool2d"
    }

    fn build(&mut self, name: &str, input_shape: &[usize], _device: &Device) -> Result<Vec<usize>> {
        self.window.build(name, "MaxPool2D", input_shape)
    }

    fn pre_activation(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        match (
            &self.window.plan,
            x.device().is_cpu() && x.dtype() == candle_core::DType::F32,
        ) {
            (Some((rows, cols)), true) => {
                let window = MaxPoolCpu {
                    pool: self.window.pool_size,
                    strides: self.window.strides(),
                    rows: *rows,
                    cols: *cols,
                };
                Ok(x.contiguous()?.apply_op1(MaxPoolOp {
                    window,
                    winners: Default::default(),
                })?)
            }
            _ => self.generic(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer_gradients, reference_pool};

    fn built(layer: MaxPool2D, input: &[usize]) -> (MaxPool2D, Vec<usize>) {
        let mut layer = layer;
        let out = layer.build("max_pool2d", input, &Device::Cpu).unwrap();
        (layer, out)
    }

    #[test]
    fn output_matches_a_plain_loop() {
        let cases = [
            (MaxPool2D::new(2), vec![11, 11, 3], (2, 2), (2, 2), Padding::Valid),
            (
                MaxPool2D::new(3).strides(2).padding("same"),
                vec![7, 8, 2],
                (3, 3),
                (2, 2),
                Padding::Same,
            ),
            (
                MaxPool2D::new((2, 3)).strides(1),
                vec![5, 6, 1],
                (2, 3),
                (1, 1),
                Padding::Valid,
            ),
            (
                MaxPool2D::new(2).padding("same"),
                vec![5, 5, 2],
                (2, 2),
                (2, 2),
                Padding::Same,
            ),
        ];
        for (layer, input, pool, stride, padding) in cases {
            let (layer, out) = built(layer, &input);
            let x = crate::testing::random_batch(2, &input);
            let got = layer.forward(&x, false).unwrap();
            assert_eq!(got.dims()[2..], out[..2]);
            crate::testing::assert_close(&got, &reference_pool(&x, pool, stride, padding, false), 0.0);
        }
    }

    #[test]
    fn gradients_go_to_the_winner_even_when_the_size_does_not_divide() {
        // 11×11 → 5×5 as in the seed convnet: the last row and column get no gradient,
        // each window's winner gets the whole gradient (not a quarter of it).
        let (layer, out) = built(MaxPool2D::new(2), &[11, 11, 2]);
        assert_eq!(out, vec![5, 5, 2]);
        check_layer_gradients(&layer, &[11, 11, 2]);
        let (layer, _) = built(MaxPool2D::new(3).strides(2).padding("same"), &[7, 6, 1]);
        check_layer_gradients(&layer, &[7, 6, 1]);
    }

    #[test]
    fn the_cpu_kernel_matches_the_generic_path_forward_and_backward() {
        use candle_core::Var;
        for (layer, input) in [
            (MaxPool2D::new(2), vec![11, 11, 3]),
            (MaxPool2D::new(3).strides(2).padding("same"), vec![7, 8, 2]),
            (MaxPool2D::new((2, 3)).strides(1), vec![5, 6, 1]),
        ] {
            let (layer, _) = built(layer, &input);
            let x = Var::from_tensor(&crate::testing::random_batch(2, &input)).unwrap();
            let fast = layer.forward(x.as_tensor(), true).unwrap();
            let slow = layer.generic(x.as_tensor()).unwrap();
            crate::testing::assert_close(&fast, &slow, 0.0);
            let r =
                crate::testing::random_batch(2, &[fast.dim(2).unwrap(), fast.dim(3).unwrap(), fast.dim(1).unwrap()]);
            let g_fast = fast.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
            let g_slow = slow.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
            crate::testing::assert_close(
                g_fast.get(x.as_tensor()).unwrap(),
                g_slow.get(x.as_tensor()).unwrap(),
                0.0,
            );
        }
    }

    #[test]
    fn a_pool_larger_than_the_input_is_refused() {
        let mut layer = MaxPool2D::new(2);
        assert_eq!(
            layer.build("max_pool2d_2", &[1, 1, 64], &Device::Cpu).err().unwrap().to_string(),
            "max_pool2d_2: pool 2×2 is larger than its input 1×1; hint: use a smaller pool size, .padding(\"same\"), or remove a pooling layer before this one"
        );
        let mut layer = MaxPool2D::new(0);
        assert_eq!(
            layer
                .build("max_pool2d", &[8, 8, 1], &Device::Cpu)
                .err()
                .unwrap()
                .to_string(),
            "max_pool2d: pool size must be at least 1, got 0×0; hint: use a positive size such as 2"
        );
    }
}
