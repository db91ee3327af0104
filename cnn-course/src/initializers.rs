//! Initial weights, as Keras chooses them: Glorot-uniform kernels and zero biases.
//!
//! Glorot (Xavier) uniform draws from `U(−limit, limit)` with
//! `limit = sqrt(6 / (fan_in + fan_out))`, where `fan_in` is the number of inputs each unit
//! sees and `fan_out` the number of units each input feeds. It keeps the variance of
//! activations roughly equal from layer to layer. Values come from the crate's seeded
//! generator ([`crate::set_seed`]), never from candle's.
//!
//! Before any weight is allocated, `check_size` makes sure it fits in memory: a layer
//! too large for the machine is refused with its size, instead of the allocation aborting
//! the notebook's process (and losing every variable).

use crate::model::summary::thousands;
use crate::{bail, rng, Result};
use candle_core::{Device, Tensor};

/// Glorot-uniform values of `shape`.
pub fn glorot_uniform(shape: &[usize], fan_in: usize, fan_out: usize, device: &Device) -> Result<Tensor> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    let count = shape.iter().product();
    let values = rng::uniform(count, -limit, limit);
    Ok(Tensor::from_vec(values, shape, device)?)
}

/// `shape` filled with `value` (zeros for biases, ones for scales).
pub fn constant(shape: &[usize], value: f32, device: &Device) -> Result<Tensor> {
    Ok(Tensor::full(value, shape, device)?)
}

/// Training keeps about this many copies of every weight: the values, their gradient,
/// and up to two optimizer averages (Adam's `m` and `v`).
const COPIES_IN_TRAINING: u128 = 4;

/// The number of values of a weight of `shape` in layer `name`; an error when they are
/// too many to count or to train in the memory of `device` (the GPU's, or the machine's).
pub(crate) fn check_size(name: &str, shape: &[usize], device: &Device) -> Result<usize> {
    let dims: Vec<String> = shape.iter().map(|d| thousands(*d)).collect();
    let Some(count) = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) else {
        bail!(Shape,
            "{name}: a weight of shape ({}) has too many values to count; hint: shrink the input first, with pooling or strides, or use fewer units",
            dims.join(", ")
        );
    };
    // In u128: 16 bytes for each of up to usize::MAX values must not wrap around.
    let needed = count as u128 * 4 * COPIES_IN_TRAINING;
    let (place, available) = crate::device::available_memory(device);
    if needed > available as u128 {
        bail!(Shape,
            "{name}: a weight of shape ({}) has {} values; training it needs about {:.1} GB (weights, gradients and optimizer state), and {place} has {:.1} GB available; hint: shrink the input first, with pooling or strides, or use fewer units",
            dims.join(", "),
            thousands(count),
            needed as f64 / 1e9,
            available as f64 / 1e9
        );
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_values_stay_inside_the_limit_and_fill_it() {
        let _guard = crate::testing::seed_lock();
        crate::set_seed(1);
        let values = glorot_uniform(&[100, 50], 100, 50, &Device::Cpu).unwrap();
        let values = values.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let limit = (6.0f32 / 150.0).sqrt();
        assert!(values.iter().all(|v| v.abs() <= limit));
        let max = values.iter().cloned().fold(0f32, |a, b| a.max(b.abs()));
        assert!(max > 0.95 * limit, "5,000 draws should come near the limit");
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        assert!(mean.abs() < 0.01);
    }

    #[test]
    fn weights_too_large_for_memory_are_refused_before_allocating() {
        assert_eq!(check_size("dense", &[784, 10], &Device::Cpu).unwrap(), 7840);
        let err = check_size("dense", &[4_194_304, 1_000_000], &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("dense: a weight of shape (4,194,304, 1,000,000) has 4,194,304,000,000 values; training it needs about 67108.9 GB"),
            "{err}"
        );
        assert!(err.ends_with("hint: shrink the input first, with pooling or strides, or use fewer units"));
        // Countable, but 16 bytes each overflow: still refused.
        let err = check_size("dense", &[1 << 62, 1], &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("has 4,611,686,018,427,387,904 values; training it needs about 73786976294.8 GB"),
            "{err}"
        );
        assert_eq!(
            check_size("dense", &[usize::MAX, 2], &Device::Cpu).unwrap_err().to_string(),
            format!("dense: a weight of shape ({}, 2) has too many values to count; hint: shrink the input first, with pooling or strides, or use fewer units", thousands(usize::MAX))
        );
    }
}
