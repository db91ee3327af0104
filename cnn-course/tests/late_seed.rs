//! A model built before any `set_seed` (in a notebook: in an earlier cell, without one)
//! and trained after `set_seed` shuffles and drops out by that seed. Its own test binary:
//! no other test may have set the seed before the models below are built.

mod common;

use cnn_course::prelude::*;

fn unseeded_model() -> Result<Sequential> {
    let mut model = Sequential::new();
    model.add(Dense::new(8).activation("relu").input_shape(8 * 8))?;
    model.add(Dropout::new(0.3))?;
    model.add(Dense::new(3).activation("softmax"))?;
    model.compile("sgd", "categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

#[test]
fn set_seed_before_fit_makes_an_unseeded_models_training_repeatable() -> Result<()> {
    let (x, y, _) = common::blobs(60, 11);
    let x = x.into_shape_with_order((60, 64))?;
    let first = unseeded_model()?;
    let second = unseeded_model()?;
    // The same starting weights, drawn without a seed.
    for (from, to) in first.layers().iter().zip(second.layers()) {
        to.set_weights(&from.get_weights()?)?;
    }
    let train = |mut model: Sequential| -> Result<Vec<f64>> {
        set_seed(5);
        Ok(model.fit(&x, &y, Fit::new().epochs(3).batch_size(8).verbose(0))?.loss)
    };
    assert_eq!(train(first)?, train(second)?);
    Ok(())
}
