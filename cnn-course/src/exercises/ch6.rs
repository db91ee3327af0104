//! Chapter 6 — beyond: MLP vs CNN on CIFAR-10, augmentation, optimizers compared, feature
//! maps, transfer learning.

use super::{same_array, same_model, verdict, Check};
use crate::Sequential;
use ndarray::{s, Array3, ArrayD};

/// Flatten → Dense(200, relu) → Dense(10, softmax) on 32×32×3.
pub fn mlp_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Flatten", &[3072], 0),
                ("Dense", &[200], 614_600),
                ("Dense", &[10], 2010),
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
                ("Conv2D", &[32, 32, 16], 208),
                ("MaxPool2D", &[16, 16, 16], 0),
                ("Conv2D", &[16, 16, 32], 2080),
                ("MaxPool2D", &[8, 8, 32], 0),
                ("Conv2D", &[8, 8, 64], 8256),
                ("MaxPool2D", &[4, 4, 64], 0),
                ("Flatten", &[1024], 0),
                ("Dense", &[500], 512_500),
                ("Dense", &[10], 5010),
            ],
        )
        .map(|()| "528,054 parameters".into()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn architectures() {
        let mut mlp = Sequential::new();
        mlp.add(Flatten::new().input_shape((32, 32, 3))).unwrap();
        mlp.add(Dense::new(200).activation("relu")).unwrap();
        mlp.add(Dense::new(10).activation("softmax")).unwrap();
        assert!(mlp_model(&mlp).passed);
        assert!(cnn_model(&mlp).message.contains("is a Flatten; expected a Conv2D"));
        let mut small = Sequential::new();
        small.add(Flatten::new().input_shape((28, 28, 1))).unwrap();
        assert!(mlp_model(&small)
            .message
            .contains("outputs (None, 784); expected (None, 3072)"));
    }

    #[test]
    fn augmentation() {
        let image = Array3::from_shape_fn((4, 5, 3), |(r, c, ch)| (r * 15 + c * 3 + ch) as f32);
        let flipped = image.slice(s![.., ..;-1, ..]).to_owned();
        assert!(horizontal_flip(&image, &flipped).passed);
        assert!(horizontal_flip(&image, &image.slice(s![..;-1, .., ..]).to_owned())
            .message
            .contains("top and bottom"));
        assert!(!horizontal_flip(&image, &image).passed);
        let mut right = Array3::zeros(image.raw_dim());
        right.slice_mut(s![.., 2.., ..]).assign(&image.slice(s![.., ..3, ..]));
        assert!(shift_right(&image, &right, 2).passed);
        let mut left = Array3::zeros(image.raw_dim());
        left.slice_mut(s![.., ..3, ..]).assign(&image.slice(s![.., 2.., ..]));
        assert!(shift_right(&image, &left, 2).message.contains("to the left"));
        assert!(!shift_right(&image, &image, 2).passed);
    }

    #[test]
    fn optimizers_maps_and_transfer() {
        let names = ["sgd", "rmsprop", "adam", "adamax", "nadam", "adagrad", "adadelta"];
        let results: Vec<(String, f64)> = names.iter().map(|n| (n.to_string(), 0.5)).collect();
        assert!(optimizer_comparison(&results).passed);
        assert!(optimizer_comparison(&results[..6]).message.contains("adadelta"));
        let mut bad = results.clone();
        bad[0].1 = 12.0;
        assert!(optimizer_comparison(&bad).message.contains("not an accuracy"));

        let mut model = Sequential::new();
        model.add(Conv2D::new(4, 3).input_shape((8, 8, 1))).unwrap();
        model.add(Flatten::new()).unwrap();
        model.add(Dense::new(3)).unwrap();
        let x = ndarray::Array4::<f32>::zeros((2, 8, 8, 1));
        let outputs = model.layer_outputs(&x).unwrap();
        assert!(feature_map_shape(&model, 2, &outputs[0]).passed);
        assert!(feature_map_shape(&model, 2, &outputs[1])
            .message
            .contains("take outputs[0]"));
        assert!(transfer_model(&model, 3).message.contains("can still train"));
        model.set_trainable("conv2d", false).unwrap();
        assert!(transfer_model(&model, 3).passed);
        assert!(transfer_model(&model, 5).message.contains("Dense::new(5)"));
        model.set_trainable("dense", false).unwrap();
        assert!(transfer_model(&model, 3).message.contains("head is frozen"));
    }
}
