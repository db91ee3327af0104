//! CIFAR-10, binary version: 32×32 colour images of 10 classes.
//!
//! Each record is one label byte, then 1,024 red, 1,024 green and 1,024 blue bytes (rows of
//! 32). `data_batch_1.bin` … `data_batch_5.bin` hold the training set, `test_batch.bin`
//! the test set.

use super::download::{fetch, RemoteFile};
use super::locations::Places;
use super::Dataset;
use crate::{Error, Result};
use flate2::read::GzDecoder;
use ndarray::{Array1, Array4};
use std::fs;
use std::path::{Path, PathBuf};

/// CIFAR-10's class names, by class number.
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
const RECORD: usize = 1 + 32 * 32 * 3;
/// The folder the CIFAR-10 archive unpacks to.
pub const FOLDER: &str = "cifar-10-batches-bin";

/// The archive on the dataset authors' site, with its SHA-256.
pub fn cifar10_archive() -> RemoteFile {
    RemoteFile::new(
        "cifar-10-binary.tar.gz",
        &["https://www.cs.toronto.edu/~kriz/"],
        "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    )
}

/// Read records from one batch file.
fn read_batch(path: &Path, x: &mut Vec<f32>, y: &mut Vec<u8>) -> Result<()> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() || bytes.len() % RECORD != 0 {
        return Err(Error::file(
            path,
            format!("{} bytes is not a whole number of {RECORD}-byte CIFAR-10 records; hint: the file is truncated or not a CIFAR-10 binary batch", bytes.len()),
        ));
    }
    for record in bytes.chunks(RECORD) {
        if record[0] > 9 {
            return Err(Error::file(
                path,
                format!(
                    "label {} is not a class 0..9; hint: this is not a CIFAR-10 binary batch",
                    record[0]
                ),
            ));
        }
        y.push(record[0]);
        let planes = &record[1..];
        // Channel planes → (row, col, channel).
        for pixel in 0..1024 {
            for channel in 0..3 {
                x.push(planes[channel * 1024 + pixel] as f32 / 255.0);
            }
        }
    }
    Ok(())
}

/// Load CIFAR-10 from a `cifar-10-batches-bin` folder.
pub fn load_cifar10_dir(dir: impl AsRef<Path>) -> Result<Dataset> {
    let dir = dir.as_ref();
    let part = |names: &[String]| -> Result<(Array4<f32>, Array1<u8>)> {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for name in names {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(Error::file(dir, format!("no {name} in this folder; hint: it should hold data_batch_1.bin … data_batch_5.bin and test_batch.bin")));
            }
            read_batch(&path, &mut x, &mut y)?;
        }
        let n = y.len();
        let x = Array4::from_shape_vec((n, 32, 32, 3), x).map_err(|e| Error::file(dir, e.to_string()))?;
        Ok((x, Array1::from(y)))
    };
    let (x_train, y_train) = part(&(1..=5).map(|i| format!("data_batch_{i}.bin")).collect::<Vec<_>>())?;
    let (x_test, y_test) = part(&["test_batch.bin".to_string()])?;
    Ok(Dataset {
        x_train,
        y_train,
        x_test,
        y_test,
        class_names: CLASSES.iter().map(|s| s.to_string()).collect(),
        source: dir.display().to_string(),
        ..Default::default()
    })
}

/// Unpack the archive into `cache/cifar-10-batches-bin`, through a temporary folder so a
/// failure never leaves a half-unpacked dataset in place.
fn unpack(archive: &Path, cache: &Path) -> Result<PathBuf> {
    let target = cache.join(FOLDER);
    let staging = cache.join(format!(".{FOLDER}.{}.unpack", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let file = fs::File::open(archive).map_err(|e| Error::io(archive, e))?;
    let unpacked = tar::Archive::new(GzDecoder::new(file))
        .unpack(&staging)
        .map_err(|e| Error::file(archive, format!("cannot unpack: {e}")))
        .and_then(|()| fs::rename(staging.join(FOLDER), &target).map_err(|e| Error::io(&target, e)));
    let _ = fs::remove_dir_all(&staging);
    unpacked.map(|()| target)
}

/// CIFAR-10 from the learner's own copy, the verified cache, or a download of `archive`
/// (unpacked into the cache), in the order of [`Places`].
pub fn load_or_download(archive: &RemoteFile, places: &Places) -> Result<Dataset> {
    if let Some(user) = &places.user {
        let dir = user.join(FOLDER);
        if dir.is_dir() {
            return load_cifar10_dir(&dir);
        }
    }
    let unpacked = places.cache.join(FOLDER);
    // The archive is kept beside the unpacked folder: its checksum vouches for it.
    let archive_path = fetch(archive, &places.cache)?;
    if !unpacked.is_dir() {
        unpack(&archive_path, &places.cache)?;
    }
    load_cifar10_dir(&unpacked)
}

/// CIFAR-10: 50,000 training and 10,000 test colour images, 32 × 32 × 3.
pub fn cifar10() -> Result<Dataset> {
    let data = load_or_download(&cifar10_archive(), &Places::from_env())?;
    println!("Using CIFAR-10 from {}", data.source);
    Ok(data)
}
