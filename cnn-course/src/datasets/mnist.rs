//! MNIST and Fashion-MNIST: 28×28 greyscale images in the IDX format.

use super::download::{fetch, RemoteFile};
use super::idx::{read_idx, IdxArray};
use super::locations::Places;
use super::Dataset;
use crate::{Error, Result};
use ndarray::{Array1, Array4};
use std::path::{Path, PathBuf};

/// The four standard file names: training images and labels, test images and labels.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// MNIST's files on the mirror TensorFlow uses, with their SHA-256.
pub fn mnist_files() -> Vec<RemoteFile> {
    let base = ["https://storage.googleapis.com/cvdf-datasets/mnist/"];
    [
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ]
    .iter()
    .zip(FILES)
    .map(|(sha, name)| RemoteFile::new(&format!("{name}.gz"), &base, sha))
    .collect()
}

/// Fashion-MNIST's files on the mirror Keras uses, with their SHA-256.
pub fn fashion_mnist_files() -> Vec<RemoteFile> {
    let base = ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/"];
    [
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    ]
    .iter()
    .zip(FILES)
    .map(|(sha, name)| RemoteFile::new(&format!("{name}.gz"), &base, sha))
    .collect()
}

/// Fashion-MNIST's class names, by class number.
pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The first of `name` or `name.gz` that exists in `dir`.
fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    for candidate in [dir.join(name), dir.join(format!("{name}.gz"))] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(Error::file(
        dir,
        format!("no {name} (or {name}.gz) in this folder; hint: put the four MNIST-format files here under their standard names"),
    ))
}

pub(crate) fn images(path: &Path, idx: IdxArray) -> Result<Array4<f32>> {
    let &[n, rows, cols] = idx.dims.as_slice() else {
        return Err(Error::file(
            path,
            format!("expected images [count, rows, cols], found dimensions {:?}", idx.dims),
        ));
    };
    let values: Vec<f32> = idx.data.iter().map(|&v| v as f32 / 255.0).collect();
    Array4::from_shape_vec((n, rows, cols, 1), values).map_err(|e| Error::file(path, e.to_string()))
}

pub(crate) fn labels(path: &Path, idx: IdxArray, images: usize, classes: usize) -> Result<Array1<u8>> {
    if idx.dims.len() != 1 || idx.dims[0] != images {
        return Err(Error::file(
            path,
            format!(
                "expected {images} labels (one per image), found dimensions {:?}; hint: the image and label files do not belong together",
                idx.dims
            ),
        ));
    }
    if let Some(bad) = idx.data.iter().find(|&&l| l as usize >= classes) {
        return Err(Error::file(
            path,
            format!("label {bad} is not a class 0..{}", classes - 1),
        ));
    }
    Ok(Array1::from(idx.data))
}

/// Load the four standard MNIST-format files (each plain or `.gz`) from `dir`: training
/// and test images `(samples, rows, cols, 1)` with values 0..1, and labels 0..9.
pub fn load_mnist_dir(dir: impl AsRef<Path>) -> Result<Dataset> {
    let dir = dir.as_ref();
    let part = |images_name: &str, labels_name: &str| -> Result<(Array4<f32>, Array1<u8>)> {
        let image_path = find(dir, images_name)?;
        let x = images(&image_path, read_idx(&image_path)?)?;
        let label_path = find(dir, labels_name)?;
        let y = labels(&label_path, read_idx(&label_path)?, x.shape()[0], 10)?;
        Ok((x, y))
    };
    let (x_train, y_train) = part(FILES[0], FILES[1])?;
    let (x_test, y_test) = part(FILES[2], FILES[3])?;
    Ok(Dataset {
        x_train,
        y_train,
        x_test,
        y_test,
        class_names: (0..10).map(|d| d.to_string()).collect(),
        source: dir.display().to_string(),
        ..Default::default()
    })
}

/// Where an MNIST-format dataset is found without downloading: the learner's folder, or a
/// cache whose files all pass their checksums. `None` when neither has it.
pub fn local_copy(name: &str, files: &[RemoteFile], places: &Places) -> Result<Option<PathBuf>> {
    if let Some(user) = &places.user {
        let dir = user.join(name);
        if dir.is_dir() {
            return Ok(Some(dir));
        }
    }
    let dir = places.cache.join(name);
    for file in files {
        let path = dir.join(&file.name);
        if !path.is_file() || super::download::sha256_of(&path)? != file.sha256 {
            return Ok(None);
        }
    }
    Ok(Some(dir))
}

/// Load an MNIST-format dataset from the first place that has it, downloading if needed.
pub fn load_or_download(name: &str, files: &[RemoteFile], places: &Places) -> Result<Dataset> {
    let dir = match local_copy(name, files, places)? {
        Some(dir) => dir,
        None => {
            let dir = places.cache.join(name);
            for file in files {
                fetch(file, &dir)?;
            }
            dir
        }
    };
    let mut data = load_mnist_dir(&dir)?;
    data.source = format!("{name} from {}", dir.display());
    Ok(data)
}

/// MNIST: 60,000 training and 10,000 test handwritten digits (or your own copy's numbers).
pub fn mnist() -> Result<Dataset> {
    let data = load_or_download("mnist", &mnist_files(), &Places::from_env())?;
    println!("Using {}", data.source);
    Ok(data)
}

/// Fashion-MNIST: 60,000 training and 10,000 test images of 10 kinds of clothing.
pub fn fashion_mnist() -> Result<Dataset> {
    let mut data = load_or_download("fashion-mnist", &fashion_mnist_files(), &Places::from_env())?;
    data.class_names = FASHION_CLASSES.iter().map(|s| s.to_string()).collect();
    println!("Using {}", data.source);
    Ok(data)
}
