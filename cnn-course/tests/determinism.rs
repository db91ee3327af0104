//! The same seed gives bit-identical training on the CPU: initial weights, shuffling and
//! dropout masks all come from the crate's own generator. (Its own test binary: the seed
//! is global, and other tests running in parallel would draw from it.)

mod common;

use cnn_course::prelude::*;

/// Conv-Dropout-BatchNorm-MaxPool-Dense(3): every source of randomness and the one layer
/// whose pieces of a batch must meet, on `side × side` greyscale images.
fn conv_dropout_batch_norm(filters: usize, side: usize, rate: f64, optimizer: &str) -> Result<Sequential> {
    let mut model = Sequential::new();
    model.add(Conv2D::new(filters, 3).activation("relu").input_shape((side, side, 1)))?;
    model.add(Dropout::new(rate))?;
    model.add(BatchNormalization::new())?;
    model.add(MaxPool2D::new(2))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(3).activation("softmax"))?;
    model.compile(optimizer, "categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

fn run(seed: u64) -> Result<(Vec<f64>, Vec<f64>)> {
    set_seed(seed);
    let mut model = conv_dropout_batch_norm(4, 8, 0.3, "rmsprop")?;
    let (x, y, _) = common::blobs(60, 11);
    let history = model.fit(
        &x,
        &y,
        Fit::new().epochs(3).batch_size(8).validation_split(0.2).verbose(0),
    )?;
    Ok((history.loss, history.val_loss))
}

/// The tests of this file each set the global seed: one at a time.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn the_same_seed_gives_bit_identical_losses() -> Result<()> {
    let _one = one_at_a_time();
    let first = run(42)?;
    let second = run(42)?;
    assert_eq!(first, second);
    let other = run(43)?;
    assert_ne!(first.0, other.0);
    Ok(())
}

#[test]
fn set_seed_may_come_after_sequential_new() -> Result<()> {
    let _one = one_at_a_time();
    let weights = |seed_first: bool| -> Result<Vec<ArrayD<f32>>> {
        if seed_first {
            set_seed(42);
        }
        let mut model = Sequential::new();
        if !seed_first {
            set_seed(42);
        }
        model.add(Dense::new(3).input_shape(4))?;
        model.layers()[0].get_weights()
    };
    assert_eq!(weights(true)?, weights(false)?);
    Ok(())
}

/// Losses of a model large enough for its batches to be split over threads (above the
/// engine's multiply-add threshold, 500,000 a batch), trained on `threads` threads.
fn losses_on(threads: usize) -> Result<Vec<f64>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        set_seed(9);
        let mut model = conv_dropout_batch_norm(16, 28, 0.2, "adam")?;
        let x = Array4::from_shape_fn((96, 28, 28, 1), |(n, r, c, _)| ((n * 7 + r * 3 + c) % 11) as f32 / 10.0);
        let y = to_categorical(Array1::from_shape_fn(96, |n| n % 3), 3)?;
        Ok(model.fit(&x, &y, Fit::new().epochs(2).batch_size(32).verbose(0))?.loss)
    })
}

#[test]
fn losses_do_not_depend_on_the_number_of_threads() -> Result<()> {
    let _one = one_at_a_time();
    let one = losses_on(1)?;
    assert_eq!(one, losses_on(3)?);
    assert_eq!(one, losses_on(4)?);
    Ok(())
}

/// A model large enough to train on the pool's threads, trained from a thread outside the
/// pool (as a notebook does): its dropout masks still come from the model's own generator,
/// so draws from the crate's generator between building and training change nothing.
#[test]
fn dropout_on_the_pools_threads_draws_from_the_models_generator() -> Result<()> {
    let _one = one_at_a_time();
    let x = Array4::from_shape_fn((64, 28, 28, 1), |(n, r, c, _)| ((n * 5 + r * 3 + c) % 13) as f32 / 12.0);
    let y = to_categorical(Array1::from_shape_fn(64, |n| n % 3), 3)?;
    let losses = |draw_between: bool| -> Result<Vec<f64>> {
        set_seed(5);
        let mut model = conv_dropout_batch_norm(16, 28, 0.5, "sgd")?;
        if draw_between {
            cnn_course::rng::uniform(1000, 0.0, 1.0);
        }
        Ok(model.fit(&x, &y, Fit::new().epochs(2).batch_size(32).verbose(0))?.loss)
    };
    assert_eq!(losses(false)?, losses(true)?);
    Ok(())
}
