//! Datasets in the Keras layout: images `(samples, rows, cols, channels)` with values 0..1,
//! labels as class numbers, and the class names.
//!
//! - [`mnist`], [`fashion_mnist`], [`cifar10`]: the standard datasets, from your own copy
//!   (`$CNN_COURSE_DATA`), the cache of verified downloads, or a download ([`locations`]);
//! - [`clothing`] and [`digits`]: the course's offline datasets — real Fashion-MNIST /
//!   MNIST when a local copy exists, otherwise the data the course ships in `data/`.
//!
//! Every loader prints which source it used.

pub mod cifar;
pub mod course;
pub mod download;
pub mod idx;
pub mod locations;
pub mod mnist;

pub use cifar::cifar10;
pub use course::{clothing, digits, generated_clothing, prefetch, small_colour_images, ClothingStyle};
pub use mnist::{fashion_mnist, load_mnist_dir, mnist};

use ndarray::{s, Array1, Array4};

/// Training and test sets with their class names, and where they came from.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub x_train: Array4<f32>,
    pub y_train: Array1<u8>,
    pub x_test: Array4<f32>,
    pub y_test: Array1<u8>,
    pub class_names: Vec<String>,
    /// Where the data came from, e.g. `shipped course data (data/clothing)`.
    pub source: String,
}

impl Dataset {
    /// The first `train` training and `test` test samples (all of them when fewer exist),
    /// for quick experiments on large datasets.
    pub fn take(&self, train: usize, test: usize) -> Dataset {
        let train = train.min(self.y_train.len());
        let test = test.min(self.y_test.len());
        Dataset {
            x_train: self.x_train.slice(s![..train, .., .., ..]).to_owned(),
            y_train: self.y_train.slice(s![..train]).to_owned(),
            x_test: self.x_test.slice(s![..test, .., .., ..]).to_owned(),
            y_test: self.y_test.slice(s![..test]).to_owned(),
            class_names: self.class_names.clone(),
            source: self.source.clone(),
        }
    }

    /// How many samples of each class the training set holds.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for &label in &self.y_train {
            if let Some(c) = counts.get_mut(label as usize) {
                *c += 1;
            }
        }
        counts
    }
}
