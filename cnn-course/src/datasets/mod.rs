//! Datasets in the Keras layout: images `(samples, rows, cols, channels)` with values
//! 0..1, labels as class numbers.
//!
//! - [`idx`]: the IDX file format of MNIST and Fashion-MNIST;
//! - [`mnist`]: MNIST from a folder holding the four standard files.

pub mod idx;
pub mod mnist;

pub use mnist::{load_mnist_dir, Dataset};
