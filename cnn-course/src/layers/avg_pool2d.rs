//! `AvgPool2D`: the mean of each window.
//!
//! Like [`super::MaxPool2D`], but every pixel of a window counts equally, so the gradient
//! of an output is shared equally by its window's pixels. With `same` padding, padded
//! pixels are left out of the mean (as in Keras).
//!
//! # Shapes
//! - input: `(batch, rows, cols, channels)`
//! - output: `(batch, out_rows, out_cols, channels)`, sizes as for max pooling.

use super::max_pool2d::PoolWindow;
use super::{Layer, Size2};
use crate::Result;
use candle_core::{Device, Tensor, D};

/// Average pooling, as Keras' `AveragePooling2D` / `AvgPool2D`.
#[derive(Clone)]
pub struct AvgPool2D {
    window: PoolWindow,
}

impl AvgPool2D {
    /// Windows of `pool_size` (`2` for 2×2), moving by the pool size, `valid` padding.
    pub fn new(pool_size: impl Into<Size2>) -> Self {
        AvgPool2D {
            window: PoolWindow::new(pool_size.into()),
        }
    }

    /// How far the window moves (default: the pool size).
    pub fn strides(mut self, strides: impl Into<Size2>) -> Self {
        self.window.strides = Some(strides.into());
        self
    }

    /// `"valid"` (default) or `"same"`; padded pixels are not counted in the mean.
    pub fn padding(mut self, padding: &str) -> Self {
        self.window.padding = padding.into();
        self
    }
}

impl Layer for AvgPool2D {
    fn type_name(&self) -> &'static str {
        "AvgPool2D"
    }

    fn base_name(&self) -> &'static str {
        "avg_pool2d"
    }

    fn build(&mut self, name: &str, input_shape: &[usize], _device: &Device) -> Result<Vec<usize>> {
        self.window.build(name, "AvgPool2D", input_shape)
    }

    fn pre_activation(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let sums = self.window.windows("AvgPool2D", x, 0.0)?.sum(D::Minus1)?;
        // How many real (not padded) pixels each window holds.
        let (_, _, rows, cols) = x.dims4()?;
        let ones = Tensor::ones((1, 1, rows, cols), x.dtype(), x.device())?;
        let counts = self.window.windows("AvgPool2D", &ones, 0.0)?.sum(D::Minus1)?;
        Ok(sums.broadcast_div(&counts)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer_gradients, reference_pool};
    use crate::padding::Padding;

    #[test]
    fn output_and_gradients_match_a_plain_loop() {
        for (layer, input, pool, stride, padding) in [
            (AvgPool2D::new(2), vec![11, 11, 2], (2, 2), (2, 2), Padding::Valid),
            (
                AvgPool2D::new(3).strides(2).padding("same"),
                vec![7, 6, 1],
                (3, 3),
                (2, 2),
                Padding::Same,
            ),
        ] {
            let mut layer = layer;
            layer.build("avg_pool2d", &input, &Device::Cpu).unwrap();
            let x = crate::testing::random_batch(2, &input);
            let want = reference_pool(&x, pool, stride, padding, true);
            crate::testing::assert_close(&layer.forward(&x, false).unwrap(), &want, 1e-6);
            check_layer_gradients(&layer, &input);
        }
    }
}
