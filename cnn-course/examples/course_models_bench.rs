//! Training speed of the small models learners train in chapters 2–5 (COURSE.md), at
//! batch sizes 10 and 32, on the shipped clothing images (900 training images, 28×28×1,
//! 3 classes), with the hand-written CPU step and with candle's automatic differentiation
//! (`CNN_COURSE_CPU_STEP=off`).
//!
//! ```text
//! cargo run --release --example course_models_bench
//! ```
//! Prints one line per model and batch size: samples/s of both paths (median of 3 epochs)
//! and their ratio.

use cnn_course::prelude::*;
use std::process::ExitCode;
use std::time::Instant;

type Build = fn() -> Result<Sequential>;

fn model(layers: Vec<cnn_course::layers::LayerSpec>) -> Result<Sequential> {
    let mut model = Sequential::new();
    for layer in layers {
        model.add(layer)?;
    }
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

fn dense() -> Result<Sequential> {
    model(vec![
        Flatten::new().input_shape((28, 28, 1)),
        Dense::new(10).activation("relu").into(),
        Dense::new(10).activation("relu").into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

fn one_conv() -> Result<Sequential> {
    model(vec![
        Conv2D::new(10, 3).activation("relu").input_shape((28, 28, 1)),
        Flatten::new().into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

fn two_convs() -> Result<Sequential> {
    model(vec![
        Conv2D::new(15, 2).activation("relu").input_shape((28, 28, 1)),
        Conv2D::new(5, 2).activation("relu").into(),
        Flatten::new().into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

fn pooling() -> Result<Sequential> {
    model(vec![
        Conv2D::new(5, 3).activation("relu").input_shape((28, 28, 1)),
        MaxPool2D::new(2).into(),
        Conv2D::new(15, 3).activation("relu").into(),
        MaxPool2D::new(2).into(),
        Flatten::new().into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

fn dropout() -> Result<Sequential> {
    model(vec![
        Conv2D::new(15, 2).activation("relu").input_shape((28, 28, 1)),
        Dropout::new(0.2).into(),
        Conv2D::new(5, 2).activation("relu").into(),
        Flatten::new().into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

fn batch_norm() -> Result<Sequential> {
    model(vec![
        Conv2D::new(15, 2).activation("relu").input_shape((28, 28, 1)),
        BatchNormalization::new().into(),
        Conv2D::new(5, 2).activation("relu").into(),
        Flatten::new().into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

/// Median samples/s over 3 one-epoch runs.
fn speed(build: Build, data: &Dataset, batch: usize) -> Result<f64> {
    set_seed(0);
    let mut model = build()?;
    let y = to_categorical(&data.y_train, 3)?;
    let mut rates = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        model.fit(&data.x_train, &y, Fit::new().epochs(1).batch_size(batch).verbose(0))?;
        rates.push(data.x_train.shape()[0] as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[1])
}

fn run() -> Result<()> {
    let data = clothing()?;
    let models: [(&str, &str, Build); 6] = [
        ("2", "Dense 10-10-3", dense),
        ("3", "Conv(10,3)-Dense(3)", one_conv),
        ("4", "Conv(15,2)-Conv(5,2)-Dense(3)", two_convs),
        ("4", "Conv-Pool-Conv-Pool-Dense(3)", pooling),
        ("5", "Conv-Dropout(0.2)-Conv-Dense(3)", dropout),
        ("5", "Conv-BatchNorm-Conv-Dense(3) [candle only]", batch_norm),
    ];
    println!("chapter | model | batch | hand-written CPU step | candle autodiff | ratio");
    for (chapter, name, build) in models {
        for batch in [10, 32] {
            std::env::remove_var("CNN_COURSE_CPU_STEP");
            let ours = speed(build, &data, batch)?;
            std::env::set_var("CNN_COURSE_CPU_STEP", "off");
            let candle = speed(build, &data, batch)?;
            std::env::remove_var("CNN_COURSE_CPU_STEP");
            println!(
                "{chapter} | {name} | {batch} | {ours:.0} samples/s | {candle:.0} samples/s | {:.1}x",
                ours / candle
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
