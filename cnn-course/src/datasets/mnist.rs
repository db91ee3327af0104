//! MNIST-format datasets (MNIST, Fashion-MNIST) from a folder of IDX files.

use super::idx::{read_idx, IdxArray};
use crate::{Error, Result};
use ndarray::{Array1, Array4};
use std::path::{Path, PathBuf};

/// Training and test images `(samples, 28, 28, 1)` with values 0..1, and their labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub x_train: Array4<f32>,
    pub y_train: Array1<u8>,
    pub x_test: Array4<f32>,
    pub y_test: Array1<u8>,
}

/// The first of `names` (plain or `.gz`) that exists in `dir`.
fn find(dir: &Path, names: &[&str]) -> Result<PathBuf> {
    for name in names {
        for candidate in [dir.join(name), dir.join(format!("{name}.gz"))] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(Error::file(
        dir,
        format!(
            "no {} (or .gz) in this folder; hint: put the four MNIST-format files here under their standard names",
            names[0]
        ),
    ))
}

fn images(path: &Path, idx: IdxArray) -> Result<Array4<f32>> {
    let &[n, rows, cols] = idx.dims.as_slice() else {
        return Err(Error::file(
            path,
            format!("expected images [count, rows, cols], found dimensions {:?}", idx.dims),
        ));
    };
    let values: Vec<f32> = idx.data.iter().map(|&v| v as f32 / 255.0).collect();
    Array4::from_shape_vec((n, rows, cols, 1), values).map_err(|e| Error::file(path, e.to_string()))
}

fn labels(path: &Path, idx: IdxArray, images: usize) -> Result<Array1<u8>> {
    if idx.dims.len() != 1 || idx.dims[0] != images {
        return Err(Error::file(
            path,
            format!("expected {images} labels (one per image), found dimensions {:?}; hint: the image and label files do not belong together", idx.dims),
        ));
    }
    if let Some(bad) = idx.data.iter().find(|&&l| l > 9) {
        return Err(Error::file(path, format!("label {bad} is not a class 0..9")));
    }
    Ok(Array1::from(idx.data))
}

/// Load `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`
/// and `t10k-labels-idx1-ubyte` (each plain or `.gz`) from `dir`.
pub fn load_mnist_dir(dir: impl AsRef<Path>) -> Result<Dataset> {
    let dir = dir.as_ref();
    let part = |images_name: &str, labels_name: &str| -> Result<(Array4<f32>, Array1<u8>)> {
        let image_path = find(dir, &[images_name])?;
        let x = images(&image_path, read_idx(&image_path)?)?;
        let label_path = find(dir, &[labels_name])?;
        let y = labels(&label_path, read_idx(&label_path)?, x.shape()[0])?;
        Ok((x, y))
    };
    let (x_train, y_train) = part("train-images-idx3-ubyte", "train-labels-idx1-ubyte")?;
    let (x_test, y_test) = part("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?;
    Ok(Dataset {
        x_train,
        y_train,
        x_test,
        y_test,
    })
}
