//! Helpers shared by the crate's unit tests.

use crate::arrays::to_internal;
use candle_core::{Device, Tensor};
use std::sync::{Mutex, MutexGuard};

/// Tests that set the global seed and then draw from it hold this lock, so that tests
/// running in parallel do not draw from each other's sequence.
pub fn seed_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A batch of `n` samples of Keras shape `shape`, in the internal layout, with distinct
/// values spread over [-1, 1) (no ties, so max pooling has a unique winner per window and
/// small finite-difference steps never change it).
pub fn random_batch(n: usize, shape: &[usize]) -> Tensor {
    let mut dims = vec![n];
    dims.extend_from_slice(shape);
    let count: usize = dims.iter().product();
    // A fixed pseudo-random permutation (multiplicative hashing), independent of the seed.
    let values: Vec<f32> = (0..count)
        .map(|i| ((i * 7919 + 13) % count) as f32 / count as f32 * 2.0 - 1.0)
        .collect();
    let x = Tensor::from_vec(values, dims, &Device::Cpu).unwrap();
    to_internal(&x).unwrap()
}

/// Assert that two tensors have the same shape and values within `tolerance`.
pub fn assert_close(got: &Tensor, want: &Tensor, tolerance: f32) {
    assert_eq!(got.dims(), want.dims(), "shapes differ");
    let g = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let w = want.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!((a - b).abs() <= tolerance, "element {i}: got {a}, want {b}");
    }
}
