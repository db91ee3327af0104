//! `Flatten`: lay an image's values out in one long vector, so Dense layers can read it.
//!
//! The order is Keras': row by row, and within a pixel channel by channel — so a 3×3×64
//! feature map becomes 576 values. No weights.
//!
//! # Shapes
//! - input: `(batch, rows, cols, channels)` (or already flat)
//! - output: `(batch, rows · cols · channels)`

use super::Layer;
use crate::arrays::to_keras;
use crate::Result;
use candle_core::{Device, Tensor};

/// Flattening, as Keras' `Flatten`.
#[derive(Clone, Default)]
pub struct Flatten;

impl Flatten {
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

    fn build(&mut self, _name: &str, input_shape: &[usize], _device: &Device) -> Result<Vec<usize>> {
        Ok(vec![input_shape.iter().product()])
    }

    fn pre_activation(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(to_keras(x)?.flatten_from(1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_in_keras_order_rows_then_columns_then_channels() {
        let mut layer = Flatten::new();
        assert_eq!(layer.build("flatten", &[2, 3, 4], &Device::Cpu).unwrap(), vec![24]);
        let x = crate::testing::random_batch(1, &[2, 3, 4]);
        let keras = to_keras(&x).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let flat = layer.forward(&x, false).unwrap();
        assert_eq!(flat.dims(), &[1, 24]);
        assert_eq!(flat.flatten_all().unwrap().to_vec1::<f32>().unwrap(), keras);
        // Value at (row 1, col 2, channel 3) is at position (1·3 + 2)·4 + 3 = 23.
        let internal: f32 = x
            .get(0)
            .unwrap()
            .get(3)
            .unwrap()
            .get(1)
            .unwrap()
            .get(2)
            .unwrap()
            .to_scalar()
            .unwrap();
        assert_eq!(keras[23], internal);
    }
}
