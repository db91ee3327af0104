//! `Flatten`: lay an image's values out in one long vector, so Dense layers can read it.
//!
//! The order is Keras': row by row, and within a pixel channel by channel — so a 3×3×64
//! feature map becomes 576 values. Images are stored in exactly that order
//! (channels-last), so flattening moves no value: forward and backward pass the numbers
//! through unchanged. No weights.
//!
//! # Shapes
//! - input: `(batch, rows, cols, channels)` (or already flat)
//! - output: `(batch, rows · cols · channels)`

use super::{Gradients, Kept, Layer, Needs, Pass};
use crate::backend::Backend;
use crate::{bail, Result};
use candle_core::Device;

/// Flattening, as Keras' `Flatten`.
#[derive(Clone, Default)]
pub struct Flatten;

impl Flatten {
    /// A Flatten layer.
    pub fn new() -> Self {
        Flatten
    }
}

impl Layer for Flatten {
    fn type_name(&self) -> &'static str {
        "Flatten"
    }

    fn base_name(&self) -> &'static str {
        "flatten"
    }

    fn build(&mut self, name: &str, input_shape: &[usize], _device: &Device) -> Result<Vec<usize>> {
        match input_shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
            Some(features) => Ok(vec![features]),
            None => {
                bail!(
                    Shape,
                    "{name}: the input {input_shape:?} has too many values to count; hint: shrink the images first"
                )
            }
        }
    }

    fn forward<B: Backend>(&self, pass: &Pass<B>, x: &B::Buf) -> Result<(B::Buf, Kept<B>)> {
        Ok((pass.backend.copy(x)?, Kept::Nothing))
    }

    fn backward<B: Backend>(
        &self,
        _pass: &Pass<B>,
        _io: (Option<&B::Buf>, Option<&B::Buf>),
        _kept: Kept<B>,
        dy: B::Buf,
        needs: Needs,
    ) -> Result<Gradients<B>> {
        Ok(Gradients::input_only(needs.input.then_some(dy)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer, keras_batch, outputs};

    #[test]
    fn flattens_in_keras_order_rows_then_columns_then_channels() {
        let mut layer = Flatten::new();
        assert_eq!(layer.build("flatten", &[2, 3, 4], &Device::Cpu).unwrap(), vec![24]);
        let x = keras_batch(1, &[2, 3, 4]);
        // The value at (row 1, col 2, channel 3) is at position (1·3 + 2)·4 + 3 = 23.
        assert_eq!(outputs(&layer, &x, 1), x);
        check_layer(&layer, &[2, 3, 4]);
    }
}
