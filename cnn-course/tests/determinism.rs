//! The same seed gives bit-identical training on the CPU: initial weights, shuffling and
//! dropout masks all come from the crate's own generator. (Its own test binary: the seed
//! is global, and other tests running in parallel would draw from it.)

mod common;

use cnn_course::prelude::*;

fn run(seed: u64) -> Result<(Vec<f64>, Vec<f64>)> {
    set_seed(seed);
    let mut model = Sequential::new();
    model.add(Conv2D::new(4, 3).activation("relu").input_shape((8, 8, 1)))?;
    model.add(Dropout::new(0.3))?;
    model.add(BatchNormalization::new())?;
    model.add(MaxPool2D::new(2))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(3).activation("softmax"))?;
    model.compile("rmsprop", "categorical_crossentropy", &["accuracy"])?;
    let (x, y, _) = common::blobs(60, 11);
    let history = model.fit(
        &x,
        &y,
        Fit::new().epochs(3).batch_size(8).validation_split(0.2).verbose(0),
    )?;
    Ok((history.loss, history.val_loss))
}

#[test]
fn the_same_seed_gives_bit_identical_losses() -> Result<()> {
    let first = run(42)?;
    let second = run(42)?;
    assert_eq!(first, second);
    let other = run(43)?;
    assert_ne!(first.0, other.0);
    Ok(())
}
