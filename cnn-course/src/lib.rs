//! # cnn-course
//!
//! Keras-style convolutional neural networks in Rust, on [candle], for a course taken in
//! JupyterLab. A notebook needs one dependency line and one `use`:
//!
//! ```text
//! :dep cnn-course = { path = "../cnn-course" }
//! use cnn_course::prelude::*;
//! ```
//!
//! ```
//! use cnn_course::prelude::*;
//! # fn main() -> cnn_course::Result<()> {
//! set_seed(0);
//! let mut model = Sequential::new();
//! model.add(Conv2D::new(32, 3).activation("relu").input_shape((28, 28, 1)))?;
//! model.add(MaxPool2D::new(2))?;
//! model.add(Flatten::new())?;
//! model.add(Dense::new(10).activation("softmax"))?;
//! model.compile("rmsprop", "categorical_crossentropy", &["accuracy"])?;
//! println!("{}", model.summary());
//! # Ok(()) }
//! ```
//!
//! Where to find each idea: [`layers`] (one file per layer), [`model`] (the Sequential
//! model, its summary and weights), [`training`] (compile, fit, evaluate, predict),
//! [`losses`], [`optimizers`], [`callbacks`], [`padding`] (output-size arithmetic),
//! [`initializers`], [`arrays`] (ndarray ↔ tensor), [`datasets`], [`rng`] (seeding).

#![warn(missing_docs)]

pub mod activation;
pub mod arrays;
pub mod augment;
pub(crate) mod backend;
pub mod callbacks;
pub mod choice;
pub mod convolution;
pub mod datasets;
pub mod device;
pub mod error;
pub mod exercises;
pub mod figures;
pub mod files;
pub mod images;
pub mod initializers;
pub mod inspect;
pub mod labels;
pub mod layers;
pub mod losses;
pub mod model;
pub mod models;
pub mod optimizers;
pub mod padding;
pub mod rng;
pub mod training;

#[cfg(test)]
pub(crate) mod testing;

pub use activation::Activation;
pub use arrays::{ArrayStats, IntoTensor};
pub use callbacks::{BackupAndRestore, Callback, EarlyStopping, Mode, ModelCheckpoint};
pub use choice::Choice;
pub use device::default_device;
pub use error::{Error, Result};
pub use layers::{AvgPool2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D, WithInputShape};
pub use losses::Loss;
pub use model::{ModelLayer, Sequential, Summary};
pub use optimizers::{Adadelta, Adagrad, Adam, Adamax, Nadam, RMSprop, SGD};
pub use padding::{conv_output_size, Padding};
pub use rng::set_seed;
pub use training::{Evaluation, Fit, History, Metric};

/// The blank a notebook exercise leaves for the learner to fill. It stops the cell with
/// a compile error that says what to write — unlike `todo!()`, whose panic evcxr reports
/// as a successful cell, so "Run All" would go on past it. Nothing is lost: a cell that
/// does not compile changes no variable.
///
/// ```compile_fail
/// let kernel: ndarray::Array2<f32> = cnn_course::exercise!("a 3×3 kernel with 1s in the middle column");
/// ```
#[macro_export]
macro_rules! exercise {
    ($task:literal) => {
        compile_error!(concat!(
            "exercise: ",
            $task,
            " — replace exercise!(…) with your code, then run the cell again"
        ))
    };
}

/// The last line of every notebook's first cell: says where models will train.
///
/// It also settles a quirk of the evcxr kernel: the first cell of a session that uses `?`
/// is compiled twice, and a figure that cell ends with is printed as text instead of drawn.
/// Running `ready()?` first spends that on a line of text.
pub fn ready() -> Result<()> {
    let device = Sequential::new().device_description();
    println!("cnn-course {}: models train on the {device}", env!("CARGO_PKG_VERSION"));
    Ok(())
}

/// The crates a notebook uses alongside this one, so `:dep cnn-course` is enough.
pub use candle_core as candle;
pub use candle_nn;
pub use image;
pub use ndarray;
pub use plotters;

/// Everything a notebook needs: `use cnn_course::prelude::*;`.
pub mod prelude {
    pub use crate::augment;
    pub use crate::convolution::{
        convolve1d, convolve2d, convolve_channels, kernel_similarity, max_pool2d, most_similar,
    };
    pub use crate::datasets::{clothing, digits, small_colour_images, Dataset};
    pub use crate::exercise;
    pub use crate::figures::{
        compare_histories, confusion_matrix, feature_maps, image_grid, imshow, kernels, plot_history, plot_steps,
        predictions, probabilities, row, samples, Colormap, Figure,
    };
    pub use crate::images::{load_digit, load_grey, load_image, load_rgba, prepare_digit, resize, save_image};
    pub use crate::inspect::describe_feature_maps;
    pub use crate::labels::{argmax_rows, count_correct, one_hot, to_categorical};
    pub use crate::layers::WithInputShape;
    pub use crate::{
        conv_output_size, set_seed, Activation, Adadelta, Adagrad, Adam, Adamax, ArrayStats, AvgPool2D,
        BackupAndRestore, BatchNormalization, Callback, Conv2D, Dense, Dropout, EarlyStopping, Error, Evaluation, Fit,
        Flatten, History, IntoTensor, Loss, MaxPool2D, Metric, Mode, ModelCheckpoint, Nadam, Padding, RMSprop, Result,
        Sequential, Summary, SGD,
    };
    pub use ndarray::{array, s, Array, Array1, Array2, Array3, Array4, ArrayD, Axis};
}
