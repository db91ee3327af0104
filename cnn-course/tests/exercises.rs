//! Every exercise checker accepts the solution and rejects typical mistakes with the
//! message that explains them (and without giving the answer away).

mod common;

use cnn_course::exercises::{ch1, ch2, ch3, ch4, ch5, ch6, Check};
use cnn_course::images::{bricks, stop_sign};
use cnn_course::prelude::*;

#[track_caller]
fn right(check: Check) {
    assert!(check.passed, "rejected: {}", check.message);
}

#[track_caller]
fn wrong(check: Check, says: &str) {
    assert!(!check.passed, "accepted: {}", check.message);
    assert!(
        check.message.contains(says),
        "{:?} does not say {says:?}",
        check.message
    );
}

fn grey() -> Array2<f32> {
    Array2::from_shape_fn((28, 28), |(r, c)| ((r * 28 + c) % 97) as f32 / 96.0)
}

#[test]
fn ch1_pixels() {
    let photo = stop_sign().unwrap();
    right(ch1::red_pixel(&photo, &photo.slice(s![95, 300, ..]).to_owned()));
    wrong(
        ch1::red_pixel(&photo, &photo.slice(s![300, 95, ..]).to_owned()),
        "the row comes first",
    );
    wrong(
        ch1::red_pixel(&photo, &photo.slice(s![95, 300..302, 0]).to_owned()),
        "a colour pixel has 3",
    );
    let sky = photo.slice(s![30, 150, ..]).to_owned();
    assert!(sky[2] > sky[0], "the sky is blue: {sky}");
    right(ch1::sky_pixel(&photo, &sky));
    wrong(
        ch1::sky_pixel(&photo, &photo.slice(s![150, 30, ..]).to_owned()),
        "the row comes first",
    );
    let wrong_value = ch1::sky_pixel(&photo, &photo.slice(s![31, 150, ..]).to_owned());
    assert!(!wrong_value.passed && !wrong_value.message.contains(&format!("{}", sky[0])));
    right(ch1::numbers_in_photo(360 * 480 * 3, &photo));
    wrong(ch1::numbers_in_photo(360 * 480, &photo), "× 3 channels");
}

#[test]
fn ch1_painting() {
    let photo = stop_sign().unwrap();
    let mut red = photo.clone();
    red.slice_mut(s![.., .., 1..]).fill(0.0);
    right(ch1::only_red(&photo, &red));
    let mut no_red = photo.clone();
    no_red.slice_mut(s![.., .., ..2]).fill(0.0);
    wrong(ch1::only_red(&photo, &no_red), "the red channel (index 0) is all zeros");
    let mut half = photo.clone();
    half.slice_mut(s![.., .., 1]).fill(0.0);
    wrong(ch1::only_red(&photo, &half), "some green or blue values are not 0");

    let mut green = photo.clone();
    green.slice_mut(s![10..60, 10..60, ..]).assign(&array![0.0, 1.0, 0.0]);
    right(ch1::green_square(&photo, &green));
    let mut bytes = photo.clone();
    bytes.slice_mut(s![10..60, 10..60, ..]).assign(&array![0.0, 255.0, 0.0]);
    wrong(ch1::green_square(&photo, &bytes), "not 0..255");
    let mut shifted = photo.clone();
    shifted.slice_mut(s![10..61, 10..60, ..]).assign(&array![0.0, 1.0, 0.0]);
    wrong(ch1::green_square(&photo, &shifted), "paint rows 10..60");

    let wall = bricks().unwrap();
    let mut corner = wall.clone();
    corner.slice_mut(s![..30, ..30, ..]).assign(&array![1.0, 0.0, 0.0]);
    right(ch1::red_corner(&wall, &corner));
    let mut small = wall.clone();
    small.slice_mut(s![..20, ..20, ..]).assign(&array![1.0, 0.0, 0.0]);
    wrong(ch1::red_corner(&wall, &small), "paint rows 0..30 and columns 0..30");
    wrong(
        ch1::red_corner(&wall, &corner.slice(s![..30, ..30, ..]).to_owned()),
        "not a slice of it",
    );
}

#[test]
fn ch1_greyscale() {
    let image = grey();
    right(ch1::brightest(&image, 1.0));
    wrong(ch1::brightest(&image, 0.0), "that is the darkest value");
    wrong(ch1::brightest(&image, 0.5), "the brightest value is not 0.5");
    let mut edited = image.clone();
    edited.slice_mut(s![5..15, 5..15]).fill(0.0);
    right(ch1::patch_cleared(&image, &edited));
    let mut white = image.clone();
    white.slice_mut(s![5..15, 5..15]).fill(1.0);
    wrong(ch1::patch_cleared(&image, &white), "black is 0.0");
    let mut small = image.clone();
    small.slice_mut(s![5..14, 5..15]).fill(0.0);
    wrong(ch1::patch_cleared(&image, &small), "set rows 5..15");
    let count = image.iter().filter(|&&v| v > 0.5).count();
    right(ch1::bright_pixels(&image, count));
    wrong(ch1::bright_pixels(&image, 784 - count), "0.5 or darker");
    wrong(ch1::bright_pixels(&image, count + 1), "Count the values v with v > 0.5");
}

/// A model from (layer, activation) pairs; the first gets `input`.
fn model(input: &[usize], layers: Vec<LayerSpecOf>) -> Sequential {
    let mut model = Sequential::new();
    for (i, layer) in layers.into_iter().enumerate() {
        let layer = match i {
            0 => layer.input_shape(input.to_vec()),
            _ => layer,
        };
        model.add(layer).unwrap();
    }
    model
}

type LayerSpecOf = cnn_course::layers::LayerSpec;

fn conv(filters: usize, kernel: usize) -> LayerSpecOf {
    Conv2D::new(filters, kernel).activation("relu").into()
}

fn dense(units: usize, activation: &str) -> LayerSpecOf {
    Dense::new(units).activation(activation).into()
}

#[test]
fn ch2_counting_and_encoding() {
    right(ch2::split_sizes(40, 10));
    wrong(ch2::split_sizes(10, 40), "swapped");
    wrong(ch2::split_sizes(45, 10), "is not 50");
    wrong(ch2::split_sizes(usize::MAX, 10), "is not 50");
    let encoded = one_hot(&ch2::LABELS, &ch2::CATEGORIES).unwrap();
    right(ch2::one_hot(&encoded));
    wrong(ch2::one_hot(&encoded.t().to_owned()), "one row per label");
    wrong(ch2::one_hot(&Array2::zeros((8, 3))), "exactly one 1");
    right(ch2::number_correct(6.0));
    wrong(ch2::number_correct(2.0), "number of wrong answers");
    wrong(ch2::number_correct(8.0), "number of predictions");
    let five = ch2::number_correct(5.0);
    assert!(!five.passed && !five.message.contains('6'), "{}", five.message);
    right(ch2::proportion_correct(0.75));
    wrong(ch2::proportion_correct(2.0), "number of categories");
    wrong(ch2::proportion_correct(0.6), "Divide the number correct");
    let images = Array4::from_shape_fn((5, 28, 28, 1), |(i, r, c, _)| (i + r + c) as f32);
    let flat = images.to_shape((5, 784)).unwrap().to_owned();
    right(ch2::flattened(&images, &flat));
    wrong(ch2::flattened(&images, &flat.t().to_owned()), "one row per image");
    right(ch2::dense_parameters(7850));
    wrong(ch2::dense_parameters(7840), "plus its own bias");
}

#[test]
fn ch2_how_learning_works() {
    right(ch2::gradient_step(-18.0, 1.18));
    wrong(ch2::gradient_step(18.0, 0.82), "wrong sign");
    wrong(ch2::gradient_step(-6.0, 1.06), "chain rule");
    wrong(ch2::gradient_step(-18.0, 0.82), "steps with the gradient");
    let z = ch2::logits();
    let e = z.mapv(f32::exp);
    right(ch2::softmax(&(&e / e.sum())));
    wrong(ch2::softmax(&(&z / z.sum())), "take exp of each first");
    wrong(ch2::softmax(&e), "divide each by their sum");
    right(ch2::cross_entropy(0.3567));
    wrong(ch2::cross_entropy(-0.3567), "is negative");
    wrong(ch2::cross_entropy(-(0.7f32.log10())), "natural logarithm");
    wrong(ch2::cross_entropy(1.609), "a wrong class");
}

#[test]
fn ch2_the_first_network() {
    let good = model(&[784], vec![dense(10, "relu"), dense(10, "relu"), dense(3, "softmax")]);
    right(ch2::dense_model(&good));
    let wide = model(&[784], vec![dense(12, "relu"), dense(10, "relu"), dense(3, "softmax")]);
    wrong(ch2::dense_model(&wide), "has 12 units; the exercise asks for 10");
    let linear = model(
        &[784],
        vec![Dense::new(10).into(), dense(10, "relu"), dense(3, "softmax")],
    );
    wrong(
        ch2::dense_model(&linear),
        "has no activation: add .activation(\"relu\")",
    );
    let short = model(&[784], vec![dense(10, "relu"), dense(3, "softmax")]);
    wrong(ch2::dense_model(&short), "has 3 units; the exercise asks for 10");
    let mut compiled = good.clone();
    wrong(ch2::compiled(&compiled), "not compiled");
    compiled
        .compile("sgd", "categorical_crossentropy", &["accuracy"])
        .unwrap();
    wrong(ch2::compiled(&compiled), "the optimizer is sgd");
    let mut good = good;
    good.compile("adam", "categorical_crossentropy", &["accuracy"]).unwrap();
    right(ch2::compiled(&good));
    let history = |epochs: usize, validation: bool| History {
        epoch: (1..=epochs).collect(),
        loss: vec![1.0; epochs],
        accuracy: vec![0.5; epochs],
        val_loss: if validation { vec![1.0; epochs] } else { vec![] },
        val_accuracy: if validation { vec![0.5; epochs] } else { vec![] },
        stopped_early: None,
    };
    right(ch2::trained(&history(3, true), 3));
    wrong(ch2::trained(&history(5, true), 3), "trained 5 epochs");
    wrong(ch2::trained(&history(3, false), 3), "no validation loss");
    let x = Array2::<f32>::from_shape_fn((4, 784), |(i, j)| ((i * 7 + j) % 11) as f32 / 10.0);
    let y = to_categorical(&array![0u8, 1, 2, 0], 3).unwrap();
    let score = good.evaluate(&x, &y).unwrap();
    right(ch2::evaluated(&good, &x, &y, &score));
    let other = good
        .evaluate(&x.slice(s![..2, ..]).to_owned(), &y.slice(s![..2, ..]).to_owned())
        .unwrap();
    wrong(ch2::evaluated(&good, &x, &y, &other), "not the test set's");
}

#[test]
fn ch3_convolution_by_hand() {
    right(ch3::convolution_1d(&array![0., 1., 0., -1., 0., 1., 0., -1., 0.]));
    wrong(
        ch3::convolution_1d(&array![0., -1., 0., 1., 0., -1., 0., 1., 0.]),
        "you flipped the kernel",
    );
    wrong(
        ch3::convolution_1d(&array![0., 1., 0., -1., 0., 1., 0., -1., 0., 0.]),
        "has 10 values",
    );
    right(ch3::convolution_1d_exercise(&array![
        1., -1., 1., -1., 1., -1., 1., -1.
    ]));
    right(ch3::convolution_1d_exercise(&array![
        1., -1., 1., -1., 1., -1., 1., -1., 0., 0.
    ]));
    wrong(
        ch3::convolution_1d_exercise(&array![1., -1., 1., -1., 1., -1., 1., 1.]),
        "result[7] is 1",
    );
    let image = grey();
    let map = convolve2d(&image, &ch3::plus_kernel(), Padding::Valid, 1).unwrap();
    right(ch3::convolution_2d(&image, &map));
    wrong(
        ch3::convolution_2d(&image, &Array2::zeros((28, 28))),
        "fits at 28 − 2 positions",
    );
    let mut off = map.clone();
    off[[3, 4]] += 1.0;
    wrong(ch3::convolution_2d(&image, &off), "feature map[3, 4]");
    // An image too small for the kernel has no feature map: an empty answer is not right.
    for tiny in [Array2::zeros((0, 0)), Array2::zeros((2, 2))] {
        wrong(
            ch3::convolution_2d(&tiny, &Array2::zeros((0, 0))),
            "there is no feature map to check: the input is empty or smaller than the window",
        );
    }
    let vertical = array![[-1f32, 1., -1.], [-1., 1., -1.], [-1., 1., -1.]];
    right(ch3::vertical_line_kernel(&vertical));
    wrong(
        ch3::vertical_line_kernel(&vertical.t().to_owned()),
        "finds horizontal lines",
    );
    right(ch3::horizontal_line_kernel(&vertical.t().to_owned()));
    wrong(ch3::horizontal_line_kernel(&vertical), "finds vertical lines");
    let light = array![[-1f32, -1., -1.], [-1., 1., -1.], [-1., -1., -1.]];
    right(ch3::light_spot_kernel(&light));
    wrong(ch3::light_spot_kernel(&-&light), "finds a dark spot");
    right(ch3::dark_spot_kernel(&-&light));
    wrong(ch3::dark_spot_kernel(&light), "finds a light spot");
    wrong(
        ch3::dark_spot_kernel(&Array2::zeros((3, 3))),
        "+1 where the pattern is bright",
    );
}

#[test]
fn ch3_edges_sizes_and_colour() {
    // A bright block in the middle: its left edge rises, its right edge falls.
    let mut block = Array2::<f32>::zeros((28, 28));
    block.slice_mut(s![4..24, 8..20]).fill(0.8);
    right(ch3::edge_signs(('+', '-'), &block));
    wrong(
        ch3::edge_signs(('-', '+'), &block),
        "at a left edge dark (×−1) turns bright",
    );
    right(ch3::output_size_formula(|i, k, p, s| (i + 2 * p - k) / s + 1));
    wrong(ch3::output_size_formula(|i, k, p, s| (i + 2 * p - k) / s), "add 1");
    wrong(ch3::output_size_formula(|i, k, p, s| (i + p - k) / s + 1), "2P");
    // A formula that subtracts first goes below 0 in usize: a verdict, not a dead cell.
    // Built with overflow checks (as the notebooks' cells and debug tests are) it stops;
    // without them (`cargo test --release`) it wraps to a huge size, which is wrong too.
    wrong(
        ch3::output_size_formula(|i, k, p, s| (k - i + 2 * p) / s + 1),
        match cfg!(debug_assertions) {
            true => "output_size(256, 4, 1, 2) stopped: attempt to subtract with overflow. A usize cannot go below 0",
            false => "output_size(256, 4, 1, 2) gives 9223372036854775684, which is not right",
        },
    );
    wrong(
        ch3::output_size_formula(|i, k, p, s| (i + 2 * p - k) / (s - 1)),
        "divide by zero",
    );
    let red = Array3::from_shape_vec((1, 1, 3), vec![1.0, -1.0, -1.0]).unwrap();
    right(ch3::red_detector(&red));
    let only_red = Array3::from_shape_vec((1, 1, 3), vec![1.0, 0.0, 0.0]).unwrap();
    wrong(ch3::red_detector(&only_red), "white has as much red as red itself");
    wrong(ch3::red_detector(&Array3::ones((3, 3, 1))), "shape (rows, cols, 3)");
    right(ch3::colour_conv_parameters(224));
    wrong(ch3::colour_conv_parameters(80), "it spans the 3 colour channels");
    right(ch3::receptive_field(7));
    wrong(ch3::receptive_field(9), "neighbouring windows overlap");
    wrong(ch3::receptive_field(27), "do not multiply");
    right(ch3::udacity_params(80));
    wrong(ch3::udacity_params(64), "also has a bias");
    let sixteen = ch3::udacity_params(32);
    assert!(
        !sixteen.passed && !sixteen.message.contains("80"),
        "{}",
        sixteen.message
    );
}

#[test]
fn ch3_a_kernel_learned_from_data() {
    let (signals, edges) = ch3::edge_examples(200);
    assert_eq!((signals.shape(), edges.shape()), (&[200, 1, 10, 1][..], &[200, 9][..]));
    let _seed = common::seeded(0);
    let mut learner = Sequential::new();
    learner
        .add(Conv2D::new(1, (1, 2)).use_bias(false).input_shape((1, 10, 1)))
        .unwrap();
    learner.add(Flatten::new()).unwrap();
    wrong(ch3::learned_edge_kernel(&learner), "not yet close to [-1, 1]");
    learner
        .compile(
            SGD {
                learning_rate: 0.1,
                ..Default::default()
            },
            "mean_squared_error",
            &[],
        )
        .unwrap();
    learner
        .fit(&signals, &edges, Fit::new().epochs(20).batch_size(10).verbose(0))
        .unwrap();
    right(ch3::learned_edge_kernel(&learner));
    let biased = model(&[1, 10, 1], vec![Conv2D::new(1, (1, 2)).into(), Flatten::new().into()]);
    wrong(ch3::learned_edge_kernel(&biased), "use_bias(false)");
}

#[test]
fn ch3_conv_layers() {
    let first = model(
        &[28, 28, 1],
        vec![conv(10, 3), Flatten::new().into(), dense(3, "softmax")],
    );
    right(ch3::first_conv_model(&first));
    let two = model(
        &[28, 28, 1],
        vec![conv(10, 2), Flatten::new().into(), dense(3, "softmax")],
    );
    wrong(ch3::first_conv_model(&two), "check its kernel size");
    let linear = model(
        &[28, 28, 1],
        vec![Conv2D::new(10, 3).into(), Flatten::new().into(), dense(3, "softmax")],
    );
    wrong(ch3::first_conv_model(&linear), "layer 1 (conv2d) has no activation");
    let same = model(&[28, 28, 1], vec![Conv2D::new(10, 3).padding("same").into()]);
    right(ch3::same_padding_model(&same));
    let valid = model(&[28, 28, 1], vec![Conv2D::new(10, 3).into()]);
    wrong(ch3::same_padding_model(&valid), "'same' keeps the size");
    let strided = model(&[28, 28, 1], vec![Conv2D::new(10, 3).strides(2).into()]);
    right(ch3::strided((13, 13, 10), &strided));
    wrong(
        ch3::strided((14, 14, 10), &strided),
        "you predicted the output shape = (14, 14, 10)",
    );
    wrong(ch3::strided((13, 13, 10), &valid), "strides (divide the size)");
    let dilated = model(&[28, 28, 1], vec![Conv2D::new(10, 3).dilation_rate(2).into()]);
    right(ch3::dilated_model(&dilated));
    wrong(ch3::dilated_model(&strided), "outputs (None, 13, 13, 10)");
}

#[test]
fn ch4_counting_and_pooling() {
    let deep = model(
        &[28, 28, 1],
        vec![conv(15, 2), conv(5, 2), Flatten::new().into(), dense(3, "softmax")],
    );
    right(ch4::two_conv_model(&deep));
    let swapped = model(
        &[28, 28, 1],
        vec![conv(5, 2), conv(15, 2), Flatten::new().into(), dense(3, "softmax")],
    );
    wrong(ch4::two_conv_model(&swapped), "has 5 filters; the exercise asks for 15");
    right(ch4::dense_parameter_counts(&[3925, 90, 48]));
    wrong(ch4::dense_parameter_counts(&[3920, 75, 45]), "leave out the biases");
    let wrong_dense = ch4::dense_parameter_counts(&[3925, 80, 48]);
    assert!(wrong_dense
        .message
        .contains("layer 2: 80 is not right — a Dense layer has inputs × units"));
    assert!(!wrong_dense.message.contains("90"));
    right(ch4::conv_parameter_counts(&[100, 910, 23523]));
    let missed_channels = ch4::conv_parameter_counts(&[100, 100, 23523]);
    wrong(
        missed_channels.clone(),
        "as many channels as the first layer has filters",
    );
    assert!(
        !missed_channels.message.contains("inputs × units"),
        "a conv layer's rule: {}",
        missed_channels.message
    );
    wrong(ch4::conv_parameter_counts(&[100, 910]), "give 3 numbers");
    let image = grey();
    right(ch4::max_pooling(&image, &max_pool2d(&image, 2).unwrap()));
    let mean = Array2::from_shape_fn((14, 14), |(r, c)| {
        image.slice(s![2 * r..2 * r + 2, 2 * c..2 * c + 2]).mean().unwrap()
    });
    wrong(ch4::max_pooling(&image, &mean), "the windows' means");
    wrong(ch4::max_pooling(&image, &Array2::zeros((13, 13))), "halve the rows");
    wrong(
        ch4::max_pooling(&Array2::zeros((1, 1)), &Array2::zeros((0, 0))),
        "there is no pooled image to check",
    );
    right(ch4::pooled_flatten_size(375));
    wrong(ch4::pooled_flatten_size(15 * 6 * 6), "rounded down");
    let pooled = model(
        &[28, 28, 1],
        vec![
            conv(5, 3),
            MaxPool2D::new(2).into(),
            conv(15, 3),
            MaxPool2D::new(2).into(),
            Flatten::new().into(),
            dense(3, "softmax"),
        ],
    );
    right(ch4::pooling_model(&pooled));
    let pool3 = model(
        &[28, 28, 1],
        vec![
            conv(5, 3),
            MaxPool2D::new(3).into(),
            conv(15, 3),
            MaxPool2D::new(2).into(),
            Flatten::new().into(),
            dense(3, "softmax"),
        ],
    );
    wrong(ch4::pooling_model(&pool3), "check its pool size");
    let strided = model(
        &[28, 28, 1],
        vec![
            Conv2D::new(5, 3).strides(2).activation("relu").into(),
            Conv2D::new(15, 3).strides(2).activation("relu").into(),
            Flatten::new().into(),
            dense(3, "softmax"),
        ],
    );
    right(ch4::strided_model(&strided));
    wrong(ch4::strided_model(&pooled), "strides (divide the size)");
    right(ch4::pool_output((50, 50, 15)));
    wrong(ch4::pool_output((50, 50, 7)), "the 15 channels stay");
}

#[test]
fn ch4_chollet_and_an_own_digit() {
    let mut convnet = model(
        &[28, 28, 1],
        vec![
            conv(32, 3),
            MaxPool2D::new(2).into(),
            conv(64, 3),
            MaxPool2D::new(2).into(),
            conv(64, 3),
            Flatten::new().into(),
            dense(64, "relu"),
            dense(10, "softmax"),
        ],
    );
    right(ch4::chollet_model(&convnet));
    let softmax_less = model(
        &[28, 28, 1],
        vec![
            conv(32, 3),
            MaxPool2D::new(2).into(),
            conv(64, 3),
            MaxPool2D::new(2).into(),
            conv(64, 3),
            Flatten::new().into(),
            dense(64, "relu"),
            Dense::new(10).into(),
        ],
    );
    wrong(ch4::chollet_model(&softmax_less), "layer 8 (dense_1) has no activation");
    wrong(ch4::compiled_rmsprop(&convnet), "not compiled");
    convnet
        .compile("rmsprop", "categorical_crossentropy", &["accuracy"])
        .unwrap();
    right(ch4::compiled_rmsprop(&convnet));
    let mine = cnn_course::images::prepare_digit(&cnn_course::images::example_digit().unwrap()).unwrap();
    let class = convnet.predict_classes(&mine).unwrap()[0];
    right(ch4::own_digit_class(class, &convnet, &mine));
    wrong(
        ch4::own_digit_class((class + 1) % 10, &convnet, &mine),
        "is not the class the network predicts",
    );
    let two = ndarray::concatenate(Axis(0), &[mine.view(), mine.view()]).unwrap();
    wrong(ch4::own_digit_class(class, &convnet, &two), "holds 2 images");
    let reads_seven = class == 7;
    right(ch4::raw_photo_recognised(reads_seven, &convnet, &mine, 7));
    wrong(
        ch4::raw_photo_recognised(!reads_seven, &convnet, &mine, 7),
        "you predicted",
    );
    wrong(
        ch4::raw_photo_recognised(true, &convnet, &Array4::zeros((1, 20, 20, 1)), 7),
        "cannot read a batch",
    );
}

fn history_of(loss: &[f64], val_loss: &[f64]) -> History {
    History {
        epoch: (1..=loss.len()).collect(),
        loss: loss.to_vec(),
        accuracy: vec![0.5; loss.len()],
        val_loss: val_loss.to_vec(),
        val_accuracy: vec![0.5; val_loss.len()],
        stopped_early: None,
    }
}

#[test]
fn ch5_curves_checkpoints_and_early_stopping() {
    let history = history_of(&[1.0, 0.6, 0.4, 0.3, 0.2], &[0.9, 0.5, 0.45, 0.5, 0.6]);
    right(ch5::overfitting(true, &history));
    wrong(ch5::overfitting(false, &history), "lowest 0.450 at epoch 3");
    wrong(
        ch5::overfitting(false, &History::default()),
        "this history has no val_loss",
    );
    right(ch5::best_epoch(3, &history));
    wrong(ch5::best_epoch(2, &history), "counted from 0");
    wrong(ch5::best_epoch(5, &history), "lowest training loss");
    wrong(ch5::best_epoch(1, &history), "is not the lowest point");
    let mut stopped = history.clone();
    stopped.stopped_early = Some("val_loss did not improve for 2 epochs".into());
    right(ch5::stopped_early(&stopped, 30));
    wrong(ch5::stopped_early(&history, 5), "without stopping early");

    let _seed = common::seeded(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let mut trained = model(
        &[28, 28, 1],
        vec![conv(4, 3), Flatten::new().into(), dense(3, "softmax")],
    );
    wrong(ch5::checkpoint_file(&path, &trained, &history), "does not exist");
    trained.save_weights(&path).unwrap();
    let checked = ch5::checkpoint_file(&path, &trained, &history);
    right(checked.clone());
    assert!(
        checked.message.contains("holds epoch 3's weights"),
        "{}",
        checked.message
    );
    let other = model(
        &[28, 28, 1],
        vec![conv(5, 3), Flatten::new().into(), dense(3, "softmax")],
    );
    assert!(!ch5::checkpoint_file(&path, &other, &history).passed);

    // The reloaded model's score on the validation images.
    trained
        .compile("adam", "categorical_crossentropy", &["accuracy"])
        .unwrap();
    let x = Array4::from_shape_fn((6, 28, 28, 1), |(i, r, c, _)| ((i * 3 + r * c) % 13) as f32 / 12.0);
    let y = to_categorical(&array![0u8, 1, 2, 0, 1, 2], 3).unwrap();
    let fitted = trained
        .fit(&x, &y, Fit::new().epochs(3).validation_data(&x, &y).verbose(0))
        .unwrap();
    let score = trained.evaluate(&x, &y).unwrap();
    right(ch5::reloaded_score(&score, &trained, &x, &y, &fitted));
    let elsewhere = trained
        .evaluate(
            &x.slice(s![..3, .., .., ..]).to_owned(),
            &y.slice(s![..3, ..]).to_owned(),
        )
        .unwrap();
    wrong(
        ch5::reloaded_score(&elsewhere, &trained, &x, &y, &fitted),
        "not rebuilt's score",
    );
    let mut last_epoch = score;
    last_epoch.loss = *fitted.val_loss.last().unwrap();
    if (last_epoch.loss - score.loss).abs() > 1e-3 {
        wrong(
            ch5::reloaded_score(&last_epoch, &trained, &x, &y, &fitted),
            "last epoch's score",
        );
    }
}

#[test]
fn ch5_regularization_and_weights() {
    let dropout = model(
        &[28, 28, 1],
        vec![
            conv(15, 2),
            Dropout::new(0.2).into(),
            conv(5, 2),
            Flatten::new().into(),
            dense(3, "softmax"),
        ],
    );
    right(ch5::dropout_model(&dropout));
    let half = model(
        &[28, 28, 1],
        vec![
            conv(15, 2),
            Dropout::new(0.5).into(),
            conv(5, 2),
            Flatten::new().into(),
            dense(3, "softmax"),
        ],
    );
    wrong(ch5::dropout_model(&half), "the dropout rate is 0.5");
    let norm = model(
        &[28, 28, 1],
        vec![
            conv(15, 2),
            BatchNormalization::new().into(),
            conv(5, 2),
            Flatten::new().into(),
            dense(3, "softmax"),
        ],
    );
    right(ch5::batchnorm_model(&norm));
    wrong(ch5::batchnorm_model(&dropout), "is a Dropout");
    let trained = model(
        &[28, 28, 1],
        vec![conv(5, 3), conv(15, 3), Flatten::new().into(), dense(3, "softmax")],
    );
    let weights = trained.layers()[0].get_weights().unwrap();
    right(ch5::first_layer_weights(&trained, &weights));
    wrong(ch5::first_layer_weights(&trained, &weights[..1]), "2 weight arrays");
    let flat_first = model(&[28, 28, 1], vec![Flatten::new().into(), dense(3, "softmax")]);
    wrong(ch5::first_layer_weights(&flat_first, &weights), "is not a Conv2D");
    let kernel = weights[0].slice(s![.., .., 0, 0]).to_owned();
    right(ch5::first_kernel(&trained, &kernel));
    wrong(
        ch5::first_kernel(&trained, &weights[0].slice(s![.., .., 0, 4]).to_owned()),
        "that is the last filter",
    );
    let image = grey();
    right(ch5::filtered_image(
        &image,
        &kernel,
        &convolve2d(&image, &kernel, Padding::Valid, 1).unwrap(),
    ));
    wrong(
        ch5::filtered_image(&image, &kernel, &convolve2d(&image, &kernel, Padding::Same, 1).unwrap()),
        "no padding",
    );
    wrong(
        ch5::filtered_image(&Array2::zeros((2, 2)), &kernel, &Array2::zeros((0, 0))),
        "there is no filtered image to check",
    );
    right(ch5::glorot_limit((6.0f32 / 54.0).sqrt()));
    wrong(ch5::glorot_limit((6.0f32 / 14.0).sqrt()), "rows × cols × filters");
    wrong(ch5::glorot_limit(6.0 / 54.0), "square root");
    // The limit bounds the weights Keras' initializer draws.
    let limit = (6.0f32 / 54.0).sqrt();
    assert!(weights[0].iter().all(|w| w.abs() <= limit) && weights[0].iter().any(|w| w.abs() > limit * 0.8));
}

#[test]
fn ch6_models_augmentation_and_transfer() {
    let mlp = model(
        &[32, 32, 3],
        vec![Flatten::new().into(), dense(200, "relu"), dense(10, "softmax")],
    );
    right(ch6::mlp_model(&mlp));
    let small = model(
        &[32, 32, 3],
        vec![Flatten::new().into(), dense(100, "relu"), dense(10, "softmax")],
    );
    wrong(ch6::mlp_model(&small), "has 100 units");
    let layers = |pad: &str| -> Vec<LayerSpecOf> {
        vec![
            Conv2D::new(16, 2).padding(pad).activation("relu").into(),
            MaxPool2D::new(2).into(),
            Conv2D::new(32, 2).padding(pad).activation("relu").into(),
            MaxPool2D::new(2).into(),
            Conv2D::new(64, 2).padding(pad).activation("relu").into(),
            MaxPool2D::new(2).into(),
            Flatten::new().into(),
            dense(500, "relu"),
            dense(10, "softmax"),
        ]
    };
    let cnn = model(&[32, 32, 3], layers("same"));
    right(ch6::cnn_model(&cnn));
    wrong(
        ch6::cnn_model(&model(&[32, 32, 3], layers("valid"))),
        "'same' keeps the size",
    );
    let mut mlp_history = history_of(&[1.0, 0.9], &[1.0, 0.9]);
    mlp_history.val_accuracy = vec![0.2, 0.3];
    let mut cnn_history = mlp_history.clone();
    cnn_history.val_accuracy = vec![0.5, 0.7];
    right(ch6::cnn_beats_mlp(true, &mlp_history, &cnn_history));
    wrong(
        ch6::cnn_beats_mlp(true, &History::default(), &cnn_history),
        "a history has no val_accuracy",
    );
    wrong(
        ch6::cnn_beats_mlp(false, &mlp_history, &cnn_history),
        "CNN 0.700, MLP 0.300",
    );

    let image = Array3::from_shape_fn((32, 32, 3), |(r, c, ch)| (r * 32 + c + ch) as f32 / 1100.0);
    right(ch6::horizontal_flip(&image, &image.slice(s![.., ..;-1, ..]).to_owned()));
    wrong(
        ch6::horizontal_flip(&Array3::zeros((0, 0, 3)), &Array3::zeros((0, 0, 3))),
        "there is no flipped image to check",
    );
    wrong(
        ch6::horizontal_flip(&image, &image.slice(s![..;-1, .., ..]).to_owned()),
        "flips top and bottom",
    );
    let mut shifted = Array3::zeros(image.raw_dim());
    shifted
        .slice_mut(s![.., 2.., ..])
        .assign(&image.slice(s![.., ..30, ..]));
    right(ch6::shift_right(&image, &shifted, 2));
    let mut left = Array3::zeros(image.raw_dim());
    left.slice_mut(s![.., ..30, ..]).assign(&image.slice(s![.., 2.., ..]));
    wrong(ch6::shift_right(&image, &left, 2), "moves the image to the left");

    let results: Vec<(String, f64)> = ["sgd", "rmsprop", "adam", "adamax", "nadam", "adagrad", "adadelta"]
        .iter()
        .map(|n| (n.to_string(), 0.5))
        .collect();
    right(ch6::optimizer_comparison(&results));
    wrong(ch6::optimizer_comparison(&results[1..]), "no result for [\"sgd\"]");
    let mut percent = results.clone();
    percent[0].1 = 50.0;
    wrong(ch6::optimizer_comparison(&percent), "not an accuracy between 0 and 1");

    let one = Array4::<f32>::zeros((1, 32, 32, 3));
    let maps = cnn.layer_outputs(&one).unwrap()[0].clone();
    right(ch6::feature_map_shape(&cnn, 1, &maps));
    wrong(
        ch6::feature_map_shape(&cnn, 1, &cnn.layer_outputs(&one).unwrap()[2].clone()),
        "take outputs[0]",
    );
    wrong(ch6::feature_map_shape(&mlp, 1, &maps), "pass `cnn`, not the MLP");

    let base = model(
        &[28, 28, 1],
        vec![
            conv(16, 3),
            MaxPool2D::new(2).into(),
            conv(32, 3),
            MaxPool2D::new(2).into(),
            Flatten::new().into(),
            dense(10, "softmax"),
        ],
    );
    let mut transfer = base.first_layers(5).unwrap();
    transfer.add(dense(3, "softmax")).unwrap();
    wrong(ch6::transfer_model(&transfer, 3), "can still train");
    transfer.set_trainable("conv2d", false).unwrap();
    transfer.set_trainable("conv2d_1", false).unwrap();
    right(ch6::transfer_model(&transfer, 3));
    let mut ten = base.first_layers(5).unwrap();
    ten.add(dense(10, "softmax")).unwrap();
    ten.set_trainable("conv2d", false).unwrap();
    ten.set_trainable("conv2d_1", false).unwrap();
    wrong(ch6::transfer_model(&ten, 3), "the new task has 3 classes");
}

#[test]
fn ch6_augmentation_is_judged_on_shifted_images() {
    use cnn_course::datasets::{generated_clothing, ClothingStyle};
    let _seed = common::seeded(0);
    let centred = generated_clothing(900, 0, ClothingStyle::default(), 1).unwrap();
    let shifted = generated_clothing(
        0,
        300,
        ClothingStyle {
            shift: 5.0,
            ..Default::default()
        },
        2,
    )
    .unwrap();
    let (y, y_shifted) = (
        to_categorical(&centred.y_train, 3).unwrap(),
        to_categorical(&shifted.y_test, 3).unwrap(),
    );
    let fresh = || {
        let mut m = model(
            &[28, 28, 1],
            vec![
                conv(16, 3),
                MaxPool2D::new(2).into(),
                Flatten::new().into(),
                dense(3, "softmax"),
            ],
        );
        m.compile("adam", "categorical_crossentropy", &["accuracy"]).unwrap();
        m
    };
    let mut plain = fresh();
    plain
        .fit(&centred.x_train, &y, Fit::new().epochs(4).verbose(0))
        .unwrap();
    let plain_accuracy = plain.evaluate(&shifted.x_test, &y_shifted).unwrap().accuracy;
    wrong(
        ch6::augmented_model(&plain, &shifted.x_test, &y_shifted, plain_accuracy),
        "train each epoch on new random shifts",
    );
    let mut augmented = fresh();
    for epoch in 0..4 {
        let x = augment::random_shifts(&centred.x_train, 5, epoch);
        augmented.fit(&x, &y, Fit::new().epochs(1).verbose(0)).unwrap();
    }
    right(ch6::augmented_model(
        &augmented,
        &shifted.x_test,
        &y_shifted,
        plain_accuracy,
    ));
}

/// Each questionnaire: the right answers pass; a wrong answer is explained by its own
/// reason, without naming the right letter; a wrong number of answers is refused.
#[test]
fn questionnaires() {
    for (chapter, quiz) in [
        (1, ch1::QUIZ),
        (2, ch2::QUIZ),
        (3, ch3::QUIZ),
        (4, ch4::QUIZ),
        (5, ch5::QUIZ),
        (6, ch6::QUIZ),
    ] {
        let right_answers: Vec<char> = quiz.0.iter().map(|q| q.answer).collect();
        right(quiz.check(&right_answers));
        for (n, question) in quiz.0.iter().enumerate() {
            assert!(question.options.len() >= 3, "chapter {chapter} question {}", n + 1);
            for (i, (_, why)) in question.options.iter().enumerate() {
                let letter = (b'A' + i as u8) as char;
                if letter == question.answer {
                    continue;
                }
                let mut answers = right_answers.clone();
                answers[n] = letter.to_ascii_lowercase();
                wrong(quiz.check(&answers), &format!("question {}: {letter} — {why}", n + 1));
            }
        }
        wrong(quiz.check(&right_answers[1..]), "give one letter per question");
        let mut answers = right_answers.clone();
        answers[0] = 'Z';
        wrong(quiz.check(&answers), "'Z' is not an option");
        assert!(quiz.to_html().contains("<ol type=\"A\">"));
    }
}
