//! Chapter 4 — going deeper: stacked convolutions, counting parameters, pooling, and
//! Chollet's MNIST convnet.

use super::{same_array, same_model, verdict, Check};
use crate::arrays::full_shape;
use crate::convolution::max_pool2d;
use crate::Sequential;
use ndarray::Array2;

/// Conv2D(15, 2, relu) → Conv2D(5, 2, relu) → Flatten → Dense(3, softmax) on 28×28×1.
pub fn two_conv_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[27, 27, 15], 75),
                ("Conv2D", &[26, 26, 5], 305),
                ("Flatten", &[3380], 0),
                ("Dense", &[3], 10143),
            ],
        )
        .map(|()| "two convolutions: 27×27×15, then 26×26×5".into()),
    )
}

fn counts(what: &str, yours: &[usize], expected: &[usize], without_bias: &[usize]) -> Check {
    verdict(if yours == without_bias {
        Err("these counts leave out the biases: every unit (or filter) has one more parameter".into())
    } else if yours.len() != expected.len() {
        Err(format!("give {} numbers, one per layer with weights", expected.len()))
    } else if yours == expected {
        Ok(format!(
            "{what}: {expected:?}, total {}",
            expected.iter().sum::<usize>()
        ))
    } else {
        let i = yours.iter().zip(expected).position(|(a, b)| a != b).unwrap_or(0);
        Err(format!(
            "layer {} has {} parameters, not {}: inputs × units + units",
            i + 1,
            expected[i],
            yours[i]
        ))
    })
}

/// Parameters of Dense 784 → 5 → 15 → 3.
pub fn dense_parameter_counts(yours: &[usize]) -> Check {
    counts("dense layers", yours, &[3925, 90, 48], &[3920, 75, 45])
}

/// Parameters of Conv2D(10, 3, 'same') → Conv2D(10, 3, 'same') → Flatten → Dense(3).
pub fn conv_parameter_counts(yours: &[usize]) -> Check {
    counts("convolutional model", yours, &[100, 910, 23523], &[90, 900, 23520])
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
            "your result has shape {}; 2×2 pooling halves rows and columns: {}",
            full_shape(result.shape()),
            full_shape(expected.shape())
        ))
    } else if same_array("", result, &mean, 1e-5).is_ok() && mean != expected {
        Err("those are the windows' means: max pooling keeps each window's largest value".into())
    } else {
        same_array("pooled image", result, &expected, 1e-6).map(|()| "each 2×2 window reduced to its maximum".into())
    })
}

/// Conv2D(5, 3) → MaxPool2D(2) → Conv2D(15, 3) → MaxPool2D(2) → Flatten → Dense(3).
pub fn pooling_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[26, 26, 5], 50),
                ("MaxPool2D", &[13, 13, 5], 0),
                ("Conv2D", &[11, 11, 15], 690),
                ("MaxPool2D", &[5, 5, 15], 0),
                ("Flatten", &[375], 0),
                ("Dense", &[3], 1128),
            ],
        )
        .map(|()| "pooling shrinks 28×28 down to 5×5: only 1,868 parameters".into()),
    )
}

/// Chollet's MNIST convnet.
pub fn chollet_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[26, 26, 32], 320),
                ("MaxPool2D", &[13, 13, 32], 0),
                ("Conv2D", &[11, 11, 64], 18496),
                ("MaxPool2D", &[5, 5, 64], 0),
                ("Conv2D", &[3, 3, 64], 36928),
                ("Flatten", &[576], 0),
                ("Dense", &[64], 36928),
                ("Dense", &[10], 650),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn counts_and_pooling() {
        assert!(dense_parameter_counts(&[3925, 90, 48]).passed);
        assert!(dense_parameter_counts(&[3920, 75, 45])
            .message
            .contains("leave out the biases"));
        assert!(dense_parameter_counts(&[3925, 80, 48])
            .message
            .contains("layer 2 has 90 parameters, not 80"));
        assert!(conv_parameter_counts(&[100, 910, 23523]).passed);
        assert!(conv_parameter_counts(&[90, 900, 23520])
            .message
            .contains("leave out the biases"));
        assert!(conv_parameter_counts(&[100, 910]).message.contains("give 3 numbers"));
        let image = Array2::from_shape_fn((6, 7), |(r, c)| ((r * 5 + c * 3) % 13) as f32);
        let right = crate::convolution::max_pool2d(&image, 2).unwrap();
        assert!(max_pooling(&image, &right).passed);
        assert!(max_pooling(&image, &image)
            .message
            .contains("halves rows and columns: (3, 3)"));
        let mean = Array2::from_shape_fn((3, 3), |(r, c)| {
            (image[[2 * r, 2 * c]]
                + image[[2 * r + 1, 2 * c]]
                + image[[2 * r, 2 * c + 1]]
                + image[[2 * r + 1, 2 * c + 1]])
                / 4.0
        });
        assert!(max_pooling(&image, &mean).message.contains("means"));
    }

    #[test]
    fn models() {
        let mut m = Sequential::new();
        m.add(Conv2D::new(15, 2).activation("relu").input_shape((28, 28, 1)))
            .unwrap();
        m.add(Conv2D::new(5, 2).activation("relu")).unwrap();
        m.add(Flatten::new()).unwrap();
        m.add(Dense::new(3).activation("softmax")).unwrap();
        assert!(two_conv_model(&m).passed);
        assert!(pooling_model(&m)
            .message
            .contains("layer 1 (conv2d) outputs (None, 27, 27, 15)"));
        assert!(chollet_model(&m)
            .message
            .contains("layer 1 (conv2d) outputs (None, 27, 27, 15); expected (None, 26, 26, 32)"));
        let mut p = Sequential::new();
        p.add(Conv2D::new(5, 3).input_shape((28, 28, 1))).unwrap();
        p.add(MaxPool2D::new(2)).unwrap();
        p.add(Conv2D::new(15, 3)).unwrap();
        p.add(MaxPool2D::new(2)).unwrap();
        p.add(Flatten::new()).unwrap();
        p.add(Dense::new(3).activation("softmax")).unwrap();
        assert!(pooling_model(&p).passed);
        assert!(two_conv_model(&p).message.contains("outputs (None, 26, 26, 5)"));
        let mut c = p.clone();
        assert!(compiled_rmsprop(&c).message.contains("not compiled"));
        c.compile("adam", "categorical_crossentropy", &[]).unwrap();
        assert!(compiled_rmsprop(&c).message.contains("the optimizer is adam"));
        c.compile("rmsprop", "categorical_crossentropy", &[]).unwrap();
        assert!(compiled_rmsprop(&c).passed);
    }
}
