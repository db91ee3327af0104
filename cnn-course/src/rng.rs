//! The crate's own seeded random number generator.
//!
//! candle's CPU random generator cannot be seeded, so everything random in training —
//! weight initialization, shuffling, dropout masks, validation splits — draws from the
//! crate's generators instead. After [`set_seed`], the same program gives bit-identical
//! results on the CPU, as `keras.utils.set_random_seed` promises in Keras.
//!
//! Each model gets its own generator when it is made, seeded from the crate's. In a
//! notebook every cell has its own copy of this crate (and of its global generator); the
//! model carries its generator with it, so `set_seed(0)` and `Sequential::new()` in one
//! cell make the `fit` of a later cell reproducible too.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Whether [`set_seed`] has been called — in a notebook, in this cell (each cell has its
/// own copy of the crate).
static SEED_SET: AtomicBool = AtomicBool::new(false);

fn global() -> MutexGuard<'static, StdRng> {
    static GENERATOR: OnceLock<Mutex<StdRng>> = OnceLock::new();
    GENERATOR
        .get_or_init(|| Mutex::new(StdRng::from_os_rng()))
        .lock()
        // A panic elsewhere cannot leave a random generator in a broken state.
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

thread_local! {
    /// The generator of the model being built or trained, while it is.
    static CURRENT: RefCell<Option<Arc<Mutex<StdRng>>>> = const { RefCell::new(None) };
}

/// Draw from the active model's generator, or the crate's when no model is active.
fn with_generator<T>(draw: impl FnOnce(&mut StdRng) -> T) -> T {
    match CURRENT.with(|c| c.borrow().clone()) {
        Some(generator) => draw(&mut generator.lock().unwrap_or_else(|p| p.into_inner())),
        None => draw(&mut global()),
    }
}

/// Seed every random choice the crate makes (initial weights, shuffling, dropout) for
/// the models whose first layer is added after this call — so `set_seed` may come before
/// or after `Sequential::new()`, in the same cell.
///
/// The same seed gives bit-identical training on the same machine, whatever its number
/// of cores: a batch is always cut into the same pieces, and their gradients are added in
/// the same order. (Another processor may round differently: AVX-512 and AVX2 matrix
/// products add in different orders.)
///
/// ```
/// cnn_course::set_seed(42);
/// ```
///
/// A model built without a seed and trained after `set_seed` (in the cell of its `fit`)
/// shuffles and drops out by that seed from then on; its initial weights stay unseeded,
/// and `fit` says so.
pub fn set_seed(seed: u64) {
    *global() = StdRng::seed_from_u64(seed);
    SEED_SET.store(true, Ordering::SeqCst);
}

/// Whether [`set_seed`] has been called (in this copy of the crate).
pub(crate) fn seed_was_set() -> bool {
    SEED_SET.load(Ordering::SeqCst)
}

/// A new generator seeded from the current one.
pub(crate) fn fresh() -> StdRng {
    StdRng::seed_from_u64(with_generator(|r| r.random()))
}

/// A new generator seeded from the current one (a model's own generator).
pub(crate) fn fork() -> Arc<Mutex<StdRng>> {
    Arc::new(Mutex::new(fresh()))
}

/// While alive, makes a model's generator the source of every random draw.
pub(crate) struct Active(Option<Arc<Mutex<StdRng>>>);

impl Drop for Active {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Make `generator` the source of every random draw until the returned guard is dropped.
pub(crate) fn activate(generator: &Arc<Mutex<StdRng>>) -> Active {
    Active(CURRENT.with(|c| c.borrow_mut().replace(generator.clone())))
}

/// Run `work` with `generator` as the source of every random draw.
pub(crate) fn using<T>(generator: &Arc<Mutex<StdRng>>, work: impl FnOnce() -> T) -> T {
    let _active = activate(generator);
    work()
}

/// `n` numbers drawn uniformly from `[low, high)`.
pub fn uniform(n: usize, low: f32, high: f32) -> Vec<f32> {
    with_generator(|rng| (0..n).map(|_| rng.random_range(low..high)).collect())
}

/// The smallest probability [`bernoulli`] draws with better than 0.1 % accuracy.
pub const SMALLEST_PROBABILITY: f64 = 1e-7;

/// `n` numbers that are 1 with probability `p` and 0 otherwise.
///
/// Dropout masks need one draw for every value of a feature map, so draws are cheap:
/// each uses 16 random bits, four draws per 64-bit random number. 16 bits give `p` to the
/// nearest 1/65,536; where that is off by more than 0.1 % (`p` or `1 − p` below about
/// 0.8 %), each draw uses 32 bits instead.
pub fn bernoulli(n: usize, p: f64) -> Vec<f32> {
    let p = p.clamp(0.0, 1.0);
    let coarse = p.min(1.0 - p) * 65536.0 >= 500.0 || p == 0.0 || p == 1.0;
    let mut draws = vec![0f32; n];
    with_generator(|rng| match coarse {
        true => fill_bernoulli::<16>(rng, &mut draws, p),
        false => fill_bernoulli::<32>(rng, &mut draws, p),
    });
    draws
}

/// `draws` set to 1 with probability `p`, each from `BITS` bits of a 64-bit random
/// number, from its lowest bits up. (Written into a buffer of a fixed number of draws
/// per random number, this loop runs at the generator's speed: dropout draws its masks
/// for the whole batch before the batch's pieces go to the cores.)
fn fill_bernoulli<const BITS: usize>(rng: &mut StdRng, draws: &mut [f32], p: f64) {
    let threshold = (p * (1u64 << BITS) as f64).round() as u64;
    let mask = (1u64 << BITS) - 1;
    for chunk in draws.chunks_mut(64 / BITS) {
        let random: u64 = rng.random();
        for (i, draw) in chunk.iter_mut().enumerate() {
            *draw = if (random >> (BITS * i)) & mask < threshold {
                1.0
            } else {
                0.0
            };
        }
    }
}

/// The numbers `0..n` in a random order.
pub fn permutation(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    with_generator(|rng| order.shuffle(rng));
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

    #[test]
    fn bernoulli_draws_have_the_length_and_rate_asked_for() {
        let _guard = crate::testing::seed_lock();
        set_seed(3);
        assert_eq!(bernoulli(7, 0.0), vec![0.0; 7]);
        assert_eq!(bernoulli(7, 1.0), vec![1.0; 7]);
        let draws = bernoulli(100_001, 0.3);
        assert_eq!(draws.len(), 100_001);
        let rate = draws.iter().sum::<f32>() / draws.len() as f32;
        assert!((rate - 0.3).abs() < 0.005, "{rate}");
    }

    #[test]
    fn a_model_generator_is_used_while_active_and_restored_after() {
        let _guard = crate::testing::seed_lock();
        set_seed(1);
        let generator = fork();
        let inside = using(&generator, || uniform(3, 0.0, 1.0));
        let outside = uniform(3, 0.0, 1.0);
        set_seed(1);
        let replay = fork();
        assert_eq!(inside, using(&replay, || uniform(3, 0.0, 1.0)));
        assert_eq!(
            outside,
            uniform(3, 0.0, 1.0),
            "the global sequence does not see the model's draws"
        );
    }
}
