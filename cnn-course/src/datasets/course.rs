//! The course's datasets, real data first. Each loader uses, in order: the learner's own
//! copy (`$CNN_COURSE_DATA`), the cache of verified downloads, a download into that cache
//! — and when none of these works (offline), the data the course ships in `data/`, at
//! once and saying so in one line:
//!
//! | loader | real data | shipped data |
//! |---|---|---|
//! | [`clothing`] | Fashion-MNIST's T-shirt/top, Dress and Sneaker | generated clothing in its style (`data/generator`) |
//! | [`digits`] | MNIST, 60,000 + 10,000 | 10,000 real MNIST digits (its test set), 8,000 + 2,000 |
//! | [`small_colour_images`] | CIFAR-10 | the shipped digits in colour, 32 × 32 × 3 |
//!
//! [`generated_clothing`] draws clothing on the fly in a chosen [`ClothingStyle`] (shifted,
//! rotated, noisy) for experiments.

use super::download::{fetch, RemoteFile};
use super::idx::decode_idx;
use super::locations::Places;
use super::mnist::{fashion_mnist_files, images, labels, load_mnist_dir, local_copy, mnist_files};
use super::Dataset;
use crate::model::summary::thousands;
use crate::{bail, Result};
use ndarray::{Array1, Array4, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

pub use course_data::clothing::Style as ClothingStyle;

/// The clothing classes, in label order.
pub const CLOTHING_CLASSES: [&str; 3] = course_data::clothing::CLASSES;

macro_rules! shipped {
    ($folder:literal) => {
        [
            include_bytes!(concat!("../../../data/", $folder, "/train-images-idx3-ubyte.gz")).as_slice(),
            include_bytes!(concat!("../../../data/", $folder, "/train-labels-idx1-ubyte.gz")).as_slice(),
            include_bytes!(concat!("../../../data/", $folder, "/t10k-images-idx3-ubyte.gz")).as_slice(),
            include_bytes!(concat!("../../../data/", $folder, "/t10k-labels-idx1-ubyte.gz")).as_slice(),
        ]
    };
}

fn shipped(folder: &str, files: [&[u8]; 4], classes: &[&str], source: &str) -> Result<Dataset> {
    let name = |i: usize| Path::new("data").join(folder).join(super::mnist::FILES[i]);
    let x_train = images(&name(0), decode_idx(files[0], &name(0))?)?;
    let y_train = labels(
        &name(1),
        decode_idx(files[1], &name(1))?,
        x_train.shape()[0],
        classes.len(),
    )?;
    let x_test = images(&name(2), decode_idx(files[2], &name(2))?)?;
    let y_test = labels(
        &name(3),
        decode_idx(files[3], &name(3))?,
        x_test.shape()[0],
        classes.len(),
    )?;
    Ok(Dataset {
        x_train,
        y_train,
        x_test,
        y_test,
        class_names: classes.iter().map(|s| s.to_string()).collect(),
        source: source.to_string(),
        ..Default::default()
    })
}

/// Keep only the samples of `keep` (old class numbers), renumbered 0, 1, 2, …
fn select(x: &Array4<f32>, y: &Array1<u8>, keep: &[u8]) -> (Array4<f32>, Array1<u8>) {
    let rows: Vec<usize> = (0..y.len()).filter(|&i| keep.contains(&y[i])).collect();
    let labels = rows
        .iter()
        .map(|&i| keep.iter().position(|&k| k == y[i]).unwrap_or(0) as u8)
        .collect();
    (x.select(Axis(0), &rows), labels)
}

fn report(what: &str, data: &Dataset) {
    println!(
        "{what}: {} — {} training and {} test images, classes {:?}",
        data.source,
        data.y_train.len(),
        data.y_test.len(),
        data.class_names
    );
}

/// Why a download failed, in a few words: "no connection" when offline.
fn short_reason(error: &crate::Error) -> String {
    let text = error.to_string();
    match text.contains("you seem to be offline") {
        true => "no connection".to_string(),
        false => text.lines().next().unwrap_or_default().chars().take(160).collect(),
    }
}

/// The folder of a real dataset: a local copy, or a fresh download into the cache (which
/// prints its progress). `None` when it cannot be had, after saying why in one line.
fn real_copy(what: &str, name: &str, files: &[RemoteFile], places: &Places) -> Result<Option<PathBuf>> {
    if let Some(dir) = local_copy(name, files, places)? {
        return Ok(Some(dir));
    }
    if !places.download {
        return Ok(None);
    }
    let dir = places.cache.join(name);
    for file in files {
        if let Err(e) = fetch(file, &dir) {
            println!(
                "{what}: {name} could not be downloaded ({}); the course's shipped data follows",
                short_reason(&e)
            );
            return Ok(None);
        }
    }
    Ok(Some(dir))
}

/// [`clothing`] from the given places, downloading `files` (Fashion-MNIST's) when allowed.
pub fn clothing_from(places: &Places, files: &[RemoteFile]) -> Result<Dataset> {
    match real_copy("clothing", "fashion-mnist", files, places)? {
        Some(dir) => {
            let all = load_mnist_dir(&dir)?;
            // T-shirt/top, Dress, Sneaker.
            let keep = [0, 3, 7];
            let (x_train, y_train) = select(&all.x_train, &all.y_train, &keep);
            let (x_test, y_test) = select(&all.x_test, &all.y_test, &keep);
            Ok(Dataset {
                x_train,
                y_train,
                x_test,
                y_test,
                class_names: CLOTHING_CLASSES.iter().map(|s| s.to_string()).collect(),
                source: format!(
                    "real Fashion-MNIST (T-shirt/top, Dress, Sneaker) from {}",
                    dir.display()
                ),
                ..Default::default()
            })
        }
        None => shipped(
            "clothing",
            shipped!("clothing"),
            &CLOTHING_CLASSES,
            "the course's generated clothing (drawn by data/generator in Fashion-MNIST's style)",
        ),
    }
}

/// [`digits`] from the given places, downloading `files` (MNIST's) when allowed.
pub fn digits_from(places: &Places, files: &[RemoteFile]) -> Result<Dataset> {
    match real_copy("digits", "mnist", files, places)? {
        Some(dir) => {
            let mut data = load_mnist_dir(&dir)?;
            data.source = format!("real MNIST from {}", dir.display());
            Ok(data)
        }
        None => shipped(
            "digits",
            shipped!("digits"),
            &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            "the course's shipped digits: 10,000 real MNIST digits (its test set, split 8,000 / 2,000)",
        ),
    }
}

/// Three kinds of clothing — t-shirt, dress, sneaker — as 28×28 greyscale images:
/// Fashion-MNIST (downloaded once when online), else the course's generated clothing.
pub fn clothing() -> Result<Dataset> {
    let data = clothing_from(&Places::from_env(), &fashion_mnist_files())?;
    report("clothing", &data);
    Ok(data)
}

/// Handwritten digits 0–9 as 28×28 greyscale images: MNIST (downloaded once when
/// online), else the 10,000 real MNIST digits the course ships.
pub fn digits() -> Result<Dataset> {
    let data = digits_from(&Places::from_env(), &mnist_files())?;
    report("digits", &data);
    Ok(data)
}

/// Fetch every real dataset the course uses (Fashion-MNIST, MNIST, CIFAR-10) into the
/// cache now, so that no notebook waits for a download later: `cargo xtask lab` calls it
/// once. Offline, it says so and the course runs on its shipped data.
pub fn prefetch() -> Result<()> {
    clothing()?;
    digits()?;
    small_colour_images(0, 0)?;
    Ok(())
}

/// Colour images of 10 classes, 32 × 32 × 3, for chapter 6: the first `train` / `test`
/// images of CIFAR-10 (downloaded once when online, 163 MB), else the course's digits in
/// colour: each shrunk to 20 × 20 and drawn at a random place of the frame, in a random
/// colour on a background of another.
pub fn small_colour_images(train: usize, test: usize) -> Result<Dataset> {
    let places = Places::from_env();
    let local = places
        .user
        .iter()
        .map(|u| u.join(super::cifar::FOLDER))
        .find(|d| d.is_dir());
    // Offline, the colour digits come from the shipped digits: no second download attempt.
    let shipped_only = Places {
        download: false,
        ..places.clone()
    };
    let data = match local {
        Some(dir) => super::cifar::load_cifar10_dir(&dir)?.take(train, test),
        None => match places.download || places.cache.join(super::cifar::FOLDER).is_dir() {
            true => match super::cifar::load_or_download(&super::cifar::cifar10_archive(), &places) {
                Ok(data) => data.take(train, test),
                Err(e) => {
                    println!(
                        "colour images: CIFAR-10 could not be downloaded ({}); the course's colour digits follow",
                        short_reason(&e)
                    );
                    colour_digits(&digits_from(&shipped_only, &mnist_files())?.take(train, test))
                }
            },
            false => colour_digits(&digits_from(&shipped_only, &mnist_files())?.take(train, test)),
        },
    };
    report("colour images", &data);
    Ok(data)
}

/// Greyscale 28×28 digits as 32×32×3 colour images (see [`small_colour_images`]).
fn colour_digits(grey: &Dataset) -> Dataset {
    let paint = |x: &Array4<f32>, seed: u64| {
        let n = x.shape()[0];
        let mut out = Array4::<f32>::zeros((n, 32, 32, 3));
        let mut rng = StdRng::seed_from_u64(seed);
        for i in 0..n {
            let hue: f32 = rng.random_range(0.0..1.0);
            let ink = hsv(hue, rng.random_range(0.5..1.0), rng.random_range(0.7..1.0));
            let paper = hsv(
                (hue + rng.random_range(0.25..0.75)) % 1.0,
                rng.random_range(0.2..0.9),
                rng.random_range(0.05..0.5),
            );
            let (top, left) = (rng.random_range(0..=12), rng.random_range(0..=12));
            for r in 0..32 {
                for c in 0..32 {
                    // Bilinear sample of the digit shrunk from 28×28 to 20×20 at (top, left).
                    let v = match (r >= top && r < top + 20, c >= left && c < left + 20) {
                        (true, true) => sample(x, i, (r - top) as f32 * 1.4 + 0.2, (c - left) as f32 * 1.4 + 0.2),
                        _ => 0.0,
                    };
                    for ch in 0..3 {
                        out[[i, r, c, ch]] = v * ink[ch] + (1.0 - v) * paper[ch];
                    }
                }
            }
        }
        out
    };
    Dataset {
        x_train: paint(&grey.x_train, 61),
        y_train: grey.y_train.clone(),
        x_test: paint(&grey.x_test, 62),
        y_test: grey.y_test.clone(),
        class_names: grey.class_names.clone(),
        source: "the course's colour digits (the shipped real MNIST digits, shrunk, coloured and placed at random)"
            .into(),
        ..Default::default()
    }
}

/// The value of image `i` of a `(n, 28, 28, 1)` batch at a fractional position.
fn sample(x: &Array4<f32>, i: usize, r: f32, c: f32) -> f32 {
    let (r0, c0) = (r.floor() as usize, c.floor() as usize);
    let (fr, fc) = (r - r0 as f32, c - c0 as f32);
    let at = |r: usize, c: usize| x[[i, r.min(27), c.min(27), 0]];
    (1.0 - fr) * ((1.0 - fc) * at(r0, c0) + fc * at(r0, c0 + 1))
        + fr * ((1.0 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1))
}

/// A colour from hue, saturation and value, all 0..1.
fn hsv(h: f32, s: f32, v: f32) -> [f32; 3] {
    let k = |n: f32| (n + h * 6.0) % 6.0;
    let f = |n: f32| v - v * s * k(n).min(4.0 - k(n)).clamp(0.0, 1.0);
    [f(5.0), f(3.0), f(1.0)]
}

/// `train` training and `test` test images of clothing drawn now in `style`, from `seed`
/// (the same seed gives the same images): the course's generator as a laboratory.
///
/// ```
/// use cnn_course::datasets::{generated_clothing, ClothingStyle};
/// let shifted = generated_clothing(0, 30, ClothingStyle { shift: 6.0, ..Default::default() }, 1)?;
/// assert_eq!(shifted.x_test.shape(), &[30, 28, 28, 1]);
/// # Ok::<(), cnn_course::Error>(())
/// ```
///
/// More images than memory holds are refused before any is drawn.
pub fn generated_clothing(train: usize, test: usize, style: ClothingStyle, seed: u64) -> Result<Dataset> {
    // 28 × 28 f32 values per image for the array, and as many again for the generator's
    // pixels (bytes, so this counts them generously).
    let values = train.checked_add(test).and_then(|n| n.checked_mul(2 * 28 * 28));
    if let Some(available) = crate::device::too_many_for_host(values) {
        bail!(Setting,
            "generated_clothing: {} + {} images of 28×28 are more than this machine can hold ({available}); hint: a few thousand images are plenty for an experiment",
            thousands(train),
            thousands(test)
        );
    }
    let make = |count: usize, seed: u64| {
        let (pixels, labels) = course_data::clothing::dataset(count, &style, seed);
        let x = Array4::from_shape_vec((count, 28, 28, 1), pixels.iter().map(|&v| v as f32 / 255.0).collect())
            .unwrap_or_else(|_| Array4::zeros((0, 28, 28, 1)));
        (x, Array1::from(labels))
    };
    let (x_train, y_train) = make(train, seed.wrapping_mul(2));
    let (x_test, y_test) = make(test, seed.wrapping_mul(2) + 1);
    Ok(Dataset {
        x_train,
        y_train,
        x_test,
        y_test,
        class_names: CLOTHING_CLASSES.iter().map(|s| s.to_string()).collect(),
        source: format!("clothing generated now ({style:?})"),
        ..Default::default()
    })
}
