//! Chapter 3 — convolutions: by hand in 1-D and 2-D, designing kernels, the output-size
//! formula, and the Conv2D layer.

use super::{same_array, same_model, same_number, verdict, Check};
use crate::arrays::full_shape;
use crate::convolution::{convolve1d, convolve2d};
use crate::padding::Padding;
use crate::Sequential;
use ndarray::{array, Array1, Array2};

/// `result` should be the convolution of `[0,0,1,1,0,0,1,1,0,0]` with `[-1, 1]`.
pub fn convolution_1d(result: &Array1<f32>) -> Check {
    let input = array![0f32, 0., 1., 1., 0., 0., 1., 1., 0., 0.];
    check_1d(&input, &array![-1f32, 1.], result)
}

/// `result` should be the convolution of `[1,0,1,0,1,0,1,0,1,0]` with `[1, -1, 0]`. The
/// course's Python loop writes into a 10-long array of zeros, so its answer ends in two
/// zeros; both forms are accepted.
pub fn convolution_1d_exercise(result: &Array1<f32>) -> Check {
    let input = array![1f32, 0., 1., 0., 1., 0., 1., 0., 1., 0.];
    let kernel = array![1f32, -1., 0.];
    if result.len() == 10 && result[8] == 0.0 && result[9] == 0.0 {
        return check_1d(&input, &kernel, &result.slice(ndarray::s![..8]).to_owned());
    }
    check_1d(&input, &kernel, result)
}

fn check_1d(input: &Array1<f32>, kernel: &Array1<f32>, result: &Array1<f32>) -> Check {
    let expected = convolve1d(input, kernel).unwrap_or_default();
    verdict(if result.len() != expected.len() {
        Err(format!(
            "your result has {} values; a kernel of {} on {} values fits in {} positions (10 − {} + 1)",
            result.len(),
            kernel.len(),
            input.len(),
            expected.len(),
            kernel.len()
        ))
    } else if result == -&expected && expected.iter().any(|&v| v != 0.0) {
        Err("every value has the wrong sign: multiply kernel[k] with array[i + k], without flipping the kernel".into())
    } else {
        same_array("result", result, &expected, 1e-6).map(|()| format!("{expected}: 1 and -1 mark the edges"))
    })
}

/// The plus-shaped kernel of the 2-D exercise.
pub fn plus_kernel() -> Array2<f32> {
    array![[0f32, 1., 0.], [1., 1., 1.], [0., 1., 0.]]
}

/// `result` should be `image` convolved with [`plus_kernel`] without padding.
pub fn convolution_2d(image: &Array2<f32>, result: &Array2<f32>) -> Check {
    let expected = convolve2d(image, &plus_kernel(), Padding::Valid, 1).unwrap_or_default();
    verdict(if result.shape() != expected.shape() {
        Err(format!(
            "your feature map has shape {}; a 3×3 kernel without padding gives {}",
            full_shape(result.shape()),
            full_shape(expected.shape())
        ))
    } else {
        same_array("feature map", result, &expected, 1e-4)
            .map(|()| "the feature map matches".into())
            .map_err(|e| format!("{e} — each output is (kernel * window).sum() with the window's top-left corner at the output's position"))
    })
}

fn kernel_check(name: &str, kernel: &Array2<f32>, expected: Array2<f32>, confusions: &[(Array2<f32>, &str)]) -> Check {
    for (wrong, why) in confusions {
        if kernel == wrong {
            return verdict(Err(why.to_string()));
        }
    }
    verdict(same_array(name, kernel, &expected, 1e-6).map(|()| format!("{name}: {expected}")))
}

/// A kernel that finds vertical lines: `[[-1, 1, -1]]` in each of 3 rows.
pub fn vertical_line_kernel(kernel: &Array2<f32>) -> Check {
    let expected = array![[-1f32, 1., -1.], [-1., 1., -1.], [-1., 1., -1.]];
    let horizontal = expected.t().to_owned();
    kernel_check(
        "vertical line kernel",
        kernel,
        expected,
        &[(
            horizontal,
            "that kernel finds horizontal lines: the 1s should form a column",
        )],
    )
}

/// A kernel that finds horizontal lines.
pub fn horizontal_line_kernel(kernel: &Array2<f32>) -> Check {
    let expected = array![[-1f32, -1., -1.], [1., 1., 1.], [-1., -1., -1.]];
    let vertical = expected.t().to_owned();
    kernel_check(
        "horizontal line kernel",
        kernel,
        expected,
        &[(vertical, "that kernel finds vertical lines: the 1s should form a row")],
    )
}

/// A kernel that finds a light spot on a dark background.
pub fn light_spot_kernel(kernel: &Array2<f32>) -> Check {
    let expected = array![[-1f32, -1., -1.], [-1., 1., -1.], [-1., -1., -1.]];
    let dark = -&expected;
    kernel_check(
        "light spot kernel",
        kernel,
        expected,
        &[(
            dark,
            "that kernel finds a dark spot: the centre should be +1, the surroundings −1",
        )],
    )
}

/// A kernel that finds a dark spot on a light background.
pub fn dark_spot_kernel(kernel: &Array2<f32>) -> Check {
    let expected = array![[1f32, 1., 1.], [1., -1., 1.], [1., 1., 1.]];
    let light = -&expected;
    kernel_check(
        "dark spot kernel",
        kernel,
        expected,
        &[(
            light,
            "that kernel finds a light spot: the centre should be −1, the surroundings +1",
        )],
    )
}

/// `output_size(input, kernel, padding, stride)` should follow `O = (I − K + 2P) / S + 1`.
pub fn output_size_formula(output_size: impl Fn(usize, usize, usize, usize) -> usize) -> Check {
    let cases = [(256, 4, 1, 2), (28, 3, 1, 1), (28, 3, 1, 3), (28, 3, 0, 1)];
    let right = |i: usize, k: usize, p: usize, s: usize| (i + 2 * p - k) / s + 1;
    // The typical mistakes, recognised when they explain every case.
    type Formula = fn(usize, usize, usize, usize) -> usize;
    let mistakes: [(&str, Formula); 2] = [
        ("add 1: the first window sits at position 0", |i, k, p, s| {
            (i + 2 * p - k) / s
        }),
        ("padding adds P pixels on both sides: 2P", |i, k, p, s| {
            (i + p - k) / s + 1
        }),
    ];
    let answers: Vec<usize> = cases.iter().map(|&(i, k, p, s)| output_size(i, k, p, s)).collect();
    let Some(bad) = cases
        .iter()
        .zip(&answers)
        .position(|(&(i, k, p, s), &got)| got != right(i, k, p, s))
    else {
        return verdict(Ok("output size: 128, 28 and 10 for the course's three cases".into()));
    };
    let hint = mistakes
        .iter()
        .find(|(_, wrong)| {
            cases
                .iter()
                .zip(&answers)
                .all(|(&(i, k, p, s), &got)| got == wrong(i, k, p, s))
        })
        .map(|(hint, _)| *hint)
        .unwrap_or("O = (I − K + 2P) / S + 1");
    let (i, k, p, s) = cases[bad];
    verdict(Err(format!(
        "output_size({i}, {k}, {p}, {s}) gives {}; expected {}: {hint}",
        answers[bad],
        right(i, k, p, s)
    )))
}

/// Conv2D(10, 3, relu) → Flatten → Dense(3, softmax) on 28×28×1.
pub fn first_conv_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[26, 26, 10], 100),
                ("Flatten", &[6760], 0),
                ("Dense", &[3], 20283),
            ],
        )
        .map(|()| "10 kernels of 3×3: 90 kernel weights + 10 biases".into()),
    )
}

/// Conv2D(10, 3, padding "same") on 28×28×1 keeps 28×28.
pub fn same_padding_model(model: &Sequential) -> Check {
    verdict(single_conv(model, &[28, 28, 10], "'same' padding keeps 28×28"))
}

/// Conv2D(10, 3, strides 2) on 28×28×1 gives 13×13.
pub fn strided_model(model: &Sequential) -> Check {
    verdict(single_conv(model, &[13, 13, 10], "stride 2: (28 − 3) / 2 + 1 = 13"))
}

/// Conv2D(10, 3, dilation 2) on 28×28×1 sees 5×5 fields: 24×24.
pub fn dilated_model(model: &Sequential) -> Check {
    verdict(single_conv(
        model,
        &[24, 24, 10],
        "dilation 2: a 3×3 kernel covers 5×5, 28 − 5 + 1 = 24",
    ))
}

fn single_conv(model: &Sequential, shape: &[usize], why: &str) -> Result<String, String> {
    same_model(model, &[("Conv2D", shape, 100)]).map(|()| why.to_string())
}

/// Parameters of Conv2D(16, kernel 2) on one channel: K·F·F·D_in + K = 80.
pub fn udacity_params(count: usize) -> Check {
    verdict(if count == 64 {
        Err("64 counts the kernel weights only: each of the 16 filters also has a bias".into())
    } else {
        same_number(
            "the parameter count",
            count as f64,
            80.0,
            "K·F·F·D_in + K with K = 16 filters, F = 2, D_in = 1.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn one_dimensional() {
        assert!(convolution_1d(&array![0., 1., 0., -1., 0., 1., 0., -1., 0.]).passed);
        assert!(convolution_1d(&array![0., 1., 0., -1., 0., 1., 0., -1., 0., 0.])
            .message
            .contains("fits in 9 positions"));
        assert!(convolution_1d(&array![0., -1., 0., 1., 0., -1., 0., 1., 0.])
            .message
            .contains("wrong sign"));
        assert!(convolution_1d_exercise(&array![1., -1., 1., -1., 1., -1., 1., -1.]).passed);
        assert!(convolution_1d_exercise(&array![1., -1., 1., -1., 1., -1., 1., -1., 0., 0.]).passed);
        assert!(!convolution_1d_exercise(&array![1., -1., 1., -1., 1., -1., 0., 0.]).passed);
    }

    #[test]
    fn two_dimensional_and_kernels() {
        let image = Array2::from_shape_fn((28, 28), |(r, c)| ((r * 3 + c * 7) % 11) as f32 / 10.0);
        let right = convolve2d(&image, &plus_kernel(), Padding::Valid, 1).unwrap();
        assert!(convolution_2d(&image, &right).passed);
        let same = convolve2d(&image, &plus_kernel(), Padding::Same, 1).unwrap();
        assert_eq!(
            convolution_2d(&image, &same).message,
            "your feature map has shape (28, 28); a 3×3 kernel without padding gives (26, 26)"
        );
        let mut off = right.clone();
        off[[3, 4]] += 1.0;
        assert!(convolution_2d(&image, &off).message.contains("feature map[3, 4]"));

        let v = array![[-1f32, 1., -1.], [-1., 1., -1.], [-1., 1., -1.]];
        assert!(vertical_line_kernel(&v).passed);
        assert!(vertical_line_kernel(&v.t().to_owned())
            .message
            .contains("finds horizontal lines"));
        assert!(horizontal_line_kernel(&v.t().to_owned()).passed);
        assert!(horizontal_line_kernel(&v).message.contains("finds vertical lines"));
        let light = array![[-1f32, -1., -1.], [-1., 1., -1.], [-1., -1., -1.]];
        assert!(light_spot_kernel(&light).passed);
        assert!(light_spot_kernel(&-&light).message.contains("finds a dark spot"));
        assert!(dark_spot_kernel(&-&light).passed);
        assert!(dark_spot_kernel(&light).message.contains("finds a light spot"));
        assert!(!dark_spot_kernel(&Array2::zeros((3, 3))).passed);
    }

    #[test]
    fn formula_and_models() {
        assert!(output_size_formula(|i, k, p, s| (i - k + 2 * p) / s + 1).passed);
        assert!(output_size_formula(|i, k, p, s| (i - k + 2 * p) / s)
            .message
            .contains("add 1"));
        assert!(output_size_formula(|i, k, p, s| (i - k + p) / s + 1)
            .message
            .contains("2P"));
        let conv = |layer: Conv2D| {
            let mut m = Sequential::new();
            m.add(layer.input_shape((28, 28, 1))).unwrap();
            m
        };
        assert!(same_padding_model(&conv(Conv2D::new(10, 3).padding("same"))).passed);
        assert!(same_padding_model(&conv(Conv2D::new(10, 3)))
            .message
            .contains("outputs (None, 26, 26, 10)"));
        assert!(strided_model(&conv(Conv2D::new(10, 3).strides(2))).passed);
        assert!(!strided_model(&conv(Conv2D::new(10, 3).strides(3))).passed);
        assert!(dilated_model(&conv(Conv2D::new(10, 3).dilation_rate(2))).passed);
        // A 5×5 kernel also gives 24×24, but with 260 parameters instead of 100.
        assert!(dilated_model(&conv(Conv2D::new(10, 5)))
            .message
            .contains("has 260 parameters; expected 100"));
        let mut m = conv(Conv2D::new(10, 3).activation("relu"));
        m.add(Flatten::new()).unwrap();
        m.add(Dense::new(3).activation("softmax")).unwrap();
        assert!(first_conv_model(&m).passed);
        assert!(first_conv_model(&conv(Conv2D::new(10, 3)))
            .message
            .contains("your model has 1 layers"));
        assert!(udacity_params(80).passed);
        assert!(udacity_params(64).message.contains("also has a bias"));
        assert!(!udacity_params(100).passed);
    }
}
