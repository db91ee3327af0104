//! Chapter 2 — classifying images: splits, one-hot encoding, counting, how a network
//! learns (a gradient step, softmax, cross-entropy), a dense network.

use super::quiz::{Question, Quiz};
use super::{prediction, same_array, same_model, same_number, verdict, Check};
use crate::arrays::full_shape;
use crate::labels::one_hot as one_hot_reference;
use crate::{Dense, Evaluation, History, IntoTensor, Sequential, WithInputShape};
use ndarray::{array, Array1, Array2, Array4};

/// The labels and categories of the one-hot exercise.
pub const LABELS: [&str; 8] = ["shoe", "dress", "shoe", "t-shirt", "shoe", "t-shirt", "shoe", "dress"];
/// The categories of the one-hot exercise, in class-number order.
pub const CATEGORIES: [&str; 3] = ["t-shirt", "dress", "shoe"];

/// 50 images with a validation split of 0.2: how many train, how many validate?
pub fn split_sizes(train: usize, validation: usize) -> Check {
    verdict(match (train, validation) {
        (40, 10) => Ok("40 images train, the last 10 validate".into()),
        (10, 40) => Err("swapped: the validation split is the fraction kept for validation".into()),
        (t, v) if t.checked_add(v) != Some(50) => Err(format!(
            "{t} + {v} is not 50: every image is either trained on or used for validation"
        )),
        (t, v) => Err(format!(
            "{t} and {v}: the split is the fraction of the 50 images kept for validation; the rest train"
        )),
    })
}

/// `encoded` should be the one-hot encoding of [`LABELS`] over [`CATEGORIES`].
pub fn one_hot(encoded: &Array2<f32>) -> Check {
    let expected = one_hot_reference(&LABELS, &CATEGORIES).unwrap_or_default();
    verdict(if encoded.shape() == [3, 8] {
        Err("your matrix is 3×8: one row per label (8 rows), one column per category (3 columns)".into())
    } else if encoded.shape() == [8, 3] && encoded.rows().into_iter().any(|r| r.sum() != 1.0) {
        Err("every row needs exactly one 1: set ohe[[row, column]] = 1.0 once per label".into())
    } else {
        same_array("one-hot matrix", encoded, &expected, 0.0)
            .map(|()| "8 labels, 3 categories, one 1 per row".into())
            .map_err(|e| format!("{e} — the column is the label's position in the categories list"))
    })
}

/// The number of correct predictions in the course's example.
pub fn number_correct(count: f32) -> Check {
    verdict(match count {
        2.0 => Err("2 is the number of wrong answers: a product is 1 where both rows have their 1 in the same column".into()),
        8.0 => Err("8 is the number of predictions: multiply the arrays element by element first, so that only agreements stay 1".into()),
        _ => same_number(
            "the number correct",
            count as f64,
            6.0,
            "Multiply the two one-hot arrays element by element and sum everything.",
        ),
    })
}

/// The proportion of correct predictions in the course's example.
pub fn proportion_correct(proportion: f32) -> Check {
    verdict(if (proportion - 2.0).abs() < 1e-6 {
        Err("you divided by the number of categories (3): divide by the number of predictions".into())
    } else {
        same_number(
            "the proportion",
            proportion as f64,
            0.75,
            "Divide the number correct by the number of predictions.",
        )
    })
}

/// `flat` should be `images` with each 28×28 image laid out as 784 values, in order.
pub fn flattened(images: &Array4<f32>, flat: &Array2<f32>) -> Check {
    let n = images.shape()[0];
    let expected = images
        .to_shape((n, images.len() / n.max(1)))
        .map(|a| a.to_owned())
        .unwrap_or_default();
    verdict(if flat.shape() == [expected.shape()[1], n] {
        Err(format!(
            "your array is {}: one row per image, one column per pixel",
            full_shape(flat.shape())
        ))
    } else {
        same_array("flattened array", flat, &expected, 0.0).map(|()| format!("{n} images of 784 values"))
    })
}

/// A prediction of the parameters of Dense(10) on 784 inputs.
pub fn dense_parameters(predicted: usize) -> Check {
    let mut layer = Sequential::new();
    let truth = layer
        .add(Dense::new(10).input_shape(784))
        .map(|()| layer.count_params())
        .unwrap_or(0);
    prediction(
        "Dense(10)'s parameters on 784 inputs",
        predicted,
        truth,
        "every unit has a weight for each of the 784 inputs, plus its own bias: 784 × 10 + 10",
    )
}

/// Dense(10, relu) → Dense(10, relu) → Dense(3, softmax) on 784 inputs.
pub fn dense_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Dense", &[10], 7850, "relu"),
                ("Dense", &[10], 110, "relu"),
                ("Dense", &[3], 33, "softmax"),
            ],
        )
        .map(|()| "784 → 10 → 10 → 3: 7,850 + 110 + 33 = 7,993 parameters".into()),
    )
}

/// One step of gradient descent on the loss `(w·x − target)²` with x = 3, target = 6,
/// w = 1 and learning rate 0.01: the gradient dL/dw and the new weight.
pub fn gradient_step(gradient: f32, new_weight: f32) -> Check {
    let (x, target, w, rate) = (3.0f32, 6.0f32, 1.0f32, 0.01f32);
    let right = 2.0 * (w * x - target) * x;
    let close = |a: f32, b: f32| (a - b).abs() < 1e-4;
    verdict(if close(gradient, -right) {
        Err("the gradient has the wrong sign: the prediction w·x is below the target, so raising w lowers the loss — dL/dw is negative".into())
    } else if close(gradient, 2.0 * (w * x - target)) {
        Err("chain rule: L depends on w through p = w·x, so dL/dw = dL/dp · dp/dw = 2(p − target) · x".into())
    } else if !close(gradient, right) {
        Err(format!(
            "dL/dw is not {gradient}: with p = w·x, dL/dw = 2(p − target) · x"
        ))
    } else if close(new_weight, w + rate * right) {
        Err("that steps with the gradient, uphill: gradient descent subtracts learning rate × gradient".into())
    } else if !close(new_weight, w - rate * right) {
        Err(format!("the new weight is not {new_weight}: w − learning rate × dL/dw"))
    } else {
        Ok(format!(
            "dL/dw = {right}, so w moves from {w} to {new_weight}: towards the target's w = 2"
        ))
    })
}

/// The logits of the softmax exercise.
pub fn logits() -> Array1<f32> {
    array![2.0, 1.0, 0.1]
}

/// `probabilities` should be the softmax of [`logits`].
pub fn softmax(probabilities: &Array1<f32>) -> Check {
    let z = logits();
    let exps = z.mapv(f32::exp);
    let expected = &exps / exps.sum();
    let near =
        |a: &Array1<f32>, b: &Array1<f32>| a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-3);
    verdict(if near(probabilities, &(&z / z.sum())) {
        Err("you divided the logits by their sum: take exp of each first, so every value is positive and larger logits weigh more".into())
    } else if near(probabilities, &exps) {
        Err("these are exp(logits): divide each by their sum so that they add up to 1".into())
    } else {
        same_array("probabilities", probabilities, &expected, 1e-3)
            .map(|()| format!("{expected:.3}: positive, summing to 1, in the logits' order"))
    })
}

/// Cross-entropy of the prediction [0.7, 0.2, 0.1] when the true class is 0.
pub fn cross_entropy(loss: f32) -> Check {
    let right = -(0.7f32.ln());
    let close = |v: f32| (loss - v).abs() < 1e-3;
    verdict(if close(-right) {
        Err("the loss is negative: cross-entropy is −ln(p), and ln of a probability is never above 0".into())
    } else if close(-(0.7f32.log10())) {
        Err("that is log base 10: cross-entropy uses the natural logarithm, ln".into())
    } else if close(-(0.2f32.ln())) || close(-(0.1f32.ln())) {
        Err("that is the probability of a wrong class: only the true class's probability (class 0) counts".into())
    } else {
        same_number(
            "the loss",
            loss as f64,
            right as f64,
            "Cross-entropy is −ln(probability of the true class).",
        )
        .map(|m| format!("{m}: the closer the true class's probability to 1, the closer the loss to 0"))
    })
}

/// The model compiled with adam, categorical cross-entropy and accuracy.
pub fn compiled(model: &Sequential) -> Check {
    super::compiled_with(
        model,
        "adam",
        "this exercise uses",
        "one-hot labels go with",
        "adam, categorical cross-entropy, accuracy",
    )
}

/// A history of `epochs` epochs with validation results.
pub fn trained(history: &History, epochs: usize) -> Check {
    verdict(if history.loss.len() != epochs {
        Err(format!(
            "the model trained {} epochs; this exercise asks for {epochs}",
            history.loss.len()
        ))
    } else if history.val_loss.is_empty() {
        Err("there is no validation loss: keep part of the training data for validation".into())
    } else {
        Ok(format!(
            "{epochs} epochs, final val_loss {:.3}",
            history.val_loss[epochs - 1]
        ))
    })
}

/// `score` should be what `model.evaluate(x_test, y_test)` gives.
pub fn evaluated(model: &Sequential, x_test: &impl IntoTensor, y_test: &impl IntoTensor, score: &Evaluation) -> Check {
    verdict(match model.evaluate(x_test, y_test) {
        Err(e) => Err(format!("evaluating the model on the test set failed: {e}")),
        Ok(expected)
            if (expected.loss - score.loss).abs() > 1e-4 || (expected.accuracy - score.accuracy).abs() > 1e-9 =>
        {
            Err(format!(
                "your score ({score}) is not the test set's: evaluate on x_test and y_test"
            ))
        }
        Ok(expected) => Ok(format!("test {expected}")),
    })
}

/// Chapter 2's questionnaire.
pub const QUIZ: Quiz = Quiz(&[
    Question {
        ask: "Why is the test set used only once, at the very end?",
        options: &[
            ("Evaluating takes long.", "evaluating is quick; time is not the reason"),
            (
                "A score on images that influenced no choice is an honest estimate for new images.",
                "every choice made by looking at a score fits that score a little; the test set must stay out of all of them",
            ),
            ("The network cannot read it before.", "it could; we choose not to let it influence anything"),
        ],
        answer: 'B',
    },
    Question {
        ask: "40 training images, batch size 10. How many weight updates does one epoch make?",
        options: &[
            ("1", "an epoch makes one update per batch, not one in all"),
            ("4", "40 images in batches of 10: 4 batches, one update each"),
            ("40", "one update per image would be batch size 1"),
            ("400", "the batch size divides the number of images; it does not multiply it"),
        ],
        answer: 'B',
    },
    Question {
        ask: "What does softmax do to the last layer's outputs?",
        options: &[
            (
                "It turns them into probabilities that sum to 1.",
                "exp makes every value positive, dividing by the sum makes them add up to 1",
            ),
            ("It keeps only the largest.", "that is argmax; softmax keeps every class, each with a probability"),
            ("It sets negative values to 0.", "that is relu, used between layers"),
        ],
        answer: 'A',
    },
    Question {
        ask: "The gradient of the loss with respect to a weight is positive. Gradient descent…",
        options: &[
            ("increases the weight.", "a positive gradient means the loss grows as the weight grows"),
            ("decreases the weight.", "it steps against the gradient: downhill"),
            ("leaves it as it is.", "only a zero gradient leaves a weight where it is"),
        ],
        answer: 'B',
    },
    Question {
        ask: "For an image of class 0, the network predicts [0.1, 0.8, 0.1]. Its cross-entropy loss is…",
        options: &[
            (
                "−ln 0.1 ≈ 2.3: high.",
                "only the probability given to the true class counts, and 0.1 is little",
            ),
            ("−ln 0.8 ≈ 0.22: low.", "0.8 is the probability of class 1, not of the true class"),
            ("0: the network is confident.", "confidence in a wrong class costs the most"),
        ],
        answer: 'A',
    },
]);
