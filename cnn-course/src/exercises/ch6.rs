//! Chapter 6 — beyond: MLP vs CNN on colour images, augmentation, optimizers compared,
//! feature maps, transfer learning.

use super::quiz::{Question, Quiz};
use super::{prediction, same_array, same_model, verdict, Check};
use crate::{History, IntoTensor, Sequential};
use ndarray::{s, Array3, ArrayD};

/// Flatten → Dense(200, relu) → Dense(10, softmax) on 32×32×3.
pub fn mlp_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Flatten", &[3072], 0, ""),
                ("Dense", &[200], 614_600, "relu"),
                ("Dense", &[10], 2010, "softmax"),
            ],
        )
        .map(|()| "an MLP: 616,610 parameters, most of them in the first Dense layer".into()),
    )
}

/// Udacity's CIFAR-10 CNN: three 'same' Conv2D with 2×2 kernels and pooling, Dense(500), Dense(10).
pub fn cnn_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[32, 32, 16], 208, "relu"),
                ("MaxPool2D", &[16, 16, 16], 0, ""),
                ("Conv2D", &[16, 16, 32], 2080, "relu"),
                ("MaxPool2D", &[8, 8, 32], 0, ""),
                ("Conv2D", &[8, 8, 64], 8256, "relu"),
                ("MaxPool2D", &[4, 4, 64], 0, ""),
                ("Flatten", &[1024], 0, ""),
                ("Dense", &[500], 512_500, "relu"),
                ("Dense", &[10], 5010, "softmax"),
            ],
        )
        .map(|()| "528,054 parameters".into()),
    )
}

/// A prediction of whether the CNN reaches a higher validation accuracy than the MLP.
pub fn cnn_beats_mlp(predicted: bool, mlp: &History, cnn: &History) -> Check {
    let best = |h: &History| h.best("val_accuracy").map(|b| b.1);
    let (Ok(m), Ok(c)) = (best(mlp), best(cnn)) else {
        return verdict(Err(
            "a history has no val_accuracy: train both models with validation data, then compare".into(),
        ));
    };
    prediction(
        "\"the CNN beats the MLP\"",
        predicted,
        c > m,
        &format!(
            "best validation accuracy: CNN {c:.3}, MLP {m:.3}. The CNN's kernels find a pattern wherever it is; the MLP must learn it again at every position"
        ),
    )
}

/// `flipped` should be `image` mirrored left–right.
pub fn horizontal_flip(image: &Array3<f32>, flipped: &Array3<f32>) -> Check {
    let expected = image.slice(s![.., ..;-1, ..]).to_owned();
    let upside_down = image.slice(s![..;-1, .., ..]).to_owned();
    verdict(if flipped == upside_down && upside_down != expected {
        Err("that flips top and bottom: reverse the columns (axis 1), not the rows".into())
    } else {
        same_array("flipped image", flipped, &expected, 0.0).map(|()| "mirrored left to right".into())
    })
}

/// `shifted` should be `image` moved `by` pixels to the right, with zeros coming in on the left.
pub fn shift_right(image: &Array3<f32>, shifted: &Array3<f32>, by: usize) -> Check {
    if by > image.shape()[1] {
        return verdict(Err(format!(
            "a shift of {by} pixels is wider than the image, {} columns: shift by a few pixels, e.g. 2",
            image.shape()[1]
        )));
    }
    let mut expected = Array3::zeros(image.raw_dim());
    let cols = image.shape()[1];
    expected
        .slice_mut(s![.., by.., ..])
        .assign(&image.slice(s![.., ..cols - by.min(cols), ..]));
    let mut left = Array3::zeros(image.raw_dim());
    left.slice_mut(s![.., ..cols - by.min(cols), ..])
        .assign(&image.slice(s![.., by.., ..]));
    verdict(if shifted == left && left != expected {
        Err("that moves the image to the left: copy column c to column c + by".into())
    } else {
        same_array("shifted image", shifted, &expected, 0.0)
            .map(|()| format!("moved {by} pixels right, zeros on the left"))
    })
}

/// `model` (trained on randomly shifted images) should beat `plain_accuracy`, the same
/// network trained on the original images, on the shifted test images.
pub fn augmented_model(
    model: &Sequential,
    x_shifted: &impl IntoTensor,
    y_shifted: &impl IntoTensor,
    plain_accuracy: f64,
) -> Check {
    verdict(match model.evaluate(x_shifted, y_shifted) {
        Err(e) => Err(format!("the augmented model cannot be evaluated on the shifted images: {e}")),
        Ok(score) if score.accuracy < plain_accuracy + 0.05 => Err(format!(
            "on shifted images the augmented model scores {:.3}, the plain one {plain_accuracy:.3}: train each epoch on new random shifts of the training images, up to the test images' shift",
            score.accuracy
        )),
        Ok(score) => Ok(format!(
            "on shifted images: {:.3} with augmentation, {plain_accuracy:.3} without",
            score.accuracy
        )),
    })
}

/// One result per optimizer: (name, final validation accuracy).
pub fn optimizer_comparison(results: &[(String, f64)]) -> Check {
    let wanted = ["sgd", "rmsprop", "adam", "adamax", "nadam", "adagrad", "adadelta"];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !results.iter().any(|(n, _)| n == *w))
        .cloned()
        .collect();
    verdict(if !missing.is_empty() {
        Err(format!("no result for {missing:?}: train one model per optimizer name"))
    } else if let Some((name, acc)) = results.iter().find(|(_, a)| !(0.0..=1.0).contains(a)) {
        Err(format!(
            "{name}: {acc} is not an accuracy between 0 and 1: use history.val_accuracy"
        ))
    } else {
        let best = results
            .iter()
            .cloned()
            .fold((String::new(), -1.0), |b, r| if r.1 > b.1 { r } else { b });
        Ok(format!(
            "{} optimizers compared; best: {} ({:.3})",
            results.len(),
            best.0,
            best.1
        ))
    })
}

/// `maps` should be the first layer's output for the chosen images: (images, rows, cols, filters).
pub fn feature_map_shape(model: &Sequential, images: usize, maps: &ArrayD<f32>) -> Check {
    let mut expected = vec![images];
    expected.extend(
        model
            .layers()
            .first()
            .map(|l| l.output_shape().to_vec())
            .unwrap_or_default(),
    );
    verdict(if expected.len() != 4 {
        Err(format!(
            "the model's first layer outputs {}, not feature maps (rows, cols, maps): this exercise reads the CNN's first Conv2D layer — pass `cnn`, not the MLP",
            crate::arrays::keras_shape(&expected[1..])
        ))
    } else if maps.shape() != expected.as_slice() {
        Err(format!(
            "your feature maps have shape {:?}; the first layer gives {expected:?} — take outputs[0] of model.layer_outputs(&images)?",
            maps.shape()
        ))
    } else {
        Ok(format!(
            "{} feature maps of {}×{} per image",
            expected[3], expected[1], expected[2]
        ))
    })
}

/// The transfer model: the reused convolutional layers frozen, a new trainable head with
/// `classes` outputs.
pub fn transfer_model(model: &Sequential, classes: usize) -> Check {
    let layers = model.layers();
    let conv_trainable: Vec<&str> = layers
        .iter()
        .filter(|l| l.type_name() == "Conv2D" && l.trainable())
        .map(|l| l.name())
        .collect();
    verdict(if !conv_trainable.is_empty() {
        Err(format!(
            "{conv_trainable:?} can still train: freeze them with model.set_trainable(name, false)?"
        ))
    } else if model.output_shape() != [classes] {
        Err(format!(
            "the model outputs {:?}; the new task has {classes} classes: end with Dense::new({classes})",
            model.output_shape()
        ))
    } else if !layers.last().is_some_and(|l| l.trainable()) {
        Err("the new head is frozen too: only the reused layers should be frozen".into())
    } else {
        Ok(format!("frozen convolutional base, new {classes}-class head"))
    })
}

/// Chapter 6's questionnaire.
pub const QUIZ: Quiz = Quiz(&[
    Question {
        ask: "Why does a CNN usually beat an MLP on images, with fewer parameters?",
        options: &[
            (
                "Its kernels are shared by every position: a pattern learned in one place is found everywhere.",
                "the MLP must learn the same pattern again for every place it can appear",
            ),
            (
                "It has more parameters.",
                "here it has fewer: 528,054 against the MLP's 616,610",
            ),
            ("It trains for more epochs.", "both trained for the same epochs"),
        ],
        answer: 'A',
    },
    Question {
        ask: "Which augmentation suits handwritten digits?",
        options: &[
            (
                "Flipping left to right.",
                "a mirrored 3 is not a 3: augment only in ways that keep the class",
            ),
            (
                "Small random shifts.",
                "a digit moved by a few pixels is the same digit",
            ),
            ("Rotating by 180°.", "a 6 would become a 9"),
        ],
        answer: 'B',
    },
    Question {
        ask: "Training with augmentation, each epoch sees…",
        options: &[
            (
                "the same number of images, each a new random variation.",
                "the variety comes from epoch to epoch, not from a larger epoch",
            ),
            (
                "the original images plus their variations.",
                "that doubles the epoch; Keras' augmentation keeps its size",
            ),
            (
                "only the variations that fooled the network.",
                "the variations are random",
            ),
        ],
        answer: 'A',
    },
    Question {
        ask: "A small new dataset, different from what the base network learned. The rule of thumb:",
        options: &[
            (
                "reuse the first layers, which see edges and textures, and train the rest.",
                "early features are general; later ones belong to the old task",
            ),
            (
                "fine-tune every layer.",
                "with few images, training every weight overfits",
            ),
            ("train from scratch.", "a few images are too few to learn good kernels"),
        ],
        answer: 'A',
    },
    Question {
        ask: "Freezing a layer means…",
        options: &[
            (
                "its weights stay as they are while the rest trains.",
                "the optimizer skips its weights",
            ),
            ("it is removed from the model.", "it still computes its outputs"),
            ("its outputs are set to 0.", "it still computes its outputs"),
        ],
        answer: 'A',
    },
    Question {
        ask: "On which set do you compare optimizers?",
        options: &[
            (
                "The test set.",
                "a choice made on the test set makes its score an optimistic guess",
            ),
            (
                "A validation set.",
                "choices are made on validation data; the test set stays for the end",
            ),
            (
                "The training set.",
                "the training loss rewards memorizing, not doing well on new images",
            ),
        ],
        answer: 'B',
    },
]);
