//! Chapter 5 — understanding and improving: learning curves, checkpoints, dropout, batch
//! normalization, and looking inside a trained model.

use super::{same_array, same_model, verdict, Check};
use crate::arrays::full_shape;
use crate::convolution::convolve2d;
use crate::padding::Padding;
use crate::{History, Sequential};
use ndarray::{s, Array1, Array2, ArrayD};
use std::path::Path;

/// `val_loss` should be the validation loss of each epoch, from the history.
pub fn validation_losses(history: &History, val_loss: &[f64]) -> Check {
    verdict(
        if val_loss == history.loss.as_slice() && history.loss != history.val_loss {
            Err("that is the training loss: the validation loss is history.val_loss".into())
        } else if val_loss != history.val_loss.as_slice() {
            Err(format!(
                "expected {} values, one per epoch, from history.val_loss",
                history.val_loss.len()
            ))
        } else {
            Ok(format!("{} epochs of val_loss", val_loss.len()))
        },
    )
}

/// `path` should hold weights that fit `model` (a ModelCheckpoint wrote it).
pub fn checkpoint_file(path: impl AsRef<Path>, model: &Sequential) -> Check {
    let path = path.as_ref();
    verdict(if !path.is_file() {
        Err(format!(
            "{} does not exist: pass ModelCheckpoint::new(\"{}\").monitor(\"val_loss\").save_best_only(true) to fit as a callback",
            path.display(),
            path.display()
        ))
    } else {
        model
            .check_weights_file(path)
            .map(|()| format!("{} holds the best epoch's weights", path.display()))
            .map_err(|e| e.to_string())
    })
}

/// `classes` should equal `expected` (the predictions of the model that saved the weights).
pub fn same_predictions(classes: &Array1<usize>, expected: &Array1<usize>) -> Check {
    verdict(if classes.len() != expected.len() {
        Err(format!(
            "{} predictions for {} images: predict the same images",
            classes.len(),
            expected.len()
        ))
    } else if classes != expected {
        Err("the predictions differ: build the same layers, then model.load_weights(path)? before predicting".into())
    } else {
        Ok(format!("the reloaded model predicts {classes}"))
    })
}

fn rate_of(model: &Sequential, index: usize) -> Option<String> {
    model
        .layers()
        .get(index)
        .and_then(|l| l.config().into_iter().find(|(k, _)| *k == "rate").map(|(_, v)| v))
}

/// Conv2D(15, 2) → Dropout(0.2) → Conv2D(5, 2) → Flatten → Dense(3) on 28×28×1.
pub fn dropout_model(model: &Sequential) -> Check {
    let layers: [super::LayerSpec; 5] = [
        ("Conv2D", &[27, 27, 15], 75),
        ("Dropout", &[27, 27, 15], 0),
        ("Conv2D", &[26, 26, 5], 305),
        ("Flatten", &[3380], 0),
        ("Dense", &[3], 10143),
    ];
    verdict(
        same_model(model, &layers).and_then(|()| match rate_of(model, 1).as_deref() {
            Some("0.2") => Ok("dropout between the two convolutions, rate 0.2".into()),
            other => Err(format!(
                "the dropout rate is {}; this exercise uses 0.2",
                other.unwrap_or("?")
            )),
        }),
    )
}

/// Conv2D(15, 2) → BatchNormalization → Conv2D(5, 2) → Flatten → Dense(3) on 28×28×1.
pub fn batchnorm_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[27, 27, 15], 75),
                ("BatchNormalization", &[27, 27, 15], 60),
                ("Conv2D", &[26, 26, 5], 305),
                ("Flatten", &[3380], 0),
                ("Dense", &[3], 10143),
            ],
        )
        .map(|()| "batch normalization between the convolutions: 60 parameters, 30 of them non-trainable".into()),
    )
}

/// `weights` should be the first layer's weights: `[kernels, biases]`.
pub fn first_layer_weights(model: &Sequential, weights: &[ArrayD<f32>]) -> Check {
    let expected = model
        .layers()
        .first()
        .and_then(|l| l.get_weights().ok())
        .unwrap_or_default();
    verdict(if expected.len() != 2 || expected[0].ndim() != 4 {
        Err(format!(
            "the model's first layer, {}, is not a Conv2D: this exercise reads a convolution's kernels and biases — pass the trained model whose first layer is Conv2D",
            model.layers().first().map(|l| format!("{} ({})", l.name(), l.type_name())).unwrap_or_else(|| "none".into())
        ))
    } else if weights.len() != expected.len() {
        Err(format!(
            "expected {} arrays (kernels and biases), got {}: use model.layers()[0].get_weights()?",
            expected.len(),
            weights.len()
        ))
    } else {
        weights
            .iter()
            .zip(&expected)
            .try_for_each(|(w, e)| same_array("weights", w, e, 0.0))
            .map(|()| {
                format!(
                    "kernels {} and biases {}",
                    full_shape(expected[0].shape()),
                    full_shape(expected[1].shape())
                )
            })
    })
}

/// `kernel` should be `kernels[.., .., 0, 0]` of the first layer: the first filter's 2-D kernel.
pub fn first_kernel(model: &Sequential, kernel: &Array2<f32>) -> Check {
    let weights = model
        .layers()
        .first()
        .and_then(|l| l.get_weights().ok())
        .unwrap_or_default();
    let Some(kernels) = weights.first().filter(|k| k.ndim() == 4) else {
        return verdict(Err("the model's first layer is not a Conv2D".into()));
    };
    let expected = kernels.slice(s![.., .., 0, 0]).to_owned();
    let last = kernels.slice(s![.., .., 0, kernels.shape()[3] - 1]).to_owned();
    verdict(
        if kernel.shape() == expected.shape() && *kernel == last && last != expected {
            Err("that is the last filter: the filter index is the last axis, [.., .., 0, 0] picks the first".into())
        } else {
            same_array("kernel", kernel, &expected, 0.0)
                .map(|()| format!("the first kernel, {}", full_shape(kernel.shape())))
        },
    )
}

/// `result` should be `image` convolved with `kernel` (chapter 3's function, no padding).
pub fn filtered_image(image: &Array2<f32>, kernel: &Array2<f32>, result: &Array2<f32>) -> Check {
    let expected = convolve2d(image, kernel, Padding::Valid, 1).unwrap_or_default();
    verdict(same_array("filtered image", result, &expected, 1e-4).map(|()| "the image seen through the kernel".into()))
}

/// Quiz: in a weights shape `(2, 2, 1, 5)`, what is the first 2? A: the number of
/// images, B: the kernel's rows, C: the number of filters.
pub fn quiz_weights_shape(answer: char) -> Check {
    verdict(match answer.to_ascii_uppercase() {
        'B' => Ok("the kernel is 2 rows × 2 columns, for 1 input channel, and there are 5 filters".into()),
        'C' => Err("the number of filters is the last number (5)".into()),
        'A' => Err("weights do not depend on the number of images".into()),
        other => Err(format!("'{other}' is not one of A, B, C")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn history_and_predictions() {
        let h = History {
            epoch: vec![1, 2],
            loss: vec![1.0, 0.5],
            accuracy: vec![0.5, 0.6],
            val_loss: vec![1.2, 0.9],
            val_accuracy: vec![0.4, 0.5],
            stopped_early: None,
        };
        assert!(validation_losses(&h, &h.val_loss).passed);
        assert!(validation_losses(&h, &h.loss).message.contains("training loss"));
        assert!(validation_losses(&h, &h.val_loss[..1])
            .message
            .contains("expected 2 values"));
        let a = ndarray::array![2usize, 2, 1];
        assert!(same_predictions(&a, &a).passed);
        assert!(same_predictions(&ndarray::array![2usize, 0, 1], &a)
            .message
            .contains("load_weights"));
        assert!(same_predictions(&ndarray::array![2usize], &a)
            .message
            .contains("1 predictions for 3"));
        assert!(quiz_weights_shape('b').passed);
        assert!(quiz_weights_shape('C').message.contains("last number"));
        assert!(!quiz_weights_shape('A').passed);
    }

    fn base(middle: Option<crate::layers::LayerSpec>) -> Sequential {
        let mut m = Sequential::new();
        m.add(Conv2D::new(15, 2).activation("relu").input_shape((28, 28, 1)))
            .unwrap();
        if let Some(layer) = middle {
            m.add(layer).unwrap();
        }
        m.add(Conv2D::new(5, 2).activation("relu")).unwrap();
        m.add(Flatten::new()).unwrap();
        m.add(Dense::new(3).activation("softmax")).unwrap();
        m
    }

    #[test]
    fn regularized_models() {
        assert!(dropout_model(&base(Some(Dropout::new(0.2).into()))).passed);
        assert!(dropout_model(&base(Some(Dropout::new(0.5).into())))
            .message
            .contains("the dropout rate is 0.5"));
        assert!(dropout_model(&base(None)).message.contains("expected a Dropout"));
        assert!(batchnorm_model(&base(Some(BatchNormalization::new().into()))).passed);
        assert!(batchnorm_model(&base(Some(Dropout::new(0.2).into())))
            .message
            .contains("expected a BatchNormalization"));
        assert!(!batchnorm_model(&base(None)).passed);
    }

    #[test]
    fn weights_kernels_and_files() {
        let model = base(None);
        let weights = model.layers()[0].get_weights().unwrap();
        assert!(first_layer_weights(&model, &weights).passed);
        assert!(first_layer_weights(&model, &weights[..1])
            .message
            .contains("expected 2 arrays"));
        let kernels = &weights[0];
        assert!(first_kernel(&model, &kernels.slice(s![.., .., 0, 0]).to_owned()).passed);
        assert!(first_kernel(&model, &kernels.slice(s![.., .., 0, 14]).to_owned())
            .message
            .contains("last filter"));
        assert!(!first_kernel(&model, &kernels.slice(s![.., .., 0, 3]).to_owned()).passed);
        let image = Array2::from_shape_fn((8, 8), |(r, c)| (r * c % 5) as f32);
        let kernel = kernels.slice(s![.., .., 0, 0]).to_owned();
        let right = convolve2d(&image, &kernel, Padding::Valid, 1).unwrap();
        assert!(filtered_image(&image, &kernel, &right).passed);
        assert!(filtered_image(&image, &kernel, &image)
            .message
            .contains("shape (8, 8); expected (7, 7)"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("best.safetensors");
        assert!(checkpoint_file(&path, &model).message.contains("does not exist"));
        model.save_weights(&path).unwrap();
        assert!(checkpoint_file(&path, &model).passed);
        let other = base(Some(Dropout::new(0.2).into()));
        let mut different = Sequential::new();
        different.add(Conv2D::new(3, 2).input_shape((28, 28, 1))).unwrap();
        assert!(checkpoint_file(&path, &different)
            .message
            .contains("do not fit this model"));
        assert!(
            checkpoint_file(&path, &other).passed,
            "dropout has no weights: same names and shapes"
        );
    }
}
