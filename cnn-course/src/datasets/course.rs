//! The course's offline datasets. Each uses real data when a local copy exists
//! (`$CNN_COURSE_DATA` or the verified cache — never a download), and otherwise the data
//! the course ships in `data/` (made by `data/generator`, see `data/README.md`).

use super::idx::decode_idx;
use super::locations::Places;
use super::mnist::{fashion_mnist_files, images, labels, load_mnist_dir, local_copy, mnist_files};
use super::Dataset;
use crate::Result;
use ndarray::{Array1, Array4, Axis};
use std::path::Path;

pub const CLOTHING_CLASSES: [&str; 3] = ["t-shirt", "dress", "shoe"];

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

fn shipped(folder: &str, files: [&[u8]; 4], classes: &[&str]) -> Result<Dataset> {
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
        source: format!("the course's shipped data (data/{folder})"),
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
        "{what}: using {} — {} training and {} test images, classes {:?}",
        data.source,
        data.y_train.len(),
        data.y_test.len(),
        data.class_names
    );
}

pub fn clothing_from(places: &Places) -> Result<Dataset> {
    let data = match local_copy("fashion-mnist", &fashion_mnist_files(), places)? {
        Some(dir) => {
            let all = load_mnist_dir(&dir)?;
            // T-shirt/top, Dress, Sneaker.
            let keep = [0, 3, 7];
            let (x_train, y_train) = select(&all.x_train, &all.y_train, &keep);
            let (x_test, y_test) = select(&all.x_test, &all.y_test, &keep);
            Dataset {
                x_train,
                y_train,
                x_test,
                y_test,
                class_names: CLOTHING_CLASSES.iter().map(|s| s.to_string()).collect(),
                source: format!("Fashion-MNIST from {} (T-shirt/top, Dress, Sneaker)", dir.display()),
            }
        }
        None => shipped("clothing", shipped!("clothing"), &CLOTHING_CLASSES)?,
    };
    Ok(data)
}

pub fn digits_from(places: &Places) -> Result<Dataset> {
    match local_copy("mnist", &mnist_files(), places)? {
        Some(dir) => {
            let mut data = load_mnist_dir(&dir)?;
            data.source = format!("MNIST from {}", dir.display());
            Ok(data)
        }
        None => shipped(
            "digits",
            shipped!("digits"),
            &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        ),
    }
}

/// Colour images for the CIFAR-10 chapter: the first `train` / `test` images of CIFAR-10
/// when a local copy exists (`$CNN_COURSE_DATA` or the cache — never a download), else
/// the course's clothing in colour: each garment tinted a random colour on a random
/// background, padded to 32 × 32 × 3, with CIFAR-10's ten outputs of which three are used.
pub fn small_colour_images(train: usize, test: usize) -> Result<Dataset> {
    let places = Places::from_env();
    let local = places
        .user
        .iter()
        .map(|u| u.join(super::cifar::FOLDER))
        .chain([places.cache.join(super::cifar::FOLDER)])
        .find(|d| d.is_dir());
    let data = match local {
        Some(dir) => super::cifar::load_cifar10_dir(&dir)?.take(train, test),
        None => colour_clothing(&clothing_from(&places)?.take(train, test)),
    };
    report("colour images", &data);
    Ok(data)
}

/// Tint greyscale 28×28 images with a colour per image (a fixed pseudo-random sequence)
/// and pad them to 32×32×3.
fn colour_clothing(grey: &Dataset) -> Dataset {
    let tint = |x: &Array4<f32>, offset: usize| {
        let n = x.shape()[0];
        let mut out = Array4::<f32>::zeros((n, 32, 32, 3));
        for i in 0..n {
            let hash = |k: usize| (((i + offset) * 2654435761 + k * 40503) % 1000) as f32 / 1000.0;
            let (garment, background) = (
                [hash(1), hash(2), hash(3)],
                [hash(4) * 0.5, hash(5) * 0.5, hash(6) * 0.5],
            );
            for r in 0..28 {
                for c in 0..28 {
                    let v = x[[i, r, c, 0]];
                    for ch in 0..3 {
                        out[[i, r + 2, c + 2, ch]] = v * (0.3 + 0.7 * garment[ch]) + (1.0 - v) * background[ch];
                    }
                }
            }
        }
        out
    };
    Dataset {
        x_train: tint(&grey.x_train, 0),
        y_train: grey.y_train.clone(),
        x_test: tint(&grey.x_test, 100_000),
        y_test: grey.y_test.clone(),
        class_names: CIFAR_FALLBACK_CLASSES.iter().map(|s| s.to_string()).collect(),
        source: format!("{} tinted and padded to 32×32×3", grey.source),
    }
}

/// Ten names (CIFAR-10's ten outputs); the shipped fallback uses the first three.
const CIFAR_FALLBACK_CLASSES: [&str; 10] = ["t-shirt", "dress", "shoe", "-", "-", "-", "-", "-", "-", "-"];

/// Three kinds of clothing — t-shirt, dress, shoe — as 28×28 greyscale images: from
/// Fashion-MNIST when a local copy exists, else the course's own images.
pub fn clothing() -> Result<Dataset> {
    let data = clothing_from(&Places::from_env())?;
    report("clothing", &data);
    Ok(data)
}

/// Handwritten digits 0–9 as 28×28 greyscale images: MNIST when a local copy exists,
/// else the course's own handwriting-like digits.
pub fn digits() -> Result<Dataset> {
    let data = digits_from(&Places::from_env())?;
    report("digits", &data);
    Ok(data)
}
