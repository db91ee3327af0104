//! Chapter 4 — going deeper: stacked convolutions, counting parameters, pooling and
//! strides, Chollet's MNIST convnet, and a digit of the learner's own.

use super::quiz::{Question, Quiz};
use super::{prediction, same_array, same_model, verdict, Check};
use crate::arrays::full_shape;
use crate::convolution::max_pool2d;
use crate::{Conv2D, Flatten, MaxPool2D, Sequential, WithInputShape};
use ndarray::{Array2, Array4};

/// Conv2D(15, 2, relu) → Conv2D(5, 2, relu) → Flatten → Dense(3, softmax) on 28×28×1.
pub fn two_conv_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[27, 27, 15], 75, "relu"),
                ("Conv2D", &[26, 26, 5], 305, "relu"),
                ("Flatten", &[3380], 0, ""),
                ("Dense", &[3], 10143, "softmax"),
            ],
        )
        .map(|()| "two convolutions: 27×27×15, then 26×26×5".into()),
    )
}

/// Per-layer parameter counts: `rules[i]` says how layer i's count is made.
fn counts(what: &str, yours: &[usize], expected: &[usize], without_bias: &[usize], rules: &[String]) -> Check {
    verdict(if yours == without_bias {
        Err("these counts leave out the biases: every unit or filter has one more parameter".into())
    } else if yours.len() != expected.len() {
        Err(format!(
            "give {} numbers, one per layer with weights, in order",
            expected.len()
        ))
    } else {
        match yours.iter().zip(expected).position(|(a, b)| a != b) {
            None => Ok(format!(
                "{what}: {expected:?}, total {}",
                expected.iter().sum::<usize>()
            )),
            Some(i) => Err(format!("layer {}: {} is not right — {}", i + 1, yours[i], rules[i])),
        }
    })
}

const DENSE_RULE: &str =
    "a Dense layer has inputs × units weights, plus one bias per unit; its inputs are the previous layer's units";

/// Parameters of Dense 784 → 5 → 15 → 3.
pub fn dense_parameter_counts(yours: &[usize]) -> Check {
    let rules = [DENSE_RULE.to_string(), DENSE_RULE.to_string(), DENSE_RULE.to_string()];
    counts("dense layers", yours, &[3925, 90, 48], &[3920, 75, 45], &rules)
}

/// Parameters of Conv2D(10, 3, 'same') → Conv2D(10, 3, 'same') → Flatten → Dense(3).
pub fn conv_parameter_counts(yours: &[usize]) -> Check {
    let conv = "a Conv2D layer has kernel rows × cols × input channels × filters weights, plus one bias per filter";
    let rules = [
        format!("{conv}; the image has 1 channel"),
        format!("{conv}; its input has as many channels as the first layer has filters"),
        format!("{DENSE_RULE} — here the 7,840 values Flatten gives"),
    ];
    counts(
        "convolutional model",
        yours,
        &[100, 910, 23523],
        &[90, 900, 23520],
        &rules,
    )
}

/// `result` should be `image` max-pooled in 2×2 windows.
pub fn max_pooling(image: &Array2<f32>, result: &Array2<f32>) -> Check {
    let expected = max_pool2d(image, 2).unwrap_or_default();
    let mut mean = expected.clone();
    for ((r, c), v) in mean.indexed_iter_mut() {
        *v = (image[[2 * r, 2 * c]]
            + image[[2 * r + 1, 2 * c]]
            + image[[2 * r, 2 * c + 1]]
            + image[[2 * r + 1, 2 * c + 1]])
            / 4.0;
    }
    verdict(if result.shape() != expected.shape() {
        Err(format!(
            "your result has shape {}: 2×2 windows that do not overlap halve the rows and the columns",
            full_shape(result.shape())
        ))
    } else if same_array("", result, &mean, 1e-5).is_ok() && mean != expected {
        Err("those are the windows' means: max pooling keeps each window's largest value".into())
    } else {
        same_array("pooled image", result, &expected, 1e-6).map(|()| "each 2×2 window reduced to its maximum".into())
    })
}

/// A prediction of what Flatten outputs after Conv2D(5, 3) → MaxPool2D(2) → Conv2D(15, 3)
/// → MaxPool2D(2) on 28×28×1.
pub fn pooled_flatten_size(predicted: usize) -> Check {
    let mut model = Sequential::new();
    let built = (|| {
        model.add(Conv2D::new(5, 3).input_shape((28, 28, 1)))?;
        model.add(MaxPool2D::new(2))?;
        model.add(Conv2D::new(15, 3))?;
        model.add(MaxPool2D::new(2))?;
        model.add(Flatten::new())
    })();
    let truth = built.map(|()| model.output_shape()[0]).unwrap_or(0);
    prediction(
        "Flatten's size",
        predicted,
        truth,
        "28 → 26 (3×3 conv) → 13 (pool) → 11 (conv) → 5 (pool, rounded down), × 15 filters",
    )
}

/// Conv2D(5, 3) → MaxPool2D(2) → Conv2D(15, 3) → MaxPool2D(2) → Flatten → Dense(3).
pub fn pooling_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[26, 26, 5], 50, "relu"),
                ("MaxPool2D", &[13, 13, 5], 0, ""),
                ("Conv2D", &[11, 11, 15], 690, "relu"),
                ("MaxPool2D", &[5, 5, 15], 0, ""),
                ("Flatten", &[375], 0, ""),
                ("Dense", &[3], 1128, "softmax"),
            ],
        )
        .map(|()| "pooling shrinks 28×28 down to 5×5: only 1,868 parameters".into()),
    )
}

/// Conv2D(5, 3, strides 2) → Conv2D(15, 3, strides 2) → Flatten → Dense(3): strides
/// instead of pooling.
pub fn strided_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[13, 13, 5], 50, "relu"),
                ("Conv2D", &[6, 6, 15], 690, "relu"),
                ("Flatten", &[540], 0, ""),
                ("Dense", &[3], 1623, "softmax"),
            ],
        )
        .map(|()| "strides shrink the maps as pooling does: 2,363 parameters, no pooling layers".into()),
    )
}

/// A prediction of MaxPool2D(2, strides 2)'s output on 100×100×15.
pub fn pool_output(predicted: (usize, usize, usize)) -> Check {
    let mut model = Sequential::new();
    let truth = model
        .add(MaxPool2D::new(2).strides(2).input_shape((100, 100, 15)))
        .map(|()| model.output_shape())
        .unwrap_or_default();
    let truth = match truth[..] {
        [r, c, ch] => (r, c, ch),
        _ => (0, 0, 0),
    };
    prediction(
        "the output shape",
        predicted,
        truth,
        "rows and columns halve; pooling works on each channel alone, so the 15 channels stay",
    )
}

/// Chollet's MNIST convnet.
pub fn chollet_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[26, 26, 32], 320, "relu"),
                ("MaxPool2D", &[13, 13, 32], 0, ""),
                ("Conv2D", &[11, 11, 64], 18496, "relu"),
                ("MaxPool2D", &[5, 5, 64], 0, ""),
                ("Conv2D", &[3, 3, 64], 36928, "relu"),
                ("Flatten", &[576], 0, ""),
                ("Dense", &[64], 36928, "relu"),
                ("Dense", &[10], 650, "softmax"),
            ],
        )
        .map(|()| "93,322 parameters, 576 features after Flatten".into()),
    )
}

/// The model compiled with rmsprop and categorical cross-entropy.
pub fn compiled_rmsprop(model: &Sequential) -> Check {
    super::compiled_with(
        model,
        "rmsprop",
        "Chollet's convnet uses",
        "the labels are one-hot:",
        "rmsprop, categorical cross-entropy",
    )
}

/// A prediction of whether `model` reads `raw` (a photo merely shrunk to 28×28, dark ink
/// on light paper) as the digit `digit`.
pub fn raw_photo_recognised(predicted: bool, model: &Sequential, raw: &Array4<f32>, digit: usize) -> Check {
    let Ok(classes) = model.predict_classes(raw) else {
        return verdict(Err(format!(
            "the model cannot read a batch of shape {}: pass the photo shrunk to (1, 28, 28, 1)",
            full_shape(raw.shape())
        )));
    };
    prediction(
        &format!("\"the network reads the raw photo as {digit}\""),
        predicted,
        classes.first() == Some(&digit),
        &format!(
            "it reads {}. MNIST's digits are white on black, 20 × 20 in a 28 × 28 frame and centred; a photo of dark ink on light paper looks like nothing the network has seen",
            classes.first().map_or("nothing".into(), |c| c.to_string())
        ),
    )
}

/// `class` should be what `model` predicts for `mine`.
pub fn own_digit_class(class: usize, model: &Sequential, mine: &Array4<f32>) -> Check {
    verdict(match model.predict_classes(mine) {
        Err(e) => Err(format!("the model cannot read your digit: {e}")),
        Ok(classes) if classes.len() != 1 => Err(format!(
            "your batch holds {} images: prepare one digit, shape (1, 28, 28, 1)",
            classes.len()
        )),
        Ok(classes) if classes[0] != class => Err(format!(
            "{class} is not the class the network predicts for your digit: take predict_classes(&mine)?[0]"
        )),
        Ok(_) => Ok(format!("the network reads your digit as {class}")),
    })
}

/// Chapter 4's questionnaire.
pub const QUIZ: Quiz = Quiz(&[
    Question {
        ask: "Compared with the first layers, what do the later layers of a deep CNN respond to?",
        options: &[
            (
                "Larger patterns — parts of objects — built from the earlier layers' lines and textures.",
                "each layer combines the patterns of the one before it, over a wider field",
            ),
            ("The same edges, more precisely.", "a later layer sees the earlier layers' patterns, not the pixels"),
            ("Single pixels.", "the first layer already sees windows of pixels; later ones see more"),
        ],
        answer: 'A',
    },
    Question {
        ask: "How many parameters does a MaxPool2D layer have?",
        options: &[
            ("0", "it takes each window's maximum: nothing to learn"),
            ("4 per window", "a 2 × 2 window has 4 values, but no weights"),
            ("As many as the Conv2D layer before it", "pooling has no kernels"),
        ],
        answer: 'A',
    },
    Question {
        ask: "MaxPool2D(2) on a 27 × 27 × 15 input gives…",
        options: &[
            ("13 × 13 × 15", "27 / 2 rounded down; each channel is pooled on its own"),
            ("14 × 14 × 15", "the last row and column do not fill a window and are dropped"),
            ("13 × 13 × 7", "pooling keeps the channels; only rows and columns shrink"),
        ],
        answer: 'A',
    },
    Question {
        ask: "Why does pooling before Flatten cut a network's parameters so much?",
        options: &[
            ("Pooling layers remove filters.", "pooling keeps every channel"),
            (
                "The Dense layer after Flatten gets far fewer inputs.",
                "most parameters sit in the dense readout, and each 2 × 2 pooling divides its inputs by 4",
            ),
            ("The convolutions get smaller kernels.", "pooling does not change any kernel"),
        ],
        answer: 'B',
    },
    Question {
        ask: "Conv2D with strides 2, or Conv2D followed by MaxPool2D(2)?",
        options: &[
            (
                "Both halve the feature maps; the strided one computes a quarter of the positions and keeps no maximum.",
                "the strided layer skips positions; pooling computes them all, then keeps each window's strongest",
            ),
            ("Strides add parameters.", "the kernel's size sets the parameters, not its stride"),
            ("Only pooling makes the maps smaller.", "a stride of 2 halves them as well"),
        ],
        answer: 'A',
    },
]);
