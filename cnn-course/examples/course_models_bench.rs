//! Training speed of the models learners train in chapters 2–6 (COURSE.md), on the
//! shipped clothing images (28×28×1, 3 classes; padded and tinted to 32×32×3 for the
//! chapter 6 models), at the batch sizes the chapters use.
//!
//! ```text
//! cargo run --release --example course_models_bench
//! ```
//! Prints one line per model and batch size: samples/s (median of 5 runs of at least 0.4 s
//! each, so that small models are timed over many epochs), and
//! for the batch-norm models the ratio to the same model without batch norm. Only the
//! public API is used, so the same file measures any version of the crate. An argument
//! keeps the models whose name contains it (`course_models_bench seed`).

use cnn_course::layers::LayerSpec;
use cnn_course::prelude::*;
use std::process::ExitCode;
use std::time::Instant;

type Build = fn() -> Result<Sequential>;

fn model(layers: Vec<LayerSpec>) -> Result<Sequential> {
    let mut model = Sequential::new();
    for layer in layers {
        model.add(layer)?;
    }
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

fn input() -> (usize, usize, usize) {
    (28, 28, 1)
}

fn dense() -> Result<Sequential> {
    model(vec![
        Flatten::new().input_shape(input()),
        Dense::new(10).activation("relu").into(),
        Dense::new(10).activation("relu").into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

fn one_conv() -> Result<Sequential> {
    model(vec![
        Conv2D::new(10, 3).activation("relu").input_shape(input()),
        Flatten::new().into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

/// Conv(15,2)-Conv(5,2)-Dense, with dropout and/or batch norm between the convolutions.
fn two_convs_with(dropout: bool, batch_norm: bool) -> Result<Sequential> {
    let mut layers: Vec<LayerSpec> = vec![Conv2D::new(15, 2).activation("relu").input_shape(input())];
    if dropout {
        layers.push(Dropout::new(0.2).into());
    }
    if batch_norm {
        layers.push(BatchNormalization::new().into());
    }
    layers.push(Conv2D::new(5, 2).activation("relu").into());
    layers.push(Flatten::new().into());
    layers.push(Dense::new(3).activation("softmax").into());
    model(layers)
}

fn two_convs() -> Result<Sequential> {
    two_convs_with(false, false)
}

fn with_dropout() -> Result<Sequential> {
    two_convs_with(true, false)
}

fn with_batch_norm() -> Result<Sequential> {
    two_convs_with(false, true)
}

fn with_both() -> Result<Sequential> {
    two_convs_with(true, true)
}

fn pooling() -> Result<Sequential> {
    model(vec![
        Conv2D::new(5, 3).activation("relu").input_shape(input()),
        MaxPool2D::new(2).into(),
        Conv2D::new(15, 3).activation("relu").into(),
        MaxPool2D::new(2).into(),
        Flatten::new().into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

/// Chapter 5's four curves: Conv(16,3)-Pool-Dense, with or without batch norm after the
/// convolution (a cheap convolution, so batch norm's share of the time is large).
fn curves_with(batch_norm: bool) -> Result<Sequential> {
    let mut layers: Vec<LayerSpec> = vec![Conv2D::new(16, 3).activation("relu").input_shape(input())];
    if batch_norm {
        layers.push(BatchNormalization::new().into());
    }
    layers.push(MaxPool2D::new(2).into());
    layers.push(Flatten::new().into());
    layers.push(Dense::new(3).activation("softmax").into());
    model(layers)
}

fn curves() -> Result<Sequential> {
    curves_with(false)
}

fn curves_batch_norm() -> Result<Sequential> {
    curves_with(true)
}

fn seed_convnet() -> Result<Sequential> {
    model(vec![
        Conv2D::new(32, 3).activation("relu").input_shape(input()),
        MaxPool2D::new(2).into(),
        Conv2D::new(64, 3).activation("relu").into(),
        MaxPool2D::new(2).into(),
        Conv2D::new(64, 3).activation("relu").into(),
        Flatten::new().into(),
        Dense::new(64).activation("relu").into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

fn seed_convnet_batch_norm() -> Result<Sequential> {
    model(vec![
        Conv2D::new(32, 3).activation("relu").input_shape(input()),
        BatchNormalization::new().into(),
        MaxPool2D::new(2).into(),
        Conv2D::new(64, 3).activation("relu").into(),
        BatchNormalization::new().into(),
        MaxPool2D::new(2).into(),
        Conv2D::new(64, 3).activation("relu").into(),
        Flatten::new().into(),
        Dense::new(64).activation("relu").into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

fn colour_mlp() -> Result<Sequential> {
    model(vec![
        Flatten::new().input_shape((32, 32, 3)),
        Dense::new(200).activation("relu").into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

fn colour_cnn() -> Result<Sequential> {
    model(vec![
        Conv2D::new(16, 2)
            .padding("same")
            .activation("relu")
            .input_shape((32, 32, 3)),
        MaxPool2D::new(2).into(),
        Conv2D::new(32, 2).padding("same").activation("relu").into(),
        MaxPool2D::new(2).into(),
        Conv2D::new(64, 2).padding("same").activation("relu").into(),
        MaxPool2D::new(2).into(),
        Flatten::new().into(),
        Dense::new(500).activation("relu").into(),
        Dense::new(3).activation("softmax").into(),
    ])
}

/// Median samples/s over 5 runs of at least 0.4 s each (after one warm-up epoch).
fn speed(build: Build, x: &Array4<f32>, y: &Array2<f32>, batch: usize) -> Result<f64> {
    set_seed(0);
    let mut model = build()?;
    let started = Instant::now();
    model.fit(x, y, Fit::new().epochs(1).batch_size(batch).verbose(0))?;
    let epochs = (0.4 / started.elapsed().as_secs_f64()).ceil().max(1.0) as usize;
    let mut rates = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        model.fit(x, y, Fit::new().epochs(epochs).batch_size(batch).verbose(0))?;
        rates.push((epochs * x.shape()[0]) as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[2])
}

/// The clothing images padded to 32×32 and tinted, one colour per class.
fn colour(x: &Array4<f32>, labels: &Array1<u8>) -> Array4<f32> {
    let tints = [[1.0, 0.4, 0.2], [0.3, 1.0, 0.5], [0.4, 0.5, 1.0]];
    let mut out = Array4::<f32>::zeros((x.shape()[0], 32, 32, 3));
    for (i, label) in labels.iter().enumerate() {
        for r in 0..28 {
            for c in 0..28 {
                for ch in 0..3 {
                    out[[i, r + 2, c + 2, ch]] = x[[i, r, c, 0]] * tints[*label as usize % 3][ch];
                }
            }
        }
    }
    out
}

fn run() -> Result<()> {
    let data = clothing()?;
    let y = to_categorical(&data.y_train, 3)?;
    let x_colour = colour(&data.x_train, &data.y_train);
    let models: [(&str, &str, Build, &[usize], bool); 14] = [
        ("2", "Dense 784-10-10-3", dense, &[10, 32], false),
        ("3", "Conv(10,3)-Dense(3)", one_conv, &[10, 32], false),
        ("4", "Conv(15,2)-Conv(5,2)-Dense(3)", two_convs, &[10, 32], false),
        ("4", "Conv-Pool-Conv-Pool-Dense(3)", pooling, &[10, 32], false),
        ("4", "seed convnet (Chollet)", seed_convnet, &[32, 64], false),
        ("5", "Conv-Dropout-Conv-Dense(3)", with_dropout, &[10, 32], false),
        ("5", "Conv-BatchNorm-Conv-Dense(3)", with_batch_norm, &[10, 32], false),
        ("5", "Conv-Dropout-BatchNorm-Conv-Dense(3)", with_both, &[10, 32], false),
        ("5", "Conv(16,3)-Pool-Dense(3)", curves, &[10, 32], false),
        (
            "5",
            "Conv(16,3)-BatchNorm-Pool-Dense(3)",
            curves_batch_norm,
            &[10, 32],
            false,
        ),
        (
            "5",
            "seed convnet with 2 BatchNorm",
            seed_convnet_batch_norm,
            &[32, 64],
            false,
        ),
        ("6", "MLP 3072-200-3 (32×32×3)", colour_mlp, &[32], true),
        ("6", "CNN 16-32-64 + Dense(500) (32×32×3)", colour_cnn, &[32], true),
        ("6", "CNN 16-32-64 + Dense(500) (32×32×3)", colour_cnn, &[64], true),
    ];
    println!("chapter | model | batch | samples/s");
    let filter = std::env::args().nth(1).unwrap_or_default();
    let mut measured: Vec<(&str, usize, f64)> = Vec::new();
    for (chapter, name, build, batches, colour_input) in models {
        if !name.contains(filter.as_str()) {
            continue;
        }
        for &batch in batches {
            let x = if colour_input { &x_colour } else { &data.x_train };
            let rate = speed(build, x, &y, batch)?;
            let without = match name {
                "Conv-BatchNorm-Conv-Dense(3)" => Some("Conv(15,2)-Conv(5,2)-Dense(3)"),
                "Conv(16,3)-BatchNorm-Pool-Dense(3)" => Some("Conv(16,3)-Pool-Dense(3)"),
                "seed convnet with 2 BatchNorm" => Some("seed convnet (Chollet)"),
                _ => None,
            };
            let ratio = without
                .and_then(|w| measured.iter().find(|(n, b, _)| *n == w && *b == batch))
                .map(|(w, _, r)| format!(" ({:.2}x slower than {w})", r / rate))
                .unwrap_or_default();
            println!("{chapter} | {name} | {batch} | {rate:.0}{ratio}");
            measured.push((name, batch, rate));
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
