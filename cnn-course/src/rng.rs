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

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The generator: ChaCha with 12 rounds, the algorithm of rand's `Generator` (same seed, same
/// numbers), named so that a part of its stream can be drawn on another core
/// ([`bernoulli`]).
pub(crate) type Generator = rand_chacha::ChaCha12Rng;

/// Whether [`set_seed`] has been called — in a notebook, in this cell (each cell has its
/// own copy of the crate).
static SEED_SET: AtomicBool = AtomicBool::new(false);

fn global() -> MutexGuard<'static, Generator> {
    static GENERATOR: OnceLock<Mutex<Generator>> = OnceLock::new();
    GENERATOR
        .get_or_init(|| Mutex::new(Generator::from_os_rng()))
        .lock()
        // A panic elsewhere cannot leave a random generator in a broken state.
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

thread_local! {
    /// The generator of the model being built or trained, while it is.
    static CURRENT: RefCell<Option<Arc<Mutex<Generator>>>> = const { RefCell::new(None) };
}

/// Draw from the active model's generator, or the crate's when no model is active.
fn with_generator<T>(draw: impl FnOnce(&mut Generator) -> T) -> T {
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
    *global() = Generator::seed_from_u64(seed);
    SEED_SET.store(true, Ordering::SeqCst);
}

/// Whether [`set_seed`] has been called (in this copy of the crate).
pub(crate) fn seed_was_set() -> bool {
    SEED_SET.load(Ordering::SeqCst)
}

/// A new generator seeded from the current one.
pub(crate) fn fresh() -> Generator {
    Generator::seed_from_u64(with_generator(|r| r.random()))
}

/// A new generator seeded from the current one (a model's own generator).
pub(crate) fn fork() -> Arc<Mutex<Generator>> {
    Arc::new(Mutex::new(fresh()))
}

/// While alive, makes a model's generator the source of every random draw.
pub(crate) struct Active(Option<Arc<Mutex<Generator>>>);

impl Drop for Active {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Make `generator` the source of every random draw until the returned guard is dropped.
pub(crate) fn activate(generator: &Arc<Mutex<Generator>>) -> Active {
    Active(CURRENT.with(|c| c.borrow_mut().replace(generator.clone())))
}

/// Run `work` with `generator` as the source of every random draw.
pub(crate) fn using<T>(generator: &Arc<Mutex<Generator>>, work: impl FnOnce() -> T) -> T {
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
    scaled_bernoulli(n, p, 1.0)
}

/// `n` numbers that are `value` with probability `p` and 0 otherwise, drawn as
/// [`bernoulli`] draws them: a dropout mask, whose kept values are `1 / (1 − rate)`.
pub(crate) fn scaled_bernoulli(n: usize, p: f64, value: f32) -> Vec<f32> {
    let p = p.clamp(0.0, 1.0);
    let coarse = p.min(1.0 - p) * 65536.0 >= 500.0 || p == 0.0 || p == 1.0;
    let mut draws = vec![0f32; n];
    with_generator(|rng| match coarse {
        true => fill_bernoulli::<u16>(rng, &mut draws, (p, value)),
        false => fill_bernoulli::<u32>(rng, &mut draws, (p, value)),
    });
    draws
}

/// Draws per part of a long [`bernoulli`] run: a whole number of random numbers.
const PART: usize = 16_384;

/// `draws` set to `value` with probability `p`, each from one `Lane` (`u16` or `u32`) of a
/// 64-bit random number, from its lowest bits up, the numbers taken in the generator's
/// order. The random bytes are drawn 1,024 lanes at a time and compared in a loop the
/// compiler turns into AVX2 instructions: drawing one number per step and comparing its
/// lanes one by one took 3.4 ns a draw on a Zen 2 core, this takes 1.9 ns, most of it
/// ChaCha's.
///
/// Dropout draws a mask for a whole batch before the batch's pieces go to the cores, so
/// long runs are cut into parts drawn side by side: each part by a copy of the generator
/// moved to where that part's numbers lie in its stream (a 64-bit number is two of
/// ChaCha's 32-bit words). The draws are the ones a single loop would make.
fn fill_bernoulli<Lane>(rng: &mut Generator, draws: &mut [f32], (p, value): (f64, f32))
where
    Lane: Copy + Default + Into<i64>,
    [Lane]: rand::Fill,
{
    let bits = 8 * std::mem::size_of::<Lane>();
    let per_number = 64 / bits;
    let threshold = (p * (1u64 << bits) as f64).round() as i64;
    let fill = |rng: &mut Generator, part: &mut [f32]| {
        let mut lanes = [Lane::default(); 1024];
        for block in part.chunks_mut(lanes.len()) {
            rng.fill(&mut lanes[..block.len().next_multiple_of(per_number)]);
            let lanes = &lanes;
            crate::backend::vectorized(
                #[inline(always)]
                move || {
                    for (draw, &lane) in block.iter_mut().zip(lanes) {
                        // All ones where the lane is below the threshold: `value` or +0,
                        // without a branch (a branch on a random draw is mispredicted often).
                        let kept = ((lane.into() - threshold) >> 63) as u32;
                        *draw = f32::from_bits(value.to_bits() & kept);
                    }
                },
            )
        }
    };
    if draws.len() <= PART {
        return fill(rng, draws);
    }
    let start = rng.get_word_pos();
    let words_per_part = (2 * PART / per_number) as u128;
    draws.par_chunks_mut(PART).enumerate().for_each(|(k, part)| {
        let mut copy = rng.clone();
        copy.set_word_pos(start + k as u128 * words_per_part);
        fill(&mut copy, part);
    });
    rng.set_word_pos(start + 2 * draws.len().div_ceil(per_number) as u128);
}

/// Where a generator stands, as text: its seed, stream and position in the stream
/// (`seed:stream:position`, the seed in hex). A training backup saves it, so that a resumed
/// training shuffles and drops out as the interrupted one would have ([`position_from_text`]).
pub(crate) fn position_text(generator: &Generator) -> String {
    let seed: String = generator.get_seed().iter().map(|b| format!("{b:02x}")).collect();
    format!("{seed}:{}:{}", generator.get_stream(), generator.get_word_pos())
}

/// The generator [`position_text`] describes, or `None` when the text is not one it wrote.
pub(crate) fn position_from_text(text: &str) -> Option<Generator> {
    let mut parts = text.split(':');
    let (seed, stream, position) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || seed.len() != 64 || !seed.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(seed.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    let mut generator = Generator::from_seed(bytes);
    generator.set_stream(stream.parse().ok()?);
    generator.set_word_pos(position.parse().ok()?);
    Some(generator)
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

    /// A generator of its own, which no other test reaches.
    fn private(seed: u64) -> Arc<Mutex<Generator>> {
        Arc::new(Mutex::new(Generator::seed_from_u64(seed)))
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        // `set_seed` puts a generator of that seed in place. Tests running in parallel may
        // draw from it at once, which moves it along its stream but keeps its key.
        let _guard = crate::testing::seed_lock();
        set_seed(7);
        assert_eq!(global().get_seed(), Generator::seed_from_u64(7).get_seed());
        // The same generator gives the same numbers.
        let draws = |seed| {
            using(&private(seed), || {
                (uniform(5, -1.0, 1.0), permutation(10), bernoulli(8, 0.5))
            })
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7).0, draws(8).0);
    }

    /// One draw after another, as `bernoulli` would make them on one core.
    fn one_loop(rng: &mut Generator, n: usize, p: f64) -> Vec<f32> {
        let (bits, per_number) = if p.min(1.0 - p) * 65536.0 >= 500.0 {
            (16, 4)
        } else {
            (32, 2)
        };
        let threshold = (p * (1u64 << bits) as f64).round() as u64;
        let mut draws = Vec::new();
        while draws.len() < n {
            let random: u64 = rng.random();
            for i in 0..per_number.min(n - draws.len()) {
                let draw = (random >> (bits * i)) & ((1u64 << bits) - 1);
                draws.push(if draw < threshold { 1.0 } else { 0.0 });
            }
        }
        draws
    }

    #[test]
    fn long_draws_made_side_by_side_are_those_of_one_loop() {
        for p in [0.5, 0.8, 0.001] {
            for n in [PART - 1, PART, PART + 1, 7 * PART + 3] {
                // Also from a generator that stands between two 64-bit numbers.
                for words_before in [0, 1, 5] {
                    let mut reference = Generator::seed_from_u64(5);
                    (0..words_before).for_each(|_| {
                        reference.random::<u32>();
                    });
                    let generator = Arc::new(Mutex::new(reference.clone()));
                    let ours = using(&generator, || (bernoulli(n, p), uniform(3, 0.0, 1.0)));
                    let theirs = (
                        one_loop(&mut reference, n, p),
                        (0..3).map(|_| reference.random_range(0.0..1.0)).collect(),
                    );
                    assert_eq!(ours, theirs, "p {p}, {n} draws, {words_before} words before");
                }
            }
        }
    }

    #[test]
    fn a_generator_rebuilt_from_its_position_text_goes_on_with_the_same_numbers() {
        let mut generator = Generator::seed_from_u64(11);
        // Stand between two 64-bit numbers, where ChaCha keeps a half-used block.
        let _: (u64, u32) = (generator.random(), generator.random());
        let mut copy = position_from_text(&position_text(&generator)).unwrap();
        assert!((0..100).all(|_| generator.random::<u64>() == copy.random::<u64>()));
        for broken in [
            "",
            "00:0:0",
            &format!("{}:x:0", "0".repeat(64)),
            &format!("{}:0:0:0", "é".repeat(32)),
        ] {
            assert!(position_from_text(broken).is_none(), "{broken}");
        }
    }

    #[test]
    fn the_generator_is_rands_standard_one() {
        let (mut standard, mut ours) = (rand::rngs::StdRng::seed_from_u64(9), Generator::seed_from_u64(9));
        assert!((0..1000).all(|_| standard.random::<u64>() == ours.random::<u64>()));
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
        // `outer` stands in for the global generator, which tests running in parallel share.
        let (outer, model) = (private(1), private(2));
        let (inside, outside) = using(&outer, || {
            (using(&model, || uniform(3, 0.0, 1.0)), uniform(3, 0.0, 1.0))
        });
        assert_eq!(inside, using(&private(2), || uniform(3, 0.0, 1.0)));
        assert_eq!(
            outside,
            using(&private(1), || uniform(3, 0.0, 1.0)),
            "the outer sequence does not see the model's draws"
        );
    }
}
