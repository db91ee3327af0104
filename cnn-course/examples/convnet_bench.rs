//! Training speed of the seed convnet (COURSE.md chapter 4) with rmsprop, batch 64.
//!
//! ```text
//! cargo run --release --example convnet_bench -- --data ../shared/data/mnist --epochs 3
//! cargo run --release --example convnet_bench -- --epochs 2            # random data
//! ```
//! Prints where it trains, each epoch's time, then as its last line `train_samples_per_s=<median over epochs> test_acc=<value>`.

use cnn_course::datasets::load_mnist_dir;
use cnn_course::prelude::*;
use std::process::ExitCode;
use std::time::Instant;

fn seed_convnet() -> Result<Sequential> {
    let mut model = cnn_course::models::chollet_convnet()?;
    model.compile("rmsprop", "categorical_crossentropy", &["accuracy"])?;
    Ok(model)
}

fn run() -> std::result::Result<(f64, f64), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut data, mut epochs, mut batch) = (None, 3usize, 64usize);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data" => data = Some(value),
            "--epochs" => epochs = value.parse()?,
            "--batch-size" => batch = value.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    set_seed(0);
    let (x_train, y_train, x_test, y_test) = match data {
        Some(dir) => {
            let d = load_mnist_dir(dir)?;
            (
                d.x_train,
                to_categorical(&d.y_train, 10)?,
                d.x_test,
                to_categorical(&d.y_test, 10)?,
            )
        }
        None => {
            let noise = |n: usize| Array4::from_shape_vec((n, 28, 28, 1), cnn_course::rng::uniform(n * 784, 0.0, 1.0));
            let labels = |n: usize| to_categorical((0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>(), 10);
            (noise(8000)?, labels(8000)?, noise(2000)?, labels(2000)?)
        }
    };
    let samples = x_train.shape()[0];
    let mut model = seed_convnet()?;
    println!("training on the {}", model.device_description());
    let mut rates = Vec::new();
    for epoch in 1..=epochs {
        let started = Instant::now();
        model.fit(&x_train, &y_train, Fit::new().epochs(1).batch_size(batch).verbose(0))?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "epoch {epoch}: {seconds:.2} s, {:.0} samples/s",
            samples as f64 / seconds
        );
        rates.push(samples as f64 / seconds);
    }
    rates.sort_by(f64::total_cmp);
    let accuracy = model.evaluate(&x_test, &y_test)?.accuracy;
    Ok((rates[rates.len() / 2], accuracy))
}

fn main() -> ExitCode {
    match run() {
        Ok((rate, accuracy)) => {
            println!("train_samples_per_s={rate:.0} test_acc={accuracy:.4}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
