//! Every mistake a learner can make gets an error — never a panic — that names the layer
//! or function, what was expected, what came, and a hint. One test per case, pinning the
//! message.

mod common;

use cnn_course::prelude::*;
use common::{blobs, small_cnn};

fn message<T: std::fmt::Debug>(result: Result<T>) -> String {
    result.expect_err("this mistake should be refused").to_string()
}

fn compiled() -> Sequential {
    let mut model = small_cnn().unwrap();
    model
        .compile("adam", "categorical_crossentropy", &["accuracy"])
        .unwrap();
    model
}

#[test]
fn wrong_channel_count() {
    let model = compiled();
    let x = Array4::<f32>::zeros((32, 8, 8, 3));
    let y = Array2::<f32>::zeros((32, 3));
    assert_eq!(
        message(model.evaluate(&x, &y)),
        "conv2d: expected input with 1 channel, got 3 (input shape (32, 8, 8, 3)); hint: the model was built with input_shape (8, 8, 1); convert the images (e.g. to greyscale) or rebuild the first layer with 3 channels"
    );
}

#[test]
fn missing_channel_axis() {
    let mut model = compiled();
    let x = Array3::<f32>::zeros((10, 8, 8));
    let y = Array2::<f32>::zeros((10, 3));
    assert_eq!(
        message(model.fit(&x, &y, Fit::new())),
        "fit: expected input of shape (None, 8, 8, 1), got (10, 8, 8); hint: add the channel axis: x.insert_axis(Axis(3)) turns (samples, rows, cols) into (samples, rows, cols, 1)"
    );
}

#[test]
fn images_given_to_a_dense_model() {
    let mut model = Sequential::new();
    model.add(Dense::new(3).activation("softmax").input_shape(784)).unwrap();
    let x = Array4::<f32>::zeros((5, 28, 28, 1));
    assert_eq!(
        message(model.predict(&x)),
        "predict: expected input of shape (None, 784), got (5, 28, 28, 1); hint: flatten each sample first: x.into_shape_with_order((5, 784))"
    );
}

#[test]
fn kernel_larger_than_its_input() {
    let mut model = Sequential::new();
    model.add(Conv2D::new(8, 3).input_shape((6, 6, 1))).unwrap();
    model.add(MaxPool2D::new(2)).unwrap();
    assert_eq!(
        message(model.add(Conv2D::new(8, 5))),
        "conv2d_1: kernel 5×5 (covering 5×5 with dilation 1) is larger than its input 2×2 with padding 'valid'; hint: use .padding(\"same\"), a smaller kernel, or fewer pooling layers before this one"
    );
    assert_eq!(model.layers().len(), 2, "a failed add leaves the model unchanged");
}

#[test]
fn stride_zero() {
    let mut model = Sequential::new();
    assert_eq!(
        message(model.add(Conv2D::new(8, 3).strides(0).input_shape((28, 28, 1)))),
        "conv2d: strides must be at least 1, got 0×0; hint: use a positive size such as 2"
    );
}

#[test]
fn pool_size_zero() {
    let mut model = Sequential::new();
    model.add(Conv2D::new(8, 3).input_shape((28, 28, 1))).unwrap();
    assert_eq!(
        message(model.add(MaxPool2D::new(0))),
        "max_pool2d: pool size must be at least 1, got 0×0; hint: use a positive size such as 2"
    );
}

#[test]
fn dropout_rate_of_one() {
    let mut model = Sequential::new();
    model.add(Dense::new(4).input_shape(10)).unwrap();
    assert_eq!(
        message(model.add(Dropout::new(1.0))),
        "dropout: rate must be in [0, 1), got 1; hint: the rate is the fraction of inputs dropped, e.g. Dropout::new(0.25)"
    );
}

#[test]
fn first_layer_without_input_shape() {
    let mut model = Sequential::new();
    assert_eq!(
        message(model.add(Conv2D::new(8, 3))),
        "conv2d: the first layer needs an input shape; hint: Conv2D::new(…).input_shape((28, 28, 1)) for 28×28 greyscale images, or .input_shape(784) for flat vectors"
    );
}

#[test]
fn dense_after_conv_without_flatten() {
    let mut model = Sequential::new();
    model.add(Conv2D::new(8, 3).input_shape((28, 28, 1))).unwrap();
    assert_eq!(
        message(model.add(Dense::new(10))),
        "dense: Dense expects flat input of shape (features,), got input shape (None, 26, 26, 8); hint: add Flatten() before this Dense layer"
    );
}

#[test]
fn unknown_activation() {
    let mut model = Sequential::new();
    assert_eq!(
        message(model.add(Dense::new(10).activation("rellu").input_shape(4))),
        "dense: unknown activation 'rellu'; hint: use one of \"relu\", \"softmax\", \"sigmoid\", \"tanh\", \"linear\""
    );
}

#[test]
fn labels_that_do_not_match_the_outputs() {
    let mut model = compiled();
    let (x, _, _) = blobs(30, 1);
    let y = Array2::<f32>::zeros((30, 10));
    assert_eq!(
        message(model.fit(&x, &y, Fit::new())),
        "fit: expected labels of shape (30, 3) for the model's 3 outputs, got (30, 10); hint: the last Dense layer needs one unit per class"
    );
}

#[test]
fn class_numbers_with_the_categorical_loss() {
    let mut model = compiled();
    let (x, _, labels) = blobs(30, 1);
    assert_eq!(
        message(model.fit(&x, &labels, Fit::new())),
        "fit: categorical_crossentropy needs one-hot labels of shape (30, 3), got class numbers of shape (30,); hint: one-hot encode them with to_categorical(...), or compile with \"sparse_categorical_crossentropy\""
    );
}

#[test]
fn label_rows_that_are_not_one_hot() {
    // A row of zeros would give a loss of 0 whatever the model says; two 1s count twice.
    let model = compiled();
    let (x, y, _) = blobs(4, 1);
    for (row, value, sum) in [(2, 0.0, "0"), (1, 1.0, "2")] {
        let mut bad = y.clone();
        bad.row_mut(row).fill(0.0);
        bad[[row, 0]] = value;
        bad[[row, 1]] = value;
        assert_eq!(
            message(model.evaluate(&x, &bad)),
            format!("evaluate: row {row} of the labels adds up to {sum}, not 1: categorical_crossentropy needs one 1 per row (or probabilities that add up to 1); hint: make the labels with to_categorical(...)")
        );
    }
    // Soft labels (label smoothing) that add up to 1 are fine.
    let soft = y.mapv(|v| v * 0.9 + 0.1 / 3.0);
    assert!(model.evaluate(&x, &soft).is_ok());
}

#[test]
fn sparse_labels_out_of_range() {
    let mut model = small_cnn().unwrap();
    model
        .compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    let (x, _, _) = blobs(3, 1);
    let labels = Array1::from(vec![0usize, 1, 3]);
    assert_eq!(
        message(model.fit(&x, &labels, Fit::new())),
        "fit: labels must be class numbers 0..2, found 3; hint: the last Dense layer needs one unit per class"
    );
}

#[test]
fn different_numbers_of_samples_and_labels() {
    let mut model = compiled();
    let (x, y, _) = blobs(30, 1);
    let y = y.slice(s![..20, ..]).to_owned();
    assert_eq!(
        message(model.fit(&x, &y, Fit::new())),
        "fit: 30 input samples but 20 labels (labels shape (20, 3)); hint: x and y must have one row per sample, in the same order"
    );
}

#[test]
fn empty_dataset() {
    let mut model = compiled();
    let x = Array4::<f32>::zeros((0, 8, 8, 1));
    let y = Array2::<f32>::zeros((0, 3));
    assert_eq!(
        message(model.fit(&x, &y, Fit::new())),
        "fit: the dataset is empty (input shape (0, 8, 8, 1)); hint: check how the arrays were loaded or sliced"
    );
}

#[test]
fn validation_split_of_zero_or_one() {
    let mut model = compiled();
    let (x, y, _) = blobs(30, 1);
    for split in [0.0, 1.0] {
        assert_eq!(
            message(model.fit(&x, &y, Fit::new().validation_split(split))),
            format!("fit: validation_split must be between 0 and 1 (exclusive), got {split}; hint: 0.2 keeps the last 20 % of the samples for validation; leave it out for no validation")
        );
    }
}

#[test]
fn fit_before_compile() {
    let mut model = small_cnn().unwrap();
    let (x, y, _) = blobs(30, 1);
    assert_eq!(
        message(model.fit(&x, &y, Fit::new())),
        "fit: the model is not compiled; hint: call model.compile(\"adam\", \"categorical_crossentropy\", &[\"accuracy\"]) first"
    );
}

#[test]
fn unknown_optimizer_loss_and_metric() {
    let mut model = small_cnn().unwrap();
    assert_eq!(
        message(model.compile("adamw", "categorical_crossentropy", &[])),
        "compile: unknown optimizer 'adamw'; hint: use one of \"sgd\", \"rmsprop\", \"adam\", \"adamax\", \"nadam\", \"adagrad\", \"adadelta\""
    );
    assert_eq!(
        message(model.compile("adam", "categorical_crossentropy", &["precision"])),
        "compile: unknown metric 'precision'; hint: use &[\"accuracy\"], or &[] for none"
    );
}

#[test]
fn batch_size_zero() {
    let mut model = compiled();
    let (x, y, _) = blobs(30, 1);
    assert_eq!(
        message(model.fit(&x, &y, Fit::new().batch_size(0))),
        "fit: batch_size must be at least 1, got 0; hint: 32 is the usual default"
    );
}

#[test]
fn monitoring_validation_loss_without_validation_data() {
    let mut model = compiled();
    let (x, y, _) = blobs(30, 1);
    assert_eq!(
        message(model.fit(&x, &y, Fit::new().callback(EarlyStopping::new()))),
        "EarlyStopping: monitoring 'val_loss' needs validation data; hint: pass .validation_split(0.2) or .validation_data(&x_val, &y_val) to fit, or monitor \"loss\""
    );
}

#[test]
fn early_stopping_with_a_min_delta_that_is_not_a_number() {
    for delta in [f64::NAN, f64::INFINITY] {
        let mut model = compiled();
        let (x, y, _) = blobs(30, 1);
        let stopping = EarlyStopping::new().monitor("loss").min_delta(delta);
        assert_eq!(
            message(model.fit(&x, &y, Fit::new().verbose(0).callback(stopping))),
            format!("EarlyStopping: min_delta must be a finite number, got {}; hint: 0.001 counts only improvements larger than 0.001", delta.abs())
        );
    }
}

#[test]
fn loading_weights_of_another_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.safetensors");
    let model = small_cnn().unwrap();
    model.save_weights(&path).unwrap();
    let mut other = Sequential::new();
    other
        .add(Conv2D::new(6, 3).activation("relu").input_shape((8, 8, 1)))
        .unwrap();
    other.add(Flatten::new()).unwrap();
    other.add(Dense::new(3).activation("softmax")).unwrap();
    let before = other.layers()[0].get_weights().unwrap();
    let err = message(other.load_weights(&path));
    assert_eq!(
        err,
        format!(
            "{}: these weights do not fit this model:\n  different shape: conv2d/kernel is (3, 3, 1, 4) in the file, (3, 3, 1, 6) in this model\n  different shape: conv2d/bias is (4,) in the file, (6,) in this model\n  different shape: dense/kernel is (36, 3) in the file, (216, 3) in this model\nhint: build the model with the same layers (and layer names) as the one that saved the file, then load_weights",
            path.display()
        )
    );
    assert_eq!(
        other.layers()[0].get_weights().unwrap(),
        before,
        "nothing changes when loading fails"
    );
}

#[test]
fn loading_weights_that_are_not_numbers() {
    // A file whose Dense kernel holds a NaN (written by another program: this crate never
    // saves one) is refused, as set_weights refuses NaN values.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.safetensors");
    let model = small_cnn().unwrap();
    model.save_weights(&path).unwrap();
    let mut tensors = candle_core::safetensors::load(&path, &candle_core::Device::Cpu).unwrap();
    let kernel = &tensors["dense/kernel"];
    let mut values = kernel.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    values[5] = f32::NAN;
    let damaged = candle_core::Tensor::from_vec(values, kernel.dims(), &candle_core::Device::Cpu).unwrap();
    tensors.insert("dense/kernel".into(), damaged);
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let other = small_cnn().unwrap();
    let before = other.layers()[3].get_weights().unwrap();
    assert_eq!(
        message(other.load_weights(&path)),
        format!(
            "{}: dense/kernel holds NaN or infinite values, which would make every prediction NaN; hint: load weights saved from a model whose training did not diverge",
            path.display()
        )
    );
    assert_eq!(other.layers()[3].get_weights().unwrap(), before, "nothing changes");
}

#[test]
fn loading_a_file_that_is_not_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.safetensors");
    std::fs::write(&path, b"this is not a weights file").unwrap();
    let err = message(small_cnn().unwrap().load_weights(&path));
    assert!(
        err.starts_with(&format!(
            "{}: not a readable safetensors weights file (",
            path.display()
        )),
        "{err}"
    );
    assert!(
        err.ends_with("hint: the file may be truncated or of another format; save it again with model.save_weights"),
        "{err}"
    );
}

#[test]
fn nan_in_the_inputs() {
    let mut model = compiled();
    let (mut x, y, _) = blobs(30, 1);
    x[[24, 3, 3, 0]] = f32::NAN;
    assert_eq!(
        message(model.fit(&x, &y, Fit::new())),
        "fit: the inputs contain NaN (first in sample 24); hint: check how the data was loaded and scaled — pixels should be numbers in 0..1"
    );
}
