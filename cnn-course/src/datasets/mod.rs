//! Datasets in the Keras layout: images `(samples, rows, cols, channels)` with values 0..1,
//! labels as class numbers, and the class names.
//!
//! - [`mnist()`], [`fashion_mnist`], [`cifar10`]: the standard datasets, from your own copy
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

/// Training, validation and test sets with their class names, and where they came from.
/// The validation set is empty until [`Dataset::hold_out`] sets training images apart.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Training images, `(samples, rows, cols, channels)`, pixels in 0..1.
    pub x_train: Array4<f32>,
    /// The training images' class numbers.
    pub y_train: Array1<u8>,
    /// Validation images (empty until [`Dataset::hold_out`]).
    pub x_val: Array4<f32>,
    /// The validation images' class numbers.
    pub y_val: Array1<u8>,
    /// Test images.
    pub x_test: Array4<f32>,
    /// The test images' class numbers.
    pub y_test: Array1<u8>,
    /// Class names, by class number.
    pub class_names: Vec<String>,
    /// Where the data came from, e.g. `shipped course data (data/clothing)`.
    pub source: String,
}

impl Dataset {
    /// The first `train` training and `test` test samples (all of them when fewer exist),
    /// for quick experiments on large datasets. The validation set stays as it is.
    pub fn take(&self, train: usize, test: usize) -> Dataset {
        let train = train.min(self.y_train.len());
        let test = test.min(self.y_test.len());
        Dataset {
            x_train: self.x_train.slice(s![..train, .., .., ..]).to_owned(),
            y_train: self.y_train.slice(s![..train]).to_owned(),
            x_test: self.x_test.slice(s![..test, .., .., ..]).to_owned(),
            y_test: self.y_test.slice(s![..test]).to_owned(),
            ..self.clone()
        }
    }

    /// Set the last `count` training samples apart as the validation set (`x_val`,
    /// `y_val`): images to choose settings on, never trained on, while the test set waits
    /// for the end.
    ///
    /// ```
    /// let data = cnn_course::datasets::generated_clothing(100, 10, Default::default(), 1)?.hold_out(20);
    /// assert_eq!((data.x_train.shape()[0], data.x_val.shape()[0]), (80, 20));
    /// # Ok::<(), cnn_course::Error>(())
    /// ```
    pub fn hold_out(&self, count: usize) -> Dataset {
        let keep = self.y_train.len().saturating_sub(count);
        Dataset {
            x_train: self.x_train.slice(s![..keep, .., .., ..]).to_owned(),
            y_train: self.y_train.slice(s![..keep]).to_owned(),
            x_val: self.x_train.slice(s![keep.., .., .., ..]).to_owned(),
            y_val: self.y_train.slice(s![keep..]).to_owned(),
            ..self.clone()
        }
    }

    /// Only the first `count` training images of each class (in their order): a small new
    /// dataset, for transfer learning. Validation and test sets stay as they are.
    ///
    /// ```
    /// let data = cnn_course::datasets::generated_clothing(30, 0, Default::default(), 1)?.few_per_class(2);
    /// assert_eq!(data.class_counts(), vec![2, 2, 2]);
    /// # Ok::<(), cnn_course::Error>(())
    /// ```
    pub fn few_per_class(&self, count: usize) -> Dataset {
        let mut taken = vec![0; self.class_names.len().max(1)];
        let rows: Vec<usize> = (0..self.y_train.len())
            .filter(|&i| match taken.get_mut(self.y_train[i] as usize) {
                Some(n) if *n < count => {
                    *n += 1;
                    true
                }
                _ => false,
            })
            .collect();
        Dataset {
            x_train: self.x_train.select(ndarray::Axis(0), &rows),
            y_train: self.y_train.select(ndarray::Axis(0), &rows),
            ..self.clone()
        }
    }

    /// The index of the first training image of the class named `class`.
    ///
    /// ```
    /// let clothes = cnn_course::datasets::generated_clothing(30, 0, Default::default(), 1)?;
    /// let i = clothes.index_of("dress").unwrap();
    /// assert_eq!(clothes.y_train[i], 1);
    /// # Ok::<(), cnn_course::Error>(())
    /// ```
    pub fn index_of(&self, class: &str) -> crate::Result<usize> {
        let Some(label) = self.class_names.iter().position(|name| name == class) else {
            crate::bail!(
                Usage,
                "index_of: there is no class {class:?}; hint: the classes are {:?}",
                self.class_names
            );
        };
        match self.y_train.iter().position(|&y| y as usize == label) {
            Some(i) => Ok(i),
            None => crate::bail!(
                Data,
                "index_of: no training image is a {class}; hint: take more training images"
            ),
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
