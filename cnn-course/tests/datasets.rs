//! Data: downloads against a local HTTP server, every bad-file case, the order in which
//! places are searched, CIFAR-10, the shipped datasets, and real MNIST when present.

mod common;

use cnn_course::datasets::download::{fetch, sha256_of, RemoteFile};
use cnn_course::datasets::locations::Places;
use cnn_course::datasets::{cifar, course, load_mnist_dir, mnist};
use common::http::{nobody_listening, serve, Reply, Server};
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn sha(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, bytes).unwrap();
    sha256_of(&path).unwrap()
}

/// A tiny MNIST-format dataset: `n` training and `n` test images of 28×28.
fn write_fake_mnist(dir: &Path, n: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let images: Vec<u8> = (0..n * 784).map(|i| (i % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    for prefix in ["train", "t10k"] {
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte.gz")),
            gz(&idx(&[n, 28, 28], &images)),
        )
        .unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), idx(&[n], &labels)).unwrap();
    }
}

fn remote(name: &str, base: &str, body: &[u8]) -> RemoteFile {
    RemoteFile::new(name, &[base], &sha(body))
}

/// Serve a dataset in MNIST's four files (the same images and labels as training and
/// test parts) for download; the files as the loaders describe them.
fn serve_mnist(images: &[u8], labels: &[u8]) -> (Server, Vec<RemoteFile>) {
    let server = serve(vec![
        Reply::File(images.to_vec()),
        Reply::File(labels.to_vec()),
        Reply::File(images.to_vec()),
        Reply::File(labels.to_vec()),
    ]);
    let files = mnist::FILES
        .iter()
        .zip([images, labels, images, labels])
        .map(|(name, body)| remote(&format!("{name}.gz"), &server.base, body))
        .collect();
    (server, files)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

// ---- downloads ----

#[test]
fn a_good_download_is_verified_and_cached() {
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    let server = serve(vec![Reply::File(body.clone())]);
    let cache = tempfile::tempdir().unwrap();
    let file = remote("data.bin", &server.base, &body);
    let path = fetch(&file, cache.path()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(files_in(cache.path()), vec!["data.bin"]);
    // A second fetch uses the cache: no new request.
    fetch(&file, cache.path()).unwrap();
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_checksum_mismatch_caches_nothing() {
    let server = serve(vec![Reply::File(b"tampered".to_vec())]);
    let cache = tempfile::tempdir().unwrap();
    let file = remote("data.bin", &server.base, b"the real file");
    let err = fetch(&file, cache.path()).unwrap_err().to_string();
    assert!(err.contains("checksum mismatch: expected SHA-256"), "{err}");
    assert!(err.contains("the file was not kept"), "{err}");
    assert!(err.contains("hint: nothing was saved"), "{err}");
    assert_eq!(files_in(cache.path()), Vec::<String>::new());
    assert_eq!(server.requests(), 3, "a corrupt transfer is retried, then given up");
}

#[test]
fn a_404_moves_on_without_retrying() {
    let server = serve(vec![Reply::NotFound]);
    let cache = tempfile::tempdir().unwrap();
    let file = remote("missing.bin", &server.base, b"x");
    let err = fetch(&file, cache.path()).unwrap_err().to_string();
    assert!(err.contains("missing.bin: not found (HTTP 404)"), "{err}");
    assert_eq!(server.requests(), 1);
    assert_eq!(files_in(cache.path()), Vec::<String>::new());
}

#[test]
fn a_connection_cut_midway_is_retried_then_reported() {
    let body = vec![42u8; 100_000];
    let server = serve(vec![Reply::Cut(body.clone(), 30_000)]);
    let cache = tempfile::tempdir().unwrap();
    let file = remote("big.bin", &server.base, &body);
    let err = fetch(&file, cache.path()).unwrap_err().to_string();
    assert!(err.contains("connection cut after"), "{err}");
    assert_eq!(server.requests(), 3);
    assert_eq!(files_in(cache.path()), Vec::<String>::new(), "no partial file is left");
}

#[test]
fn a_retry_after_a_failure_succeeds() {
    let body = vec![7u8; 50_000];
    let server = serve(vec![
        Reply::Cut(body.clone(), 1000),
        Reply::Unavailable,
        Reply::File(body.clone()),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let file = remote("flaky.bin", &server.base, &body);
    let path = fetch(&file, cache.path()).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), body);
    assert_eq!(server.requests(), 3);
}

#[test]
fn the_next_mirror_is_tried_when_one_fails() {
    let body = b"mirrored".to_vec();
    let broken = serve(vec![Reply::NotFound]);
    let good = serve(vec![Reply::File(body.clone())]);
    let cache = tempfile::tempdir().unwrap();
    let mut file = remote("m.bin", &broken.base, &body);
    file.mirrors.push(format!("{}m.bin", good.base));
    fetch(&file, cache.path()).unwrap();
    assert_eq!((broken.requests(), good.requests()), (1, 1));
}

#[test]
fn offline_fails_fast_and_says_where_to_put_the_files() {
    let cache = tempfile::tempdir().unwrap();
    let file = RemoteFile::new("train-images-idx3-ubyte.gz", &[&nobody_listening()], "00");
    let started = Instant::now();
    let err = fetch(&file, cache.path()).unwrap_err().to_string();
    assert!(started.elapsed().as_secs_f64() < 3.0, "took {:?}", started.elapsed());
    assert!(err.contains("hint: you seem to be offline — copy the file to"), "{err}");
    assert!(err.contains("$CNN_COURSE_DATA"), "{err}");
}

#[test]
fn a_corrupt_cached_file_is_downloaded_again() {
    let body = b"fresh copy".to_vec();
    let server = serve(vec![Reply::File(body.clone())]);
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(cache.path().join("c.bin"), b"rotten").unwrap();
    fetch(&remote("c.bin", &server.base, &body), cache.path()).unwrap();
    assert_eq!(std::fs::read(cache.path().join("c.bin")).unwrap(), body);
}

#[test]
fn a_wrong_file_in_the_cache_is_kept_until_a_verified_copy_replaces_it() {
    let cache = tempfile::tempdir().unwrap();
    let by_hand = cache.path().join("c.bin");
    std::fs::write(&by_hand, b"another version").unwrap();
    let expected = b"the real file";
    // Offline: the file put there by hand stays, and the error says what is wrong with it.
    let offline = remote("c.bin", &nobody_listening(), expected);
    let err = fetch(&offline, cache.path()).unwrap_err().to_string();
    assert!(err.contains("c.bin is not the expected file (SHA-256"), "{err}");
    assert!(
        err.contains(&format!("expected {}) and was left as it was", sha(expected))),
        "{err}"
    );
    assert_eq!(std::fs::read(&by_hand).unwrap(), b"another version");
    // A server with a corrupt copy: still kept.
    let server = serve(vec![Reply::File(b"tampered".to_vec())]);
    let err = fetch(&remote("c.bin", &server.base, expected), cache.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("from any mirror; "), "{err}");
    assert_eq!(std::fs::read(&by_hand).unwrap(), b"another version");
    assert_eq!(files_in(cache.path()), vec!["c.bin"], "no partial file is left");
}

// ---- where data comes from ----

#[test]
fn the_users_folder_comes_first_then_the_cache_then_a_download() {
    let user = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // Serve a 3-image dataset for download.
    let images = gz(&idx(&[3, 28, 28], &[9; 3 * 784]));
    let labels = gz(&idx(&[3], &[1, 2, 3]));
    let (server, files) = serve_mnist(&images, &labels);
    let places = Places {
        user: Some(user.path().to_path_buf()),
        cache: cache.path().to_path_buf(),
        download: true,
    };

    // Nothing local: downloaded into the cache.
    let data = mnist::load_or_download("mnist", &files, &places).unwrap();
    assert_eq!((data.x_train.shape()[0], server.requests()), (3, 4));
    assert!(data.source.starts_with("mnist from "), "{}", data.source);
    // Cached and verified: no new request.
    mnist::load_or_download("mnist", &files, &places).unwrap();
    assert_eq!(server.requests(), 4);
    // The learner's own folder wins, with any number of images.
    write_fake_mnist(&user.path().join("mnist"), 5);
    let data = mnist::load_or_download("mnist", &files, &places).unwrap();
    assert_eq!(data.x_train.shape(), &[5, 28, 28, 1]);
    assert_eq!(server.requests(), 4);
}

// ---- bad files ----

fn bad_file_error(name: &str, contents: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_fake_mnist(dir.path(), 4);
    let _ = std::fs::remove_file(dir.path().join(format!("{name}.gz")));
    let _ = std::fs::remove_file(dir.path().join(name));
    std::fs::write(dir.path().join(name), contents).unwrap();
    let err = load_mnist_dir(dir.path()).unwrap_err().to_string();
    let path = dir.path().join(name);
    assert!(
        err.starts_with(&path.display().to_string()),
        "the error names the file: {err}"
    );
    err[path.display().to_string().len() + 2..].to_string()
}

#[test]
fn a_truncated_images_file() {
    let mut bytes = idx(&[4, 28, 28], &[0; 4 * 784]);
    bytes.truncate(bytes.len() - 100);
    assert_eq!(
        bad_file_error("train-images-idx3-ubyte", &bytes),
        "the header announces [4, 28, 28] = 3136 values, the file holds 3036; hint: the file is truncated"
    );
}

#[test]
fn a_file_with_the_wrong_magic_number() {
    assert_eq!(
        bad_file_error("t10k-images-idx3-ubyte", b"PK\x03\x04 zip, not idx"),
        "not an IDX file of bytes: magic number 50 4b 03 04, expected 00 00 08 <dimensions>; hint: check that this is an MNIST-format file"
    );
}

#[test]
fn labels_that_do_not_match_the_images() {
    assert_eq!(
        bad_file_error("train-labels-idx1-ubyte", &idx(&[3], &[1, 2, 3])),
        "expected 4 labels (one per image), found dimensions [3]; hint: the image and label files do not belong together"
    );
    assert_eq!(
        bad_file_error("train-labels-idx1-ubyte", &idx(&[4], &[1, 2, 30, 3])),
        "label 30 is not a class 0..9"
    );
}

#[test]
fn damaged_gzip_data() {
    let mut bytes = gz(&idx(&[4, 28, 28], &[0; 4 * 784]));
    let middle = bytes.len() / 2;
    bytes.truncate(middle);
    let err = bad_file_error("train-images-idx3-ubyte.gz", &bytes);
    assert!(err.starts_with("the gzip data is damaged"), "{err}");
    assert!(err.ends_with("hint: download the file again"), "{err}");
}

#[test]
fn a_missing_file_names_the_folder_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_fake_mnist(dir.path(), 2);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
    assert_eq!(
        load_mnist_dir(dir.path()).unwrap_err().to_string(),
        format!(
            "{}: no t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz) in this folder; hint: put the four MNIST-format files here under their standard names",
            dir.path().display()
        )
    );
}

// ---- CIFAR-10 ----

fn cifar_batch(records: usize, first_label: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for r in 0..records {
        out.push((first_label + r as u8) % 10);
        // Red plane 0.2, green 0.4, blue 0.6 (×255, rounded).
        for value in [51u8, 102, 153] {
            out.extend(std::iter::repeat_n(value, 1024));
        }
    }
    out
}

fn cifar_archive(records: usize) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut add = |name: &str, bytes: Vec<u8>| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("cifar-10-batches-bin/{name}"), bytes.as_slice())
            .unwrap();
    };
    for i in 1..=5 {
        add(&format!("data_batch_{i}.bin"), cifar_batch(records, i as u8));
    }
    add("test_batch.bin", cifar_batch(records, 0));
    builder.into_inner().unwrap().finish().unwrap()
}

#[test]
fn cifar10_downloads_unpacks_and_loads_channels_last() {
    let archive = cifar_archive(2);
    let server = serve(vec![Reply::File(archive.clone())]);
    let cache = tempfile::tempdir().unwrap();
    let places = Places {
        user: None,
        cache: cache.path().to_path_buf(),
        download: true,
    };
    let spec = remote("cifar-10-binary.tar.gz", &server.base, &archive);
    let data = cifar::load_or_download(&spec, &places).unwrap();
    assert_eq!(data.x_train.shape(), &[10, 32, 32, 3]);
    assert_eq!(data.x_test.shape(), &[2, 32, 32, 3]);
    assert_eq!(data.class_names[0], "airplane");
    let pixel: Vec<f32> = (0..3).map(|c| data.x_train[[0, 5, 7, c]]).collect();
    assert_eq!(pixel, vec![0.2, 0.4, 0.6]);
    assert_eq!(
        files_in(cache.path()),
        vec!["cifar-10-batches-bin", "cifar-10-binary.tar.gz"]
    );
}

#[test]
fn a_truncated_cifar_batch_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(cifar::FOLDER);
    std::fs::create_dir_all(&folder).unwrap();
    for i in 1..=5 {
        std::fs::write(folder.join(format!("data_batch_{i}.bin")), cifar_batch(1, 0)).unwrap();
    }
    let mut short = cifar_batch(2, 0);
    short.truncate(5000);
    std::fs::write(folder.join("test_batch.bin"), short).unwrap();
    assert_eq!(
        cifar::load_cifar10_dir(&folder).unwrap_err().to_string(),
        format!(
            "{}: 5000 bytes is not a whole number of 3073-byte CIFAR-10 records; hint: the file is truncated or not a CIFAR-10 binary batch",
            folder.join("test_batch.bin").display()
        )
    );
}

// ---- the shipped data ----

fn nowhere() -> Places {
    Places {
        user: None,
        cache: PathBuf::from("/nonexistent/cnn-course-cache"),
        download: false,
    }
}

#[test]
fn the_shipped_clothing_is_balanced_and_shuffled() {
    let clothing = course::clothing_from(&nowhere(), &mnist::fashion_mnist_files()).unwrap();
    assert_eq!(clothing.x_train.shape(), &[2400, 28, 28, 1]);
    assert_eq!(clothing.x_test.shape(), &[600, 28, 28, 1]);
    assert_eq!(clothing.class_names, vec!["t-shirt", "dress", "sneaker"]);
    assert_eq!(clothing.class_counts(), vec![800, 800, 800]);
    assert!(clothing.source.contains("generated"), "{}", clothing.source);
    assert!(clothing.x_train.iter().all(|v| (0.0..=1.0).contains(v)));
    // Shuffled: the labels do not follow the rotation 0, 1, 2, 0, 1, 2, …
    let in_rotation = (0..300).filter(|&i| clothing.y_train[i] as usize == i % 3).count();
    assert!(in_rotation < 150, "{in_rotation} of 300 labels follow the rotation");
}

#[test]
fn the_shipped_digits_are_real_mnist() {
    let digits = course::digits_from(&nowhere(), &mnist::mnist_files()).unwrap();
    assert_eq!(digits.x_train.shape(), &[8000, 28, 28, 1]);
    assert_eq!(digits.y_test.len(), 2000);
    assert!(digits.source.contains("real MNIST"), "{}", digits.source);
    // MNIST's classes are not balanced; each has 700–1,000 of the 8,000.
    assert!(digits.class_counts().iter().all(|&c| (700..1000).contains(&c)));
    let mean = digits.x_train.mean().unwrap();
    assert!(
        (0.1..0.15).contains(&mean),
        "MNIST's mean pixel is about 0.13, got {mean}"
    );
    // The same images as the copy in shared/data, where it is present.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist");
    if shared.is_dir() {
        assert_eq!(load_mnist_dir(&shared).unwrap().x_train, digits.x_train);
    }
}

#[test]
fn clothing_uses_real_fashion_mnist_from_the_users_folder() {
    let user = tempfile::tempdir().unwrap();
    write_fake_mnist(&user.path().join("fashion-mnist"), 20);
    let places = Places {
        user: Some(user.path().to_path_buf()),
        cache: PathBuf::from("/nonexistent"),
        download: false,
    };
    let data = course::clothing_from(&places, &mnist::fashion_mnist_files()).unwrap();
    // Labels cycle 0..9: of 20 images, classes 0, 3 and 7 appear twice each.
    assert_eq!(data.y_train.to_vec(), vec![0, 1, 2, 0, 1, 2]);
    assert!(data.source.starts_with("real Fashion-MNIST"), "{}", data.source);
}

/// Online, the real dataset is downloaded into the cache (the learner's first run); the
/// three Fashion-MNIST classes the course uses are kept and renumbered 0, 1, 2.
#[test]
fn clothing_downloads_real_fashion_mnist_when_online() {
    let cache = tempfile::tempdir().unwrap();
    // Labels cycle 0..9: classes 0 (t-shirt), 3 (dress), 7 (sneaker) are kept.
    let labels: Vec<u8> = (0..20).map(|i| i % 10).collect();
    let images = gz(&idx(&[20, 28, 28], &[9; 20 * 784]));
    let labels = gz(&idx(&[20], &labels));
    let (server, files) = serve_mnist(&images, &labels);
    let places = Places {
        user: None,
        cache: cache.path().to_path_buf(),
        download: true,
    };
    let data = course::clothing_from(&places, &files).unwrap();
    assert_eq!(data.y_train.to_vec(), vec![0, 1, 2, 0, 1, 2]);
    assert_eq!(data.class_names, vec!["t-shirt", "dress", "sneaker"]);
    assert!(data.source.starts_with("real Fashion-MNIST"), "{}", data.source);
    assert_eq!(server.requests(), 4);
}

/// Offline (nothing listens where the files should be), the loader does not hang or fail:
/// it falls back to the shipped clothing at once.
#[test]
fn offline_clothing_falls_back_to_the_shipped_images_at_once() {
    let cache = tempfile::tempdir().unwrap();
    let base = nobody_listening();
    let files: Vec<RemoteFile> = mnist::FILES
        .iter()
        .map(|name| remote(&format!("{name}.gz"), &base, b"never served"))
        .collect();
    let places = Places {
        user: None,
        cache: cache.path().to_path_buf(),
        download: true,
    };
    let started = std::time::Instant::now();
    let data = course::clothing_from(&places, &files).unwrap();
    assert!(started.elapsed().as_secs_f64() < 3.0, "took {:?}", started.elapsed());
    assert!(data.source.contains("generated"), "{}", data.source);
    assert_eq!(data.y_train.len(), 2400);
    assert_eq!(
        std::fs::read_dir(cache.path().join("fashion-mnist"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn real_mnist_when_it_is_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist");
    if !dir.is_dir() {
        eprintln!("skipped: {} is not present", dir.display());
        return;
    }
    let data = load_mnist_dir(&dir).unwrap();
    assert_eq!(data.x_train.shape(), &[8000, 28, 28, 1]);
    assert_eq!(data.x_test.shape(), &[2000, 28, 28, 1]);
    assert!(data.class_counts().iter().all(|&c| c > 600));
    let mean = data.x_train.mean().unwrap();
    assert!(
        (0.1..0.15).contains(&mean),
        "MNIST's mean pixel is about 0.13, got {mean}"
    );
}

/// The shipped clothing teaches what chapter 6's lab claims: centred, a dense network and
/// a CNN both learn it; shifted test images hurt both; training on randomly shifted copies
/// (`augment::random_shifts`) recovers most of the loss.
#[test]
fn shipped_clothing_rewards_augmentation_on_shifted_images() {
    use cnn_course::prelude::*;
    let _seed = common::seeded(0);
    let data = course::clothing_from(&nowhere(), &mnist::fashion_mnist_files())
        .unwrap()
        .take(1200, 0);
    let shifted = course::generated_clothing(
        0,
        300,
        course::ClothingStyle {
            shift: 5.0,
            ..Default::default()
        },
        7,
    )
    .unwrap();
    let y_train = to_categorical(&data.y_train, 3).unwrap();
    let y_shifted = to_categorical(&shifted.y_test, 3).unwrap();
    let centred_test = course::generated_clothing(0, 300, course::ClothingStyle::default(), 8).unwrap();
    let y_centred = to_categorical(&centred_test.y_test, 3).unwrap();
    let cnn = || {
        let mut cnn = Sequential::new();
        cnn.add(Conv2D::new(16, 3).activation("relu").input_shape((28, 28, 1)))
            .unwrap();
        cnn.add(MaxPool2D::new(2)).unwrap();
        cnn.add(Flatten::new()).unwrap();
        cnn.add(Dense::new(3).activation("softmax")).unwrap();
        cnn.compile("adam", "categorical_crossentropy", &["accuracy"]).unwrap();
        cnn
    };
    let mut plain = cnn();
    plain
        .fit(&data.x_train, &y_train, Fit::new().epochs(5).verbose(0))
        .unwrap();
    let centred = plain.evaluate(&centred_test.x_test, &y_centred).unwrap().accuracy;
    let on_shifted = plain.evaluate(&shifted.x_test, &y_shifted).unwrap().accuracy;
    let mut augmented = cnn();
    for epoch in 0..5 {
        let x = augment::random_shifts(&data.x_train, 5, 100 + epoch);
        augmented.fit(&x, &y_train, Fit::new().epochs(1).verbose(0)).unwrap();
    }
    let augmented_on_shifted = augmented.evaluate(&shifted.x_test, &y_shifted).unwrap().accuracy;
    println!("centred {centred:.3}, shifted {on_shifted:.3}, augmented on shifted {augmented_on_shifted:.3}");
    assert!(centred >= 0.95, "centred clothing is easy: {centred}");
    assert!(
        centred - on_shifted >= 0.1,
        "shifts should hurt: {centred} vs {on_shifted}"
    );
    assert!(
        augmented_on_shifted - on_shifted >= 0.1,
        "augmentation should help on shifted images: {on_shifted} vs {augmented_on_shifted}"
    );
}
