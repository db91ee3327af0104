//! Chapter 2 — classifying images: splits, one-hot encoding, counting, a dense network.

use super::{same_array, same_model, same_number, verdict, Check};
use crate::arrays::full_shape;
use crate::labels::one_hot as one_hot_reference;
use crate::{Evaluation, History, IntoTensor, Sequential};
use ndarray::{Array2, Array4};

/// The labels and categories of the one-hot exercise.
pub const LABELS: [&str; 8] = ["shoe", "dress", "shoe", "t-shirt", "shoe", "t-shirt", "shoe", "dress"];
pub const CATEGORIES: [&str; 3] = ["t-shirt", "dress", "shoe"];

/// 50 images with a validation split of 0.2: how many train, how many validate?
pub fn split_sizes(train: usize, validation: usize) -> Check {
    verdict(match (train, validation) {
        (40, 10) => Ok("40 images train, the last 10 validate".into()),
        (10, 40) => Err("swapped: the validation split is the fraction kept for validation (0.2 of 50 = 10)".into()),
        (t, v) if t + v != 50 => Err(format!(
            "{t} + {v} is not 50: every image is either trained on or used for validation"
        )),
        (t, v) => Err(format!(
            "{t} and {v}: 0.2 × 50 = 10 images validate, the other 40 train"
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

/// The number of correct predictions: 6 in the course's example.
pub fn number_correct(count: f32) -> Check {
    verdict(if count == 2.0 {
        Err("2 is the number of wrong answers: (test * prediction).sum() counts the rows where both have their 1 in the same place".into())
    } else {
        same_number(
            "correct",
            count as f64,
            6.0,
            "Multiply the two one-hot arrays element by element and sum everything.",
        )
    })
}

/// The proportion of correct predictions: 6 of 8.
pub fn proportion_correct(proportion: f32) -> Check {
    verdict(if (proportion - 2.0).abs() < 1e-6 {
        Err("6 / 3 divides by the number of categories: divide by the number of predictions (8)".into())
    } else {
        same_number(
            "proportion",
            proportion as f64,
            0.75,
            "Divide the number correct by the number of predictions.",
        )
    })
}

/// Dense(10, relu) → Dense(10, relu) → Dense(3, softmax) on 784 inputs.
pub fn dense_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[("Dense", &[10], 7850), ("Dense", &[10], 110), ("Dense", &[3], 33)],
        )
        .map(|()| "784 → 10 → 10 → 3: 7,850 + 110 + 33 = 7,993 parameters".into()),
    )
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

/// `flat` should be `images` with each 28×28 image laid out as 784 values, in order.
pub fn flattened(images: &Array4<f32>, flat: &Array2<f32>) -> Check {
    let n = images.shape()[0];
    let expected = images
        .to_shape((n, images.len() / n.max(1)))
        .map(|a| a.to_owned())
        .unwrap_or_default();
    verdict(if flat.shape() == [expected.shape()[1], n] {
        Err(format!(
            "your array is {}: one row per image, so ({n}, 784)",
            full_shape(flat.shape())
        ))
    } else {
        same_array("flattened array", flat, &expected, 0.0).map(|()| format!("{n} images of 784 values"))
    })
}

/// A history of `epochs` epochs with validation results.
pub fn trained(history: &History, epochs: usize) -> Check {
    verdict(if history.loss.len() != epochs {
        Err(format!(
            "the model trained {} epochs; this exercise asks for {epochs}: .epochs({epochs})",
            history.loss.len()
        ))
    } else if history.val_loss.is_empty() {
        Err("there is no validation loss: add .validation_split(0.2)".into())
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
                "your score ({score}) is not the test set's ({expected}): evaluate on x_test and y_test"
            ))
        }
        Ok(expected) => Ok(format!("test {expected}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::{Dense, Flatten, WithInputShape};

    #[test]
    fn splits_one_hot_and_counting() {
        assert!(split_sizes(40, 10).passed);
        assert!(split_sizes(10, 40).message.contains("swapped"));
        assert!(split_sizes(45, 10).message.contains("is not 50"));
        let right = one_hot_reference(&LABELS, &CATEGORIES).unwrap();
        assert!(one_hot(&right).passed);
        assert!(one_hot(&right.t().to_owned()).message.contains("one row per label"));
        assert!(one_hot(&Array2::zeros((8, 3))).message.contains("exactly one 1"));
        let reordered = one_hot_reference(&LABELS, &["shoe", "dress", "t-shirt"]).unwrap();
        assert!(one_hot(&reordered).message.contains("position in the categories list"));
        assert!(number_correct(6.0).passed);
        assert!(number_correct(2.0).message.contains("number of wrong answers"));
        assert!(number_correct(8.0).message.contains("expected 6"));
        assert!(proportion_correct(0.75).passed);
        assert!(proportion_correct(2.0)
            .message
            .contains("divide by the number of predictions"));
        assert!(!proportion_correct(0.25).passed);
    }

    fn dense(units: usize) -> Sequential {
        let mut model = Sequential::new();
        model.add(Dense::new(10).activation("relu").input_shape(784)).unwrap();
        model.add(Dense::new(units).activation("relu")).unwrap();
        model.add(Dense::new(3).activation("softmax")).unwrap();
        model
    }

    #[test]
    fn models_compile_and_flatten() {
        assert!(dense_model(&dense(10)).passed);
        assert!(dense_model(&dense(5))
            .message
            .contains("layer 2 (dense_1) outputs (None, 5); expected (None, 10)"));
        let mut short = Sequential::new();
        short.add(Dense::new(10).input_shape(784)).unwrap();
        assert!(dense_model(&short)
            .message
            .contains("your model has 1 layers; expected 3"));
        let mut model = dense(10);
        assert!(compiled(&model).message.contains("not compiled"));
        model.compile("sgd", "categorical_crossentropy", &["accuracy"]).unwrap();
        assert!(compiled(&model).message.contains("the optimizer is sgd"));
        model
            .compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
            .unwrap();
        assert!(compiled(&model).message.contains("categorical_crossentropy"));
        model
            .compile("adam", "categorical_crossentropy", &["accuracy"])
            .unwrap();
        assert!(compiled(&model).passed);

        let images = Array4::from_shape_fn((3, 28, 28, 1), |(n, r, c, _)| (n * 784 + r * 28 + c) as f32);
        let flat = images.to_shape((3, 784)).unwrap().to_owned();
        assert!(flattened(&images, &flat).passed);
        assert!(flattened(&images, &flat.t().to_owned())
            .message
            .contains("one row per image"));
        let mut shuffled = flat.clone();
        shuffled.swap([0, 0], [0, 1]);
        assert!(flattened(&images, &shuffled).message.contains("flattened array[0, 0]"));
    }

    #[test]
    fn training_and_evaluation() {
        let history = History {
            epoch: vec![1, 2, 3],
            loss: vec![1.0; 3],
            accuracy: vec![0.5; 3],
            val_loss: vec![1.1; 3],
            val_accuracy: vec![0.4; 3],
            stopped_early: None,
        };
        assert!(trained(&history, 3).passed);
        assert!(trained(&history, 5).message.contains(".epochs(5)"));
        let no_val = History {
            val_loss: vec![],
            val_accuracy: vec![],
            ..history.clone()
        };
        assert!(trained(&no_val, 3).message.contains("validation_split"));

        let mut model = Sequential::new();
        model.add(Flatten::new().input_shape((28, 28, 1))).unwrap();
        model.add(Dense::new(3).activation("softmax")).unwrap();
        model
            .compile("adam", "categorical_crossentropy", &["accuracy"])
            .unwrap();
        let x = Array4::from_shape_fn((6, 28, 28, 1), |(n, r, _, _)| ((n + r) % 5) as f32 / 5.0);
        let y = crate::labels::to_categorical([0u8, 1, 2, 0, 1, 2], 3).unwrap();
        let score = model.evaluate(&x, &y).unwrap();
        assert!(evaluated(&model, &x, &y, &score).passed);
        let wrong = Evaluation {
            loss: score.loss + 1.0,
            ..score
        };
        assert!(evaluated(&model, &x, &y, &wrong)
            .message
            .contains("evaluate on x_test and y_test"));
        let y_bad = Array2::<f32>::zeros((6, 10));
        assert!(evaluated(&model, &x, &y_bad, &score)
            .message
            .contains("evaluating the model on the test set failed"));
    }
}
