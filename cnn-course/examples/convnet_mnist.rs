//! Chollet's MNIST convnet (COURSE.md chapter 4) trained on real MNIST files.
//!
//! ```text
//! cargo run --release --example convnet_mnist -- --data ../shared/data/mnist --epochs 3
//! ```
//! A 3-epoch run's test accuracy varies with the seed by about ±0.6 points, so by default
//! it trains 3 runs (seeds 0, 1, 2; `--runs N`, `--seed S` for the first seed) and prints
//! each run's accuracy, then `test_acc=<mean>` as its last line.

use cnn_course::datasets::load_mnist_dir;
use cnn_course::prelude::*;
use std::process::ExitCode;

struct Arguments {
    data: String,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    runs: u64,
}

fn arguments() -> std::result::Result<Arguments, String> {
    let mut args = std::env::args().skip(1);
    let (mut data, mut epochs, mut batch_size, mut seed, mut runs) = (None, 3, 64, 0, 3);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => data = Some(value()?),
            "--epochs" => epochs = value()?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--batch-size" => batch_size = value()?.parse().map_err(|e| format!("--batch-size: {e}"))?,
            "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--runs" => runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let data = data.ok_or("--data <dir with the MNIST files> is required")?;
    Ok(Arguments {
        data,
        epochs,
        batch_size,
        seed,
        runs: runs.max(1),
    })
}

fn run() -> std::result::Result<f64, Box<dyn std::error::Error>> {
    let args = arguments()?;
    let mnist = load_mnist_dir(&args.data)?;
    println!("train {:?}, test {:?}", mnist.x_train.shape(), mnist.x_test.shape());
    let y_train = to_categorical(&mnist.y_train, 10)?;
    let y_test = to_categorical(&mnist.y_test, 10)?;
    let mut accuracies = Vec::new();
    for seed in args.seed..args.seed + args.runs {
        let accuracy = train_once(&mnist, &y_train, &y_test, seed, args.epochs, args.batch_size)?;
        println!("seed {seed}: test accuracy {accuracy:.4}");
        accuracies.push(accuracy);
    }
    Ok(accuracies.iter().sum::<f64>() / accuracies.len() as f64)
}

fn train_once(
    mnist: &cnn_course::datasets::Dataset,
    y_train: &Array2<f32>,
    y_test: &Array2<f32>,
    seed: u64,
    epochs: usize,
    batch_size: usize,
) -> std::result::Result<f64, Box<dyn std::error::Error>> {
    set_seed(seed);
    let mut model = cnn_course::models::chollet_convnet()?;
    if seed == 0 {
        println!("{}", model.summary());
    }
    model.compile("rmsprop", "categorical_crossentropy", &["accuracy"])?;
    model.fit(
        &mnist.x_train,
        &y_train,
        Fit::new().epochs(epochs).batch_size(batch_size),
    )?;
    Ok(model.evaluate(&mnist.x_test, &y_test)?.accuracy)
}

fn main() -> ExitCode {
    match run() {
        Ok(accuracy) => {
            println!("test_acc={accuracy:.4}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
