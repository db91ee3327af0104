//! The crate's own seeded random number generator.
//!
//! candle's CPU random generator cannot be seeded, so everything random in training —
//! weight initialization, shuffling, dropout masks, validation splits — draws from this one
//! generator instead. After [`set_seed`], the same program gives bit-identical results on
//! the CPU, as `keras.utils.set_random_seed` promises in Keras.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::sync::{Mutex, MutexGuard, OnceLock};

fn generator() -> MutexGuard<'static, StdRng> {
    static GENERATOR: OnceLock<Mutex<StdRng>> = OnceLock::new();
    GENERATOR
        .get_or_init(|| Mutex::new(StdRng::from_os_rng()))
        .lock()
        // A panic elsewhere cannot leave a random generator in a broken state.
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Seed every random choice the crate makes (initial weights, shuffling, dropout).
///
/// ```
/// cnn_course::set_seed(42);
/// ```
pub fn set_seed(seed: u64) {
    *generator() = StdRng::seed_from_u64(seed);
}

/// `n` numbers drawn uniformly from `[low, high)`.
pub fn uniform(n: usize, low: f32, high: f32) -> Vec<f32> {
    let mut rng = generator();
    (0..n).map(|_| rng.random_range(low..high)).collect()
}

/// `n` numbers that are 1 with probability `p` and 0 otherwise.
pub fn bernoulli(n: usize, p: f64) -> Vec<f32> {
    let mut rng = generator();
    (0..n).map(|_| if rng.random_bool(p) { 1.0 } else { 0.0 }).collect()
}

/// The numbers `0..n` in a random order.
pub fn permutation(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut *generator());
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let _guard = crate::testing::seed_lock();
        set_seed(7);
        let a = (uniform(5, -1.0, 1.0), permutation(10), bernoulli(8, 0.5));
        set_seed(7);
        let b = (uniform(5, -1.0, 1.0), permutation(10), bernoulli(8, 0.5));
        assert_eq!(a, b);
        set_seed(8);
        assert_ne!(a.0, uniform(5, -1.0, 1.0));
    }
}
