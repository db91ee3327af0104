//! Chapter 3 — convolutions: by hand in 1-D and 2-D, designing kernels, a kernel learned
//! from data, colour kernels, the output-size formula, receptive fields and the Conv2D layer.

use super::quiz::{Question, Quiz};
use super::{prediction, same_array, same_model, same_number, verdict, Check};
use crate::arrays::full_shape;
use crate::convolution::{convolve1d, convolve2d};
use crate::padding::Padding;
use crate::{Conv2D, Sequential, WithInputShape};
use ndarray::{array, s, Array1, Array2, Array3, Array4};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

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
        return check_1d(&input, &kernel, &result.slice(s![..8]).to_owned());
    }
    check_1d(&input, &kernel, result)
}

fn check_1d(input: &Array1<f32>, kernel: &Array1<f32>, result: &Array1<f32>) -> Check {
    let expected = convolve1d(input, kernel).unwrap_or_default();
    let flipped = convolve1d(input, &kernel.slice(s![..;-1])).unwrap_or_default();
    verdict(if result.len() != expected.len() {
        Err(format!(
            "your result has {} values; a kernel of {} slides over {} values: it fits at positions 0 to {} − {}",
            result.len(),
            kernel.len(),
            input.len(),
            input.len(),
            kernel.len()
        ))
    } else if *result == flipped && flipped != expected {
        Err("you flipped the kernel: layers compute cross-correlation — kernel[k] times array[i + k], no flip (mathematics' convolution flips, deep learning's does not)".into())
    } else {
        same_array("result", result, &expected, 1e-6).map(|()| format!("{expected}: ±1 marks each edge"))
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
            "your feature map has shape {}: without padding, a 3×3 kernel fits at {} − 2 positions down and {} − 2 across",
            full_shape(result.shape()),
            image.nrows(),
            image.ncols()
        ))
    } else {
        same_array("feature map", result, &expected, 1e-4)
            .map(|()| "the feature map matches".into())
            .map_err(|e| format!("{e} — each output is (kernel * window).sum(), the window's top-left corner at the output's position"))
    })
}

/// The four kernels chapter 3 designs, by name: vertical line, horizontal line, light spot,
/// dark spot.
pub fn designed_kernels() -> Vec<(&'static str, Array2<f32>)> {
    let vertical = array![[-1f32, 1., -1.], [-1., 1., -1.], [-1., 1., -1.]];
    let light = array![[-1f32, -1., -1.], [-1., 1., -1.], [-1., -1., -1.]];
    vec![
        ("vertical line", vertical.clone()),
        ("horizontal line", vertical.t().to_owned()),
        ("light spot", light.clone()),
        ("dark spot", -light),
    ]
}

fn designed(index: usize) -> Array2<f32> {
    designed_kernels().swap_remove(index).1
}

fn kernel_check(name: &str, kernel: &Array2<f32>, expected: Array2<f32>, confusion: (Array2<f32>, &str)) -> Check {
    verdict(match *kernel == confusion.0 {
        true => Err(confusion.1.to_string()),
        false => same_array(name, kernel, &expected, 1e-6)
            .map(|()| format!("{name}: {expected}"))
            .map_err(|e| format!("{e} — +1 where the pattern is bright, −1 where it is dark")),
    })
}

/// A kernel that finds vertical lines: `[[-1, 1, -1]]` in each of 3 rows.
pub fn vertical_line_kernel(kernel: &Array2<f32>) -> Check {
    let why = "that kernel finds horizontal lines: a vertical line's 1s form a column";
    kernel_check("vertical line kernel", kernel, designed(0), (designed(1), why))
}

/// A kernel that finds horizontal lines.
pub fn horizontal_line_kernel(kernel: &Array2<f32>) -> Check {
    let why = "that kernel finds vertical lines: a horizontal line's 1s form a row";
    kernel_check("horizontal line kernel", kernel, designed(1), (designed(0), why))
}

/// A kernel that finds a light spot on a dark background.
pub fn light_spot_kernel(kernel: &Array2<f32>) -> Check {
    let why = "that kernel finds a dark spot: the centre should be +1 (light), the surroundings −1";
    kernel_check("light spot kernel", kernel, designed(2), (designed(3), why))
}

/// A kernel that finds a dark spot on a light background.
pub fn dark_spot_kernel(kernel: &Array2<f32>) -> Check {
    let why = "that kernel finds a light spot: the centre should be −1 (dark), the surroundings +1";
    kernel_check("dark spot kernel", kernel, designed(3), (designed(2), why))
}

/// The left-edge kernel of the dress example: `[[-1, 1], [-1, 1]]`.
pub fn left_edge_kernel() -> Array2<f32> {
    array![[-1f32, 1.], [-1., 1.]]
}

/// A prediction of the signs ('+' or '-') of [`left_edge_kernel`]'s response at the left
/// and the right edge of the garment in `image`, along its middle row.
pub fn edge_signs(predicted: (char, char), image: &Array2<f32>) -> Check {
    let response = convolve2d(image, &left_edge_kernel(), Padding::Valid, 1).unwrap_or_default();
    let middle = response.nrows() / 2;
    let strong: Vec<f32> = match response.nrows() {
        0 => vec![],
        _ => response.row(middle).iter().copied().filter(|v| v.abs() > 0.2).collect(),
    };
    let sign = |v: Option<&f32>| match v {
        Some(v) if *v > 0.0 => '+',
        Some(_) => '-',
        None => '0',
    };
    prediction(
        "the signs at the left and right edges",
        predicted,
        (sign(strong.first()), sign(strong.last())),
        "at a left edge dark (×−1) turns bright (×+1) going right: positive; at a right edge bright turns dark: negative",
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
    let mut answers = Vec::new();
    for &(i, k, p, s) in &cases {
        match quietly(|| output_size(i, k, p, s)) {
            Ok(answer) => answers.push(answer),
            Err(why) => {
                return verdict(Err(format!(
                    "output_size({i}, {k}, {p}, {s}) stopped: {why}. A usize cannot go below 0 (or divide by 0): add before you subtract, O = (I + 2P − K) / S + 1"
                )))
            }
        }
    }
    let explains = |wrong: Formula| {
        cases
            .iter()
            .zip(&answers)
            .all(|(&(i, k, p, s), &got)| got == wrong(i, k, p, s))
    };
    let Some(bad) = cases
        .iter()
        .zip(&answers)
        .position(|(&(i, k, p, s), &got)| got != right(i, k, p, s))
    else {
        return verdict(Ok("output size: 128, 28 and 10 for the course's three cases".into()));
    };
    let hint = mistakes
        .iter()
        .find(|(_, wrong)| explains(*wrong))
        .map(|(hint, _)| *hint)
        .unwrap_or("O = (I − K + 2P) / S + 1");
    let (i, k, p, s) = cases[bad];
    verdict(Err(format!(
        "output_size({i}, {k}, {p}, {s}) gives {}, which is not right: {hint}",
        answers[bad]
    )))
}

/// `f()`, or the message it panicked with, without the panic printing itself first: a
/// learner's function that panics gets a verdict, not a dead cell.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.map_err(
        |payload| match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
            (Some(message), _) => message.to_string(),
            (_, Some(message)) => message.clone(),
            _ => "it panicked".into(),
        },
    )
}

/// Examples for learning an edge kernel: `count` signals of 10 values with one step up
/// or down, shape `(count, 1, 10, 1)`, and what the kernel `[-1, 1]` makes of each, shape
/// `(count, 9)`.
pub fn edge_examples(count: usize) -> (Array4<f32>, Array2<f32>) {
    let mut rng = StdRng::seed_from_u64(3);
    let mut signals = Array4::<f32>::zeros((count, 1, 10, 1));
    let mut edges = Array2::<f32>::zeros((count, 9));
    for i in 0..count {
        let (at, up) = (rng.random_range(1..10), rng.random_bool(0.5));
        for j in 0..10 {
            signals[[i, 0, j, 0]] = if (j >= at) == up { 1.0 } else { 0.0 };
        }
        for j in 0..9 {
            edges[[i, j]] = signals[[i, 0, j + 1, 0]] - signals[[i, 0, j, 0]];
        }
    }
    (signals, edges)
}

/// The model's first layer should have learned a kernel close to `[-1, 1]`.
pub fn learned_edge_kernel(model: &Sequential) -> Check {
    let weights = model
        .layers()
        .first()
        .and_then(|l| l.get_weights().ok())
        .unwrap_or_default();
    let kernel: Vec<f32> = weights.first().map(|k| k.iter().copied().collect()).unwrap_or_default();
    verdict(match kernel.as_slice() {
        [left, right] if weights.len() == 1 => {
            let shown = format!("[{left:.3}, {right:.3}]");
            match *left < -0.8 && *right > 0.8 {
                true => Ok(format!("the layer learned {shown}: the edge kernel [-1, 1], from examples alone")),
                false => Err(format!(
                    "the kernel is {shown}, not yet close to [-1, 1]: compile, then fit on the examples (more epochs, or a larger learning rate)"
                )),
            }
        }
        _ => Err(format!(
            "the first layer holds {} weights: the exercise's layer is Conv2D::new(1, (1, 2)).use_bias(false) — one 1×2 kernel, no bias",
            kernel.len() + weights.get(1).map_or(0, |b| b.len())
        )),
    })
}

/// `kernel` (rows, cols, 3) should respond more to red than to white, grey, black or sky blue.
pub fn red_detector(kernel: &Array3<f32>) -> Check {
    if kernel.dim().2 != 3 {
        return verdict(Err(format!(
            "your kernel has shape {}: a filter spans all the channels of its input, so a kernel for colour images has shape (rows, cols, 3)",
            full_shape(kernel.shape())
        )));
    }
    // The response to a patch of one colour: each channel's kernel sum times the colour.
    let sums: Vec<f32> = (0..3).map(|c| kernel.slice(s![.., .., c]).sum()).collect();
    let response = |colour: [f32; 3]| (0..3).map(|c| sums[c] * colour[c]).sum::<f32>();
    let red = response([1.0, 0.0, 0.0]);
    let others = [
        ("white", [1.0, 1.0, 1.0]),
        ("grey", [0.5, 0.5, 0.5]),
        ("black", [0.0, 0.0, 0.0]),
        ("sky blue", [0.55, 0.7, 0.95]),
    ];
    verdict(match others.iter().find(|(_, c)| response(*c) >= red - 0.1) {
        Some(("white", _)) => Err(format!(
            "your kernel responds {:.2} to white and {red:.2} to red: white has as much red as red itself, so make green and blue count against the pixel",
            response([1.0, 1.0, 1.0])
        )),
        Some((name, colour)) => Err(format!(
            "your kernel responds {:.2} to {name} and {red:.2} to red: red must give the strongest response",
            response(*colour)
        )),
        None => Ok(format!(
            "red gives {red:.2}, white {:.2}: each kernel channel weighs its colour",
            response([1.0, 1.0, 1.0])
        )),
    })
}

/// A prediction of the parameters of Conv2D(8, 3) on 32×32×3 colour images.
pub fn colour_conv_parameters(predicted: usize) -> Check {
    let mut model = Sequential::new();
    let truth = model
        .add(Conv2D::new(8, 3).input_shape((32, 32, 3)))
        .map(|()| model.count_params())
        .unwrap_or(0);
    prediction(
        "Conv2D(8, 3)'s parameters on colour images",
        predicted,
        truth,
        "each of the 8 filters is 3 × 3 × 3 — it spans the 3 colour channels — plus a bias: 8 × (27 + 1)",
    )
}

/// Conv2D(10, 3, relu) → Flatten → Dense(3, softmax) on 28×28×1.
pub fn first_conv_model(model: &Sequential) -> Check {
    verdict(
        same_model(
            model,
            &[
                ("Conv2D", &[26, 26, 10], 100, "relu"),
                ("Flatten", &[6760], 0, ""),
                ("Dense", &[3], 20283, "softmax"),
            ],
        )
        .map(|()| "10 kernels of 3×3: 90 kernel weights + 10 biases".into()),
    )
}

fn single_conv(model: &Sequential, shape: &[usize], why: &str) -> Check {
    verdict(same_model(model, &[("Conv2D", shape, 100, "")]).map(|()| why.to_string()))
}

/// Conv2D(10, 3, padding "same") on 28×28×1 keeps 28×28.
pub fn same_padding_model(model: &Sequential) -> Check {
    single_conv(model, &[28, 28, 10], "'same' padding keeps 28×28")
}

/// A prediction of the output shape of Conv2D(10, 3, strides 2) on 28×28×1, and the model.
pub fn strided(predicted: (usize, usize, usize), model: &Sequential) -> Check {
    let built = single_conv(model, &[13, 13, 10], "Conv2D(10, 3) with stride 2");
    match built.passed {
        true => prediction(
            "the output shape",
            predicted,
            (13, 13, 10),
            "(28 − 3) / 2 + 1 = 13 (rounded down): the kernel fits at every other position",
        ),
        false => built,
    }
}

/// Conv2D(10, 3, dilation 2) on 28×28×1 sees 5×5 fields: 24×24.
pub fn dilated_model(model: &Sequential) -> Check {
    single_conv(
        model,
        &[24, 24, 10],
        "dilation 2: a 3×3 kernel covers 5×5, 28 − 5 + 1 = 24",
    )
}

/// How many input pixels across one output of three stacked 3×3 convolutions sees.
pub fn receptive_field(size: usize) -> Check {
    verdict(match size {
        9 => Err("3 + 3 + 3 counts each layer's window separately, but neighbouring windows overlap: each 3×3 layer widens the field by 2".into()),
        27 => Err("windows stack, they do not multiply: each 3×3 layer widens the field by 2".into()),
        _ => same_number(
            "the receptive field",
            size as f64,
            7.0,
            "One 3×3 layer sees 3 pixels; each further 3×3 layer adds kernel − 1 = 2.",
        )
        .map(|m| format!("{m} pixels: deeper layers see more of the image")),
    })
}

/// Parameters of Conv2D(16, kernel 2) on one channel.
pub fn udacity_params(count: usize) -> Check {
    verdict(if count == 64 {
        Err("you counted the kernel weights only: each of the 16 filters also has a bias".into())
    } else {
        same_number(
            "the parameter count",
            count as f64,
            80.0,
            "A Conv2D layer has kernel rows × cols × input channels × filters weights, plus one bias per filter.",
        )
    })
}

/// Chapter 3's questionnaire.
pub const QUIZ: Quiz = Quiz(&[
    Question {
        ask: "What does a Conv2D layer compute at each position?",
        options: &[
            (
                "A convolution with the kernel flipped, as mathematics defines it.",
                "deep-learning libraries do not flip the kernel",
            ),
            (
                "Cross-correlation: each kernel value times the pixel under it, summed, no flip.",
                "what every deep-learning library calls convolution; a learned kernel would learn the flip anyway",
            ),
            (
                "The mean of the window.",
                "that is average pooling, with no kernel to learn",
            ),
        ],
        answer: 'B',
    },
    Question {
        ask: "Conv2D(10, 3, padding 'same') on 28 × 28 × 1 images → Flatten → Dense(2). How many parameters?",
        options: &[
            (
                "100",
                "that is the Conv2D layer alone: the Dense layer has parameters too",
            ),
            (
                "1,668",
                "'same' padding keeps 28 × 28, so Flatten gives 28 × 28 × 10 values to the Dense layer",
            ),
            (
                "15,782",
                "100 for the convolution, 7,840 × 2 + 2 = 15,682 for the Dense layer",
            ),
            (
                "15,682",
                "that is the Dense layer alone: add the convolution's 10 × 9 weights and 10 biases",
            ),
        ],
        answer: 'C',
    },
    Question {
        ask: "What does padding 'same' do?",
        options: &[
            (
                "Adds zeros around the input so that, at stride 1, the output keeps the input's size.",
                "a 3×3 kernel needs one ring of zeros to fit at every pixel",
            ),
            (
                "Repeats the edge pixels.",
                "Keras' 'same' padding adds zeros; repeating edges is another method",
            ),
            (
                "Makes every filter the same.",
                "padding is about the borders of the image, not the filters",
            ),
        ],
        answer: 'A',
    },
    Question {
        ask: "Does a Conv2D layer's number of parameters grow with the size of the image?",
        options: &[
            (
                "Yes, one weight per pixel.",
                "that is a Dense layer; a kernel slides over images of any size",
            ),
            (
                "No: only the kernels' size, the channels and the filters count.",
                "its kernels are shared by every position; only a Dense layer after Flatten grows with the image",
            ),
            (
                "Only with padding 'same'.",
                "padding changes the output's size, not the kernels",
            ),
        ],
        answer: 'B',
    },
    Question {
        ask: "A 3 × 3 kernel with dilation rate 2 covers a field of…",
        options: &[
            ("3 × 3", "dilation spreads the kernel's 3 taps apart"),
            ("5 × 5", "its taps are 2 pixels apart: 1 + 2 × 2 = 5"),
            ("6 × 6", "the first tap is at 0 and the last at 4: 5 pixels"),
            ("9 × 9", "dilation spreads the taps; it does not multiply the size by 3"),
        ],
        answer: 'B',
    },
]);
