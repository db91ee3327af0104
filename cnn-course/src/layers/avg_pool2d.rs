//! `AvgPool2D`: the mean of each window.
//!
//! Like [`super::MaxPool2D`], but every pixel of a window counts equally. With `same`
//! padding, padded pixels are left out of the mean (as in Keras).
//!
//! # Forward and backward
//! ```text
//! forward:   y[window, c] = (1 / m) · Σ over the window's m real pixels p of x[p, c]
//! backward:  dx[p, c] += dy[window, c] / m for every real pixel p of the window
//! ```
//!
//! # Shapes
//! - input: `(batch, rows, cols, channels)`
//! - output: `(batch, out_rows, out_cols, channels)`, sizes as for max pooling.

use super::max_pool2d::PoolWindow;
use super::{Gradients, Kept, Layer, Needs, Pass, Size2};
use crate::backend::Backend;
use crate::choice::Choice;
use crate::padding::Padding;
use crate::Result;
use candle_core::Device;

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

    /// `"valid"` (default) or `"same"` (or a [`Padding`]); padded pixels are not counted.
    pub fn padding(mut self, padding: impl Into<Choice<Padding>>) -> Self {
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

    fn build(&mut self, name: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>> {
        self.window.build(name, "AvgPool2D", input_shape, device)
    }

    fn forward<B: Backend>(&self, pass: &Pass<B>, x: &B::Buf) -> Result<(B::Buf, Kept<B>)> {
        let g = self.window.geometry("AvgPool2D")?;
        Ok((pass.backend.avg_pool(g, x, pass.n)?, Kept::Nothing))
    }

    fn backward<B: Backend>(
        &self,
        pass: &Pass<B>,
        _io: (Option<&B::Buf>, Option<&B::Buf>),
        _kept: Kept<B>,
        dy: B::Buf,
        needs: Needs,
    ) -> Result<Gradients<B>> {
        let g = self.window.geometry("AvgPool2D")?;
        let dx = match needs.input {
            true => Some(pass.backend.avg_pool_backward(g, &dy, pass.n)?),
            false => None,
        };
        Ok(Gradients::input_only(dx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer, keras_batch, outputs};
    use crate::layers::max_pool2d::tests::{pool_settings, reference_pool};

    #[test]
    fn output_and_gradients_match_a_plain_loop_and_finite_differences() {
        for (window, input) in pool_settings() {
            let mut layer = AvgPool2D { window };
            layer.build("avg_pool2d", &input, &Device::Cpu).unwrap();
            let x = keras_batch(2, &input);
            let want = reference_pool(layer.window.geometry.as_ref().unwrap(), &x, 2, true);
            for (a, b) in outputs(&layer, &x, 2).iter().zip(&want) {
                assert!((a - b).abs() < 1e-6);
            }
            check_layer(&layer, &input);
        }
    }
}
