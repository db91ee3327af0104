//! Initial weights, as Keras chooses them: Glorot-uniform kernels and zero biases.
//!
//! Glorot (Xavier) uniform draws from `U(−limit, limit)` with
//! `limit = sqrt(6 / (fan_in + fan_out))`, where `fan_in` is the number of inputs each unit
//! sees and `fan_out` the number of units each input feeds. It keeps the variance of
//! activations roughly equal from layer to layer. Values come from the crate's seeded
//! generator ([`crate::set_seed`]), never from candle's.

use crate::{rng, Result};
use candle_core::{Device, Tensor, Var};

/// A trainable variable of `shape` drawn Glorot-uniform.
pub fn glorot_uniform(shape: &[usize], fan_in: usize, fan_out: usize, device: &Device) -> Result<Var> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    let count = shape.iter().product();
    let values = rng::uniform(count, -limit, limit);
    Ok(Var::from_tensor(&Tensor::from_vec(values, shape, device)?)?)
}

/// A variable of `shape` filled with `value` (zeros for biases, ones for scales).
pub fn constant(shape: &[usize], value: f32, device: &Device) -> Result<Var> {
    Ok(Var::from_tensor(&Tensor::full(value, shape, device)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_values_stay_inside_the_limit_and_fill_it() {
        let _guard = crate::testing::seed_lock();
        crate::set_seed(1);
        let var = glorot_uniform(&[100, 50], 100, 50, &Device::Cpu).unwrap();
        let values = var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let limit = (6.0f32 / 150.0).sqrt();
        assert!(values.iter().all(|v| v.abs() <= limit));
        let max = values.iter().cloned().fold(0f32, |a, b| a.max(b.abs()));
        assert!(max > 0.95 * limit, "5,000 draws should come near the limit");
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        assert!(mean.abs() < 0.01);
    }
}
