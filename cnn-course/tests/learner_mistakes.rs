//! Mistakes learners make, beyond `bad_input.rs`: each gets an error that says what to
//! fix (pinned here), never a panic, a hang, an aborted process or a wrong number.

mod common;

use cnn_course::exercises::{ch1, ch5, ch6};
use cnn_course::layers::LayerSpec;
use cnn_course::prelude::*;
use common::{blobs, seeded, small_cnn};
use std::path::Path;

fn message<T: std::fmt::Debug>(result: Result<T>) -> String {
    result.expect_err("an error").to_string()
}

/// Every layer's weights, to compare before and after.
fn every_weight(model: &Sequential) -> Result<Vec<Vec<ArrayD<f32>>>> {
    model.layers().iter().map(|l| l.get_weights()).collect()
}

fn flat_model(units: usize, activation: &str) -> Result<Sequential> {
    let mut model = Sequential::new();
    model.add(Flatten::new().input_shape((8, 8, 1)))?;
    model.add(Dense::new(units).activation(activation))?;
    Ok(model)
}

// ---- Binary models ---------------------------------------------------------------------

#[test]
fn a_one_unit_output_with_a_categorical_loss_is_refused_and_names_the_loss_to_use() -> Result<()> {
    for activation in ["sigmoid", "softmax"] {
        let mut model = flat_model(1, activation)?;
        assert_eq!(
            message(model.compile("adam", "categorical_crossentropy", &["accuracy"])),
            "dense: categorical_crossentropy needs one output per class, and this model has 1 output — the loss would always be 0 (the softmax of one number is 1); hint: for two classes use Dense(1, \"sigmoid\") with \"binary_crossentropy\" and 0/1 labels, or Dense(2, \"softmax\") with categorical_crossentropy"
        );
    }
    Ok(())
}

#[test]
fn binary_crossentropy_trains_a_yes_no_model_and_reports_binary_accuracy() -> Result<()> {
    let _seed = seeded(4);
    // Is the blob at the top (classes 0 and 1) or at the bottom (class 2)?
    let (x, _, classes) = blobs(240, 3);
    let y: Array1<f32> = classes.mapv(|c| f32::from(u8::from(c == 2)));
    let mut model = flat_model(1, "sigmoid")?;
    model.compile("adam", "binary_crossentropy", &["accuracy"])?;
    let history = model.fit(&x, &y, Fit::new().epochs(15).batch_size(16).verbose(0))?;
    assert!(history.loss[14] < 0.5 * history.loss[0], "{:?}", history.loss);
    let score = model.evaluate(&x, &y)?;
    assert!(score.accuracy > 0.95, "{score}");
    let classes_predicted = model.predict_classes(&x)?;
    let agree = classes_predicted
        .iter()
        .zip(&y)
        .filter(|(p, t)| (**p as f32) == **t)
        .count();
    assert_eq!(agree as f64 / 240.0, score.accuracy);
    Ok(())
}

#[test]
fn a_layer_after_the_softmax_output_is_refused() -> Result<()> {
    let mut model = flat_model(3, "softmax")?;
    model.add(Dropout::new(0.5))?;
    assert_eq!(
        message(model.compile("adam", "categorical_crossentropy", &["accuracy"])),
        "dropout: dropout comes after the softmax output of 'dense', so the loss would see probabilities where it expects scores; hint: end the model with the softmax layer — put Dropout before the last Dense layer"
    );
    Ok(())
}

// ---- Checkers never panic ---------------------------------------------------------------

#[test]
fn checkers_say_which_shape_they_expected_instead_of_panicking() -> Result<()> {
    let small_photo = Array3::<f32>::zeros((50, 50, 3));
    let check = ch1::red_pixel(&small_photo, &array![0.7, 0.1, 0.1]);
    assert!(!check.passed);
    assert_eq!(check.message, "the photo has shape (50, 50, 3); this exercise reads row 95, column 300, so it needs a colour photo of at least 96×301 pixels, shape (rows, cols, 3) — use the course's photos, cnn_course::images::stop_sign()? or bricks()?");
    let check = ch1::green_square(&small_photo, &small_photo);
    assert_eq!(check.message, "the photo has shape (50, 50, 3); this exercise paints rows 10..60 and columns 10..60, so it needs a colour photo of at least 60×60 pixels, shape (rows, cols, 3) — use the course's photos, cnn_course::images::stop_sign()? or bricks()?");
    let check = ch1::patch_cleared(&Array2::zeros((28, 28)), &Array2::zeros((10, 10)));
    assert_eq!(check.message, "your image has shape (10, 10) and the shirt (28, 28); expected both (28, 28) — clear the patch in a copy of the whole shirt, not in a slice of it");
    let mut mlp = Sequential::new();
    mlp.add(Flatten::new().input_shape((32, 32, 3)))?;
    mlp.add(Dense::new(10))?;
    let check = ch6::feature_map_shape(&mlp, 1, &ArrayD::zeros(vec![1, 3072]));
    assert_eq!(check.message, "the model's first layer outputs (None, 3072), not feature maps (rows, cols, maps): this exercise reads the CNN's first Conv2D layer — pass `cnn`, not the MLP");
    let check = ch5::first_layer_weights(&mlp, &[]);
    assert_eq!(check.message, "the model's first layer, flatten (Flatten), is not a Conv2D: this exercise reads a convolution's kernels and biases — pass the trained model whose first layer is Conv2D");
    let image = Array3::<f32>::zeros((32, 32, 3));
    let check = ch6::shift_right(&image, &image, 40);
    assert_eq!(
        check.message,
        "a shift of 40 pixels is wider than the image, 32 columns: shift by a few pixels, e.g. 2"
    );
    Ok(())
}

// ---- Checkpoints ------------------------------------------------------------------------

#[test]
fn checkpoint_paths_name_each_epoch_as_in_keras() -> Result<()> {
    let _seed = seeded(5);
    let dir = tempfile::tempdir().unwrap();
    let (x, y, _) = blobs(60, 1);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let template = dir.path().join("weights.{epoch:02d}-{val_loss:.2f}.safetensors");
    let checkpoint = ModelCheckpoint::new(template.to_string_lossy()).verbose(false);
    let history = model.fit(
        &x,
        &y,
        Fit::new()
            .epochs(3)
            .validation_split(0.2)
            .verbose(0)
            .callback(checkpoint),
    )?;
    for (epoch, val_loss) in history.val_loss.iter().enumerate() {
        let name = format!("weights.{:02}-{val_loss:.2}.safetensors", epoch + 1);
        assert!(dir.path().join(&name).is_file(), "{name}");
    }
    Ok(())
}

#[test]
fn a_misspelt_checkpoint_monitor_or_mode_is_refused_even_when_every_epoch_is_saved() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let (x, y, _) = blobs(30, 1);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let path = dir.path().join("best.safetensors").to_string_lossy().into_owned();
    let typo = ModelCheckpoint::new(&path).monitor("val_acuracy").verbose(false);
    assert_eq!(
        message(model.fit(&x, &y, Fit::new().verbose(0).callback(typo))),
        "ModelCheckpoint: cannot monitor 'val_acuracy'; hint: use \"loss\", \"accuracy\", \"val_loss\" or \"val_accuracy\""
    );
    let mode = ModelCheckpoint::new(&path)
        .monitor("loss")
        .mode("maximum")
        .verbose(false);
    assert!(message(model.fit(&x, &y, Fit::new().verbose(0).callback(mode)))
        .starts_with("ModelCheckpoint: unknown mode 'maximum'"));
    assert!(!Path::new(&path).exists(), "nothing was trained or saved");
    Ok(())
}

#[test]
fn a_checkpoint_into_a_missing_folder_creates_it_and_a_folder_as_the_path_fails_before_training() -> Result<()> {
    let _seed = seeded(6);
    let dir = tempfile::tempdir().unwrap();
    let (x, y, _) = blobs(30, 1);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let nested = dir.path().join("runs/today/best.safetensors");
    model.fit(
        &x,
        &y,
        Fit::new()
            .verbose(0)
            .callback(ModelCheckpoint::new(nested.to_string_lossy()).verbose(false)),
    )?;
    assert!(nested.is_file());
    let before = model.get_layer("dense")?.get_weights()?;
    let folder = ModelCheckpoint::new(dir.path().to_string_lossy()).verbose(false);
    assert_eq!(
        message(model.fit(&x, &y, Fit::new().epochs(3).verbose(0).callback(folder))),
        format!(
            "{}: is a folder, not a file; hint: add a file name, e.g. best.safetensors inside it",
            dir.path().display()
        )
    );
    assert_eq!(model.get_layer("dense")?.get_weights()?, before, "nothing was trained");
    Ok(())
}

// ---- Sizes and settings -----------------------------------------------------------------

#[test]
fn a_layer_too_large_for_memory_is_refused_when_added() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Flatten::new().input_shape((512, 512, 16)))?;
    // 671 GB: more than a laptop's memory, or a GPU's.
    let err = message(model.add(Dense::new(10_000)));
    let place = match model.device().is_cpu() {
        true => "this machine",
        false => "the GPU (",
    };
    assert!(
        err.starts_with(&format!("dense: a weight of shape (4,194,304, 10,000) has 41,943,040,000 values; training it needs about 671.1 GB (weights, gradients and optimizer state), and {place}")),
        "{err}"
    );
    assert!(
        err.ends_with(" GB available; hint: shrink the input first, with pooling or strides, or use fewer units"),
        "{err}"
    );
    assert_eq!(model.layers().len(), 1, "the model is unchanged");
    Ok(())
}

#[test]
fn an_input_shape_too_large_to_hold_one_sample_is_refused_for_every_first_layer() {
    // Every layer computes its sizes from the input shape; one that cannot be counted
    // (or held) must stop at the first layer, whatever that layer is.
    let huge = (1usize << 32, 1usize << 32, 2);
    let firsts: Vec<(&str, LayerSpec)> = vec![
        ("dropout", Dropout::new(0.5).input_shape(huge)),
        ("batch_normalization", BatchNormalization::new().input_shape(huge)),
        ("flatten", Flatten::new().input_shape(huge)),
        ("conv2d", Conv2D::new(4, 3).input_shape(huge)),
        (
            "max_pool2d",
            MaxPool2D::new(2).input_shape((usize::MAX, usize::MAX, usize::MAX)),
        ),
        ("dense", Dense::new(4).input_shape(usize::MAX)),
    ];
    for (name, layer) in firsts {
        let mut model = Sequential::new();
        let err = message(model.add(layer));
        assert!(
            err.starts_with(&format!("{name}: one sample of input shape (None, ")),
            "{err}"
        );
        assert!(
            err.ends_with(" GB available); hint: input_shape is the size of one sample, e.g. .input_shape((28, 28, 1)) for 28×28 greyscale images"),
            "{err}"
        );
        assert!(model.layers().is_empty(), "the model is unchanged");
    }
}

#[test]
fn a_same_padded_window_too_wide_to_count_is_refused_without_blaming_valid_padding() {
    let mut model = Sequential::new();
    let wide = Conv2D::new(2, 2)
        .dilation_rate(usize::MAX)
        .padding("same")
        .input_shape((5, 5, 1));
    assert_eq!(
        message(model.add(wide)),
        format!("conv2d: kernel 2×2 with dilation {} and strides 1×1 covers more pixels than can be counted; hint: kernels, strides and dilations are a few pixels, e.g. Conv2D::new(32, 3).dilation_rate(2)", usize::MAX)
    );
    for (pool, kind) in [
        (
            MaxPool2D::new(usize::MAX)
                .strides(2)
                .padding("same")
                .input_shape((5, 5, 1)),
            "max_pool2d",
        ),
        (
            AvgPool2D::new(usize::MAX)
                .strides(2)
                .padding("same")
                .input_shape((5, 5, 1)),
            "avg_pool2d",
        ),
    ] {
        let class = if kind == "max_pool2d" { "MaxPool2D" } else { "AvgPool2D" };
        assert_eq!(
            message(model.add(pool)),
            format!("{kind}: pool {0}×{0} with strides 2×2 covers more pixels than can be counted; hint: pools and strides are a few pixels, e.g. {class}::new(2)", usize::MAX)
        );
    }
    // A wide dilation that can be counted is fine with `same` padding: most taps read zeros.
    model
        .add(
            Conv2D::new(2, 2)
                .dilation_rate(1usize << 32)
                .padding("same")
                .input_shape((5, 5, 1)),
        )
        .unwrap();
    assert_eq!(model.output_shape(), vec![5, 5, 2]);
}

#[test]
fn windows_far_larger_than_their_input_are_refused_when_added() -> Result<()> {
    // With `same` padding any window size is allowed, and gathering a window's values for
    // every output pixel (convolution's im2col, the GPU's pooling) grows with the window:
    // 100×100 outputs × 5,000×5,000 positions is 8,000 GB for 8 images.
    let mut model = Sequential::new();
    let conv = Conv2D::new(1, 5000).padding("same").input_shape((100, 100, 1));
    let err = message(model.add(conv));
    assert!(
        err.starts_with("conv2d: its 5000×5000 windows over a 100×100×1 input read 250,000,000,000 values per image, about 32000.0 GB for the 32 images a core may work on at once, and "),
        "{err}"
    );
    assert!(
        err.ends_with(" GB available; hint: use a smaller window (one larger than its input reads mostly padding) or a smaller input"),
        "{err}"
    );
    let pool = MaxPool2D::new(1 << 40).padding("same").input_shape((8, 8, 1));
    let err = message(model.add(pool));
    assert!(err.starts_with("max_pool2d: its 1099511627776×1099511627776 windows over a 8×8×1 input read too many values per image, about inf GB"), "{err}");
    assert!(model.layers().is_empty(), "the model is unchanged");
    // A pool larger than its small input, as deep in a network, still works and is quick:
    // the CPU reads only the pixels under each window.
    model.add(AvgPool2D::new(500).padding("same").input_shape((4, 4, 1)))?;
    model.add(Flatten::new())?;
    model.compile("sgd", "mse", &[] as &[&str])?;
    let x = Array4::from_shape_fn((2, 4, 4, 1), |(n, r, c, _)| (n * 16 + r * 4 + c) as f32);
    let mean = model.predict(&x)?;
    assert_eq!(mean.shape(), &[2, 1]);
    assert_eq!(
        (mean[[0, 0]], mean[[1, 0]]),
        (7.5, 23.5),
        "the mean of each image's 16 pixels"
    );
    Ok(())
}

#[test]
fn a_step_whose_feature_maps_do_not_fit_in_memory_is_refused_before_it_starts() -> Result<()> {
    // 16,384 filters of 1×1: few weights, but 268 MB of feature maps per 64×64 image,
    // 1.1 TB for 4,096 images. The allocation would abort the notebook's process.
    let mut model = Sequential::new();
    model.add(Conv2D::new(1 << 14, 1).input_shape((64, 64, 1)))?;
    model.add(Conv2D::new(1, 1))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(1))?;
    model.compile("sgd", "mse", &[] as &[&str])?;
    let (x, y) = (Array4::<f32>::zeros((4096, 64, 64, 1)), Array2::<f32>::zeros((4096, 1)));
    let err = message(model.layer_outputs(&x));
    assert!(
        err.starts_with("layer_outputs: the feature maps of 4096 samples need about 1099.6 GB, and "),
        "{err}"
    );
    assert!(
        err.ends_with(" GB available; hint: pass fewer samples at a time, e.g. x.slice(s![..10, .., .., ..])"),
        "{err}"
    );
    let weights_before = model.get_layer("dense")?.get_weights()?;
    let err = message(model.fit(&x, &y, Fit::new().batch_size(4096).verbose(0)));
    // The CPU keeps a copy of the weight gradients per piece of 8 samples; a GPU runs the
    // batch as one piece.
    let (total, gradients) = match model.device().is_cpu() {
        true => ("3299.0", "0.1"),
        false => ("3298.9", "0.0"),
    };
    assert!(
        err.starts_with(&format!("fit: a training step over a batch of 4096 needs about {total} GB (3298.9 GB of feature maps, {gradients} GB of weight gradients and optimizer state), and ")),
        "{err}"
    );
    assert!(err.ends_with(" GB available; hint: use a smaller batch_size, or a smaller model (pooling shrinks the feature maps and the Dense layer after Flatten)"), "{err}");
    assert_eq!(
        model.get_layer("dense")?.get_weights()?,
        weights_before,
        "nothing was trained"
    );
    Ok(())
}

#[test]
fn generating_more_clothing_than_memory_holds_is_refused_before_drawing() {
    use cnn_course::datasets::generated_clothing;
    let err = message(generated_clothing(1_000_000_000_000, 0, Default::default(), 1));
    assert!(
        err.starts_with(
            "generated_clothing: 1,000,000,000,000 + 0 images of 28×28 are more than this machine can hold ("
        ),
        "{err}"
    );
    assert!(
        err.ends_with(" GB available); hint: a few thousand images are plenty for an experiment"),
        "{err}"
    );
    assert!(
        message(generated_clothing(usize::MAX, usize::MAX, Default::default(), 1)).starts_with("generated_clothing: ")
    );
}

#[test]
fn optimizer_settings_follow_keras_rules() -> Result<()> {
    let mut model = flat_model(3, "softmax")?;
    let loss = "categorical_crossentropy";
    assert_eq!(
        message(model.compile(
            SGD {
                learning_rate: f64::NAN,
                ..Default::default()
            },
            loss,
            &["accuracy"]
        )),
        "compile: sgd learning_rate must be a number ≥ 0, got NaN; hint: Keras' default is 0.01"
    );
    assert_eq!(
        message(model.compile(
            SGD {
                learning_rate: -0.01,
                ..Default::default()
            },
            loss,
            &["accuracy"]
        )),
        "compile: sgd learning_rate must be a number ≥ 0, got -0.01; hint: Keras' default is 0.01"
    );
    assert_eq!(
        message(model.compile(
            Adam {
                beta_1: 1.0,
                ..Default::default()
            },
            loss,
            &["accuracy"]
        )),
        "compile: adam beta_1 must be in [0, 1), got 1; hint: Keras' default is 0.9"
    );
    Ok(())
}

#[test]
fn a_step_that_would_make_weights_infinite_is_not_applied() -> Result<()> {
    let _seed = seeded(7);
    let (x, y, _) = blobs(30, 2);
    let mut model = small_cnn()?;
    model.compile(
        SGD {
            learning_rate: 1e39,
            ..Default::default()
        },
        "categorical_crossentropy",
        &["accuracy"],
    )?;
    let before = every_weight(&model)?;
    let history = model.fit(&x, &y, Fit::new().epochs(2).verbose(0))?;
    assert_eq!(
        history.stopped_early.as_deref(),
        Some("Epoch 1, step 1/1: the update would make some weights NaN or infinite; training stopped with the weights from before this step. Hint: lower the learning rate (e.g. 10× smaller) and check that the inputs are scaled to 0..1")
    );
    let after = every_weight(&model)?;
    assert_eq!(before, after, "the stop message says the weights were kept: they were");
    Ok(())
}

/// A model with a linear hidden layer before its softmax output: large enough inputs or
/// weights make the output layer's sums overflow f32 (inf − inf is NaN).
fn two_dense_layers() -> Result<Sequential> {
    let mut model = Sequential::new();
    model.add(Flatten::new().input_shape((8, 8, 1)))?;
    model.add(Dense::new(5))?;
    model.add(Dense::new(3).activation("softmax"))?;
    model.compile("sgd", "mse", &[])?;
    Ok(model)
}

#[test]
fn evaluate_and_predict_refuse_to_report_an_overflowed_loss_and_blame_the_huge_inputs() -> Result<()> {
    let _seed = seeded(8);
    let model = two_dense_layers()?;
    let (mut x, y, _) = blobs(6, 3);
    // Floats read from a file of another format, say: the hidden layer's sums overflow.
    let huge = f32::MAX / 2.0;
    x.slice_mut(ndarray::s![2, .., .., ..]).fill(huge);
    // Keras would print loss: nan; a NaN is not a loss, so it is an error with its cause.
    assert_eq!(
        message(model.evaluate(&x, &y)),
        format!(
            "evaluate: the loss is NaN, because the arithmetic overflowed (the largest input is 1.70e38, the largest weight {:.3}, in {name}/kernel); hint: scale the inputs to 0..1 (pixels: divide by 255)",
            largest_weight(&model, "dense")?.max(largest_weight(&model, "dense_1")?),
            name = match largest_weight(&model, "dense")? > largest_weight(&model, "dense_1")? {
                true => "dense",
                false => "dense_1",
            }
        )
    );
    let predicted = message(model.predict(&x));
    assert!(
        predicted.starts_with("predict: the outputs hold NaN (first in sample 2), because the arithmetic overflowed (the largest input is 1.70e38, the largest weight"),
        "{predicted}"
    );
    x.slice_mut(ndarray::s![2, .., .., ..]).fill(0.5);
    assert!(model.evaluate(&x, &y)?.loss.is_finite(), "scaled inputs give a loss");
    Ok(())
}

fn largest_weight(model: &Sequential, layer: &str) -> Result<f32> {
    let kernel = model.get_layer(layer)?.get_weights()?.remove(0);
    Ok(kernel.iter().fold(0f32, |m, v| m.max(v.abs())))
}

#[test]
fn evaluate_blames_huge_weights_when_the_inputs_are_scaled() -> Result<()> {
    let _seed = seeded(9);
    let model = two_dense_layers()?;
    let (x, y, _) = blobs(6, 3);
    for layer in ["dense", "dense_1"] {
        let mut weights = model.get_layer(layer)?.get_weights()?;
        weights[0].fill(1e30);
        model.get_layer(layer)?.set_weights(&weights)?;
    }
    assert_eq!(
        message(model.evaluate(&x, &y)),
        format!(
            "evaluate: the loss is NaN, because the arithmetic overflowed (the largest input is {:.3}, the largest weight 1.00e30, in dense/kernel); hint: training diverged and left huge weights: build the model again and train it with a smaller learning rate (e.g. 10× smaller)",
            x.iter().fold(0f32, |m, v| m.max(v.abs()))
        )
    );
    Ok(())
}

#[test]
fn a_validation_loss_that_is_not_a_number_stops_training_with_the_weights_from_before_the_epoch() -> Result<()> {
    let _seed = seeded(10);
    let (x, y, _) = blobs(12, 4);
    let mut model = two_dense_layers()?;
    // A finite step that leaves weights near 1e29: the next forward pass overflows.
    model.compile(
        SGD {
            learning_rate: 1e30,
            ..Default::default()
        },
        "mse",
        &[],
    )?;
    let before = every_weight(&model)?;
    let history = model.fit(
        &x,
        &y,
        Fit::new().epochs(3).batch_size(32).validation_split(0.5).verbose(0),
    )?;
    assert_eq!(
        history.stopped_early.as_deref(),
        Some("Epoch 1: the validation loss is NaN; training stopped with the weights from before this epoch. Hint: lower the learning rate (e.g. 10× smaller) and check that the inputs are scaled to 0..1")
    );
    assert!(
        history.val_loss.is_empty() && history.loss.is_empty(),
        "no epoch with a NaN is recorded: {history:?}"
    );
    let after = every_weight(&model)?;
    assert_eq!(before, after, "the stop message says the weights went back: they did");
    assert!(model.evaluate(&x, &y)?.loss.is_finite());
    Ok(())
}

#[test]
fn batch_norm_epsilon_must_be_a_positive_number() -> Result<()> {
    for epsilon in [f64::NAN, f64::INFINITY, 0.0] {
        let mut model = flat_model(4, "relu")?;
        assert_eq!(
            message(model.add(BatchNormalization::new().epsilon(epsilon))),
            format!("batch_normalization: momentum must be in [0, 1) and epsilon a number above 0, got momentum 0.99 and epsilon {epsilon}; hint: the Keras defaults are 0.99 and 0.001")
        );
    }
    Ok(())
}

#[test]
fn dropout_of_almost_one_keeps_almost_nothing_but_something() -> Result<()> {
    let _seed = seeded(8);
    let mut model = Sequential::new();
    model.add(Dropout::new(0.999_999).input_shape(10))?;
    model.add(Dense::new(3).activation("softmax"))?;
    model.compile("sgd", "categorical_crossentropy", &["accuracy"])?;
    let x = Array2::<f32>::ones((100, 10));
    let y = to_categorical([0u8; 100], 3)?;
    // Kept values are scaled by 1/(1 − rate) = 10⁶: a finite step, or a clean stop.
    let history = model.fit(&x, &y, Fit::new().verbose(0))?;
    assert!(history.loss.iter().all(|l| l.is_finite()));
    Ok(())
}

#[test]
fn conv_output_size_checks_its_arithmetic() {
    assert_eq!(
        message(conv_output_size(28, 3, 0, 0)),
        "conv_output_size: kernel and stride must be at least 1, got kernel 3, stride 0; hint: a stride of 1 moves the kernel one pixel at a time"
    );
    assert_eq!(
        message(conv_output_size(usize::MAX, 3, 2, 1)),
        "conv_output_size: 18446744073709551615 pixels padded by 2 on each side is too large to count; hint: image sizes are a few thousand pixels at most"
    );
}

#[test]
fn huge_sizes_are_refused_without_overflowing() -> Result<()> {
    // The tests build with overflow checks on, as notebooks do without the project's
    // .cargo/config.toml: an overflow would panic here.
    let mut model = Sequential::new();
    let err = message(model.add(Conv2D::new(4, 3).dilation_rate(usize::MAX / 2).input_shape((8, 8, 1))));
    assert!(err.starts_with("conv2d: kernel 3×3 (covering"), "{err}");
    let err = message(model.add(Conv2D::new(4, usize::MAX).padding("same").input_shape((8, 8, 1))));
    assert!(err.starts_with("conv2d: kernel"), "{err}");
    model.add(
        MaxPool2D::new(2)
            .strides(usize::MAX)
            .padding("same")
            .input_shape((8, 8, 1)),
    )?;
    assert_eq!(model.output_shape(), vec![1, 1, 1]);
    Ok(())
}

// ---- Results that could be silently wrong -------------------------------------------------

#[test]
fn argmax_refuses_nan_and_empty_rows() {
    assert_eq!(
        message(argmax_rows(&array![[0.1f32, f32::NAN]])),
        "argmax_rows: row 0 holds NaN in column 1, which is neither larger nor smaller than anything; hint: the scores came out of a model whose training diverged, or from data with NaN — check them first"
    );
    assert_eq!(
        message(argmax_rows(&Array2::<f32>::zeros((2, 0)))),
        "argmax_rows: the rows have no columns (shape [2, 0]), so there is no largest value; hint: pass one row of scores per sample, one column per class"
    );
}

#[test]
fn a_clone_cannot_train_while_the_model_trains() -> Result<()> {
    use cnn_course::callbacks::{Control, EpochLogs};
    use std::sync::{Arc, Mutex};
    /// Tries to train a clone of the model mid-training and reports what happened.
    struct TrainClone(Sequential, Arc<Mutex<Option<String>>>);
    impl Callback for TrainClone {
        fn on_epoch_end(&mut self, _: usize, _: &EpochLogs, _: &Sequential) -> Result<Control> {
            let (x, y, _) = blobs(9, 3);
            *self.1.lock().unwrap() = self.0.fit(&x, &y, Fit::new().verbose(0)).err().map(|e| e.to_string());
            Ok(Control::Continue)
        }
    }
    let _seed = seeded(9);
    let (x, y, _) = blobs(30, 1);
    let mut model = small_cnn()?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let found = Arc::new(Mutex::new(None));
    let probe = TrainClone(model.clone(), found.clone());
    model.fit(&x, &y, Fit::new().verbose(0).callback(probe))?;
    assert_eq!(
        found.lock().unwrap().as_deref(),
        Some("fit: this model (or a clone of it, which shares its weights) is already training; hint: wait for the other fit to finish, or build a separate model to train independently")
    );
    // Once the first fit is over, the clone trains.
    model.clone().fit(&x, &y, Fit::new().verbose(0))?;
    Ok(())
}

#[test]
fn nan_labels_are_blamed_on_the_labels() -> Result<()> {
    let mut model = flat_model(3, "softmax")?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let x = Array4::<f32>::zeros((2, 8, 8, 1));
    let y = array![[1.0f32, 0.0, 0.0], [f32::NAN, 0.0, 1.0]];
    assert_eq!(
        message(model.fit(&x, &y, Fit::new().verbose(0))),
        "fit: the labels contain NaN (first in row 1); hint: check how the labels were made — the inputs are fine"
    );
    Ok(())
}

// ---- Figures that used to hang -----------------------------------------------------------

#[test]
fn curves_with_values_too_large_to_draw_are_refused_at_once() {
    let history = |loss: Vec<f64>, val_loss: Vec<f64>, accuracy: Vec<f64>| History {
        epoch: vec![1, 2],
        loss,
        accuracy,
        val_loss,
        val_accuracy: vec![],
        stopped_early: None,
    };
    let big = f64::MAX * 0.9;
    let cases = [
        (
            history(vec![1.0, big], vec![], vec![0.5, 0.6]),
            "history.loss",
            format!("{big:e} at position 2"),
        ),
        (
            history(vec![1.0, 0.9], vec![0.8, -big], vec![0.5, 0.6]),
            "history.val_loss",
            format!("{:e} at position 2", -big),
        ),
        (
            history(vec![1.0, 0.9], vec![], vec![big, 0.6]),
            "history.accuracy",
            format!("{big:e} at position 1"),
        ),
        (
            history(vec![1.0, 0.9], vec![], vec![0.5, 1e16]),
            "history.accuracy",
            "1e16 at position 2".to_string(),
        ),
    ];
    for (h, series, value) in &cases {
        assert_eq!(
            message(plot_history(h)),
            format!("plot_history: {series} holds {value}, which cannot be drawn; hint: training diverged there — lower the learning rate, or plot only the values before it")
        );
    }
    assert!(message(compare_histories(&[("a", &cases[0].0)])).starts_with("compare_histories: history.loss holds"));
    // NaN and infinite values are left out of the curve, which still draws.
    assert!(plot_history(&history(vec![f64::INFINITY, 0.9], vec![f64::NAN, 0.8], vec![0.5, 0.6])).is_ok());
    assert_eq!(
        message(probabilities(&[0.5, f32::NAN], &["a", "b"])),
        "probabilities: a probability is between 0 and 1, found NaN; hint: pass one row of model.predict(...) from a model that ends in softmax"
    );
}

// ---- Files ------------------------------------------------------------------------------

#[test]
fn folders_given_for_files_and_missing_folders_are_named() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let model = flat_model(3, "softmax")?;
    assert_eq!(
        message(model.save_weights(dir.path())),
        format!(
            "{}: is a folder, not a file; hint: add a file name, e.g. best.safetensors inside it",
            dir.path().display()
        )
    );
    assert_eq!(
        message(model.load_weights(dir.path())),
        format!(
            "{}: is a folder, not a weights file; hint: give the file's path, e.g. best.safetensors inside it",
            dir.path().display()
        )
    );
    let missing = dir.path().join("figures/curves.png");
    assert_eq!(
        message(imshow(Array2::<f32>::zeros((4, 4)))?.save(&missing)),
        format!(
            "{}: the folder {} does not exist; hint: create it first with std::fs::create_dir_all(\"{}\")?",
            missing.display(),
            dir.path().join("figures").display(),
            dir.path().join("figures").display()
        )
    );
    assert_eq!(
        message(model.save_weights("")),
        "\"\": an empty path; hint: give a file name, e.g. \"best.safetensors\""
    );
    Ok(())
}

#[test]
fn weights_are_not_saved_under_the_name_of_another_frameworks_format() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let (mut model, x, y) = (
        flat_model(3, "softmax")?,
        Array4::<f32>::zeros((3, 8, 8, 1)),
        Array2::<f32>::eye(3),
    );
    let keras = dir.path().join("best_model.h5");
    let expected = format!(
        "{}: a .h5 file is HDF5, Keras' format, but cnn-course saves weights as safetensors; hint: name it {}",
        keras.display(),
        dir.path().join("best_model.safetensors").display()
    );
    assert_eq!(message(model.save_weights(&keras)), expected);
    // A checkpoint says so before the first epoch trains.
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let checkpoint = ModelCheckpoint::new(keras.to_str().unwrap());
    assert_eq!(
        message(model.fit(&x, &y, Fit::new().epochs(1).verbose(0).callback(checkpoint))),
        expected
    );
    assert_eq!(
        message(model.save_weights(dir.path().join("model.PTH"))),
        format!(
            "{}: a .PTH file is PyTorch's format, but cnn-course saves weights as safetensors; hint: name it {}",
            dir.path().join("model.PTH").display(),
            dir.path().join("model.safetensors").display()
        )
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing was written");
    // Any other ending is the learner's choice.
    model.save_weights(dir.path().join("epoch-3.weights"))?;
    Ok(())
}

#[test]
fn saved_files_get_the_usual_permissions_and_no_temporary_is_left() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let usual = dir.path().join("plain");
    std::fs::write(&usual, b"x").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let weights = dir.path().join("w.safetensors");
    flat_model(3, "softmax")?.save_weights(&weights)?;
    assert_eq!(mode(&weights), mode(&usual));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    Ok(())
}

#[test]
fn images_missing_in_another_format_or_transparent_get_clear_answers() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("cat.png");
    let err = message(load_image(&missing));
    assert!(
        err.starts_with(&format!(
            "{}: no such file; hint: check the name — a relative path starts in ",
            missing.display()
        )),
        "{err}"
    );
    // BMP reads like PNG.
    let bmp = dir.path().join("square.bmp");
    image::RgbImage::from_pixel(3, 2, image::Rgb([255, 0, 0]))
        .save(&bmp)
        .unwrap();
    assert_eq!(load_image(&bmp)?.dim(), (2, 3, 3));
    // Transparency cannot hide in three channels.
    let png = dir.path().join("logo.png");
    let mut rgba = image::RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 255, 255]));
    rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
    rgba.save(&png).unwrap();
    assert_eq!(
        message(load_image(&png)),
        format!("{}: the image has transparent pixels, which an array of shape (rows, cols, 3) cannot hold; hint: use load_rgba(path) to keep transparency as a 4th channel, or save the image without transparency", png.display())
    );
    let with_alpha = load_rgba(&png)?;
    assert_eq!(with_alpha.dim(), (2, 2, 4));
    assert_eq!(with_alpha[[0, 0, 3]], 0.0);
    Ok(())
}

#[test]
fn an_idx_header_whose_sizes_overflow_is_a_damaged_file() {
    let mut bytes = vec![0, 0, 8, 3];
    for _ in 0..3 {
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    }
    let err = cnn_course::datasets::idx::decode_idx(&bytes, Path::new("train-images-idx3-ubyte")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "train-images-idx3-ubyte: the header announces dimensions [4294967295, 4294967295, 4294967295], more values than any file can hold; hint: the header is damaged — download the file again"
    );
}

// ---- Data in the wrong layout -------------------------------------------------------------

#[test]
fn channels_first_images_get_the_permutation_that_fixes_them() -> Result<()> {
    let model = small_cnn()?;
    assert_eq!(
        message(model.predict(&Array4::<f32>::zeros((2, 1, 8, 8)))),
        "predict: expected input of shape (None, 8, 8, 1), got (2, 1, 8, 8); hint: these images are channels-first (samples, channels, rows, cols), as PyTorch stores them; Keras and this course put channels last: x.permuted_axes([0, 2, 3, 1])"
    );
    Ok(())
}

#[test]
fn one_image_without_the_sample_axis_gets_the_axis_that_makes_it_a_batch() -> Result<()> {
    let image = Array3::<f32>::zeros((8, 8, 1));
    assert_eq!(
        message(small_cnn()?.predict(&image)),
        "predict: expected input of shape (None, 8, 8, 1), got (8, 8, 1); hint: this is one sample without the sample axis; x.insert_axis(Axis(0)) turns (8, 8, 1) into a batch of one, (1, 8, 8, 1)"
    );
    // The fix the hint gives works.
    assert_eq!(small_cnn()?.predict(&image.insert_axis(Axis(0)))?.dim(), (1, 3));
    let mut dense = Sequential::new();
    dense.add(Dense::new(3).activation("softmax").input_shape((64,)))?;
    assert_eq!(
        message(dense.predict(&Array1::<f32>::zeros(64))),
        "predict: expected input of shape (None, 64), got (64,); hint: this is one sample without the sample axis; x.insert_axis(Axis(0)) turns (64,) into a batch of one, (1, 64)"
    );
    Ok(())
}

#[test]
fn sparse_labels_shaped_n_by_1_are_accepted_as_keras_does() -> Result<()> {
    let _seed = seeded(11);
    let (x, _, classes) = blobs(30, 1);
    let mut model = small_cnn()?;
    model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    let column = classes.mapv(|c| c as f32).insert_axis(Axis(1));
    let history = model.fit(&x, &column, Fit::new().verbose(0))?;
    assert_eq!(history.epoch, vec![1]);
    Ok(())
}

#[test]
fn zero_classes_is_a_setting_not_a_range() {
    assert_eq!(
        message(to_categorical([0u8, 1], 0)),
        "to_categorical: num_classes must be at least 1, got 0; hint: num_classes is the number of categories, e.g. 3 for t-shirt, dress and shoe"
    );
}

#[test]
fn a_number_of_classes_too_large_for_memory_is_refused_before_allocating() {
    // Swapping the arguments' meaning (samples for classes) must not abort the kernel.
    let err = message(to_categorical([0u8, 1], usize::MAX));
    assert!(
        err.starts_with("to_categorical: 2 labels × 18,446,744,073,709,551,615 classes is more one-hot values than this machine can hold (")
            && err.ends_with("GB available); hint: num_classes is the number of categories, e.g. 10 for digits"),
        "{err}"
    );
    let err = message(to_categorical(vec![0u32; 1_000_000], 1_000_000_000));
    assert!(
        err.starts_with("to_categorical: 1,000,000 labels × 1,000,000,000 classes"),
        "{err}"
    );
}

#[test]
fn resizing_to_more_pixels_than_memory_holds_is_refused() -> Result<()> {
    let picture = cnn_course::images::example_digit()?;
    for (rows, cols) in [(usize::MAX, 2), (5_000_000_000, 28), (1_000_000, 1_000_000)] {
        let err = message(cnn_course::images::resize(&picture, rows, cols));
        assert!(
            err.starts_with(&format!(
                "resize: {rows}×{cols} pixels is more than this machine can hold ("
            )) && err.ends_with("GB available); hint: the network's input size, e.g. 28×28, is what to resize to"),
            "{err}"
        );
    }
    assert_eq!(cnn_course::images::resize(&picture, 28, 28)?.dim(), (28, 28));
    Ok(())
}

#[test]
fn errors_say_what_kind_of_mistake_they_are() -> Result<()> {
    let mut model = flat_model(3, "softmax")?;
    assert!(matches!(model.add(Conv2D::new(4, 3)), Err(Error::Shape(_))));
    assert!(matches!(
        Sequential::new().add(Dropout::new(2.0).input_shape(3)),
        Err(Error::Setting(_))
    ));
    assert!(matches!(
        model.evaluate(&Array4::<f32>::zeros((1, 8, 8, 1)), &array![[1.0f32, 0.0, 0.0]]),
        Err(Error::Usage(_))
    ));
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    let nan = Array4::<f32>::from_elem((1, 8, 8, 1), f32::NAN);
    let problem = match model.evaluate(&nan, &array![[1.0f32, 0.0, 0.0]]) {
        Err(Error::Data(problem)) => problem,
        other => panic!("{other:?}"),
    };
    assert_eq!(problem.place, "evaluate");
    assert_eq!(
        problem.hint.as_deref(),
        Some("check how the data was loaded and scaled — pixels should be numbers in 0..1")
    );
    Ok(())
}
