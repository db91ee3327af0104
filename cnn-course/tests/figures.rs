//! Every figure kind renders to PNG and SVG; checks what can be checked (size, not blank,
//! known pixel colours, titles and class names in the SVG) and bad input gets errors.
//! The pictures are written to `target/figures/` for a person to look at.

mod common;

use cnn_course::prelude::*;
use image::GenericImageView;
use std::path::PathBuf;

fn out(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/figures");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn png(figure: &Figure, name: &str) -> image::DynamicImage {
    figure.save(out(name)).unwrap();
    let image = image::open(out(name)).unwrap();
    // Not blank: more than a handful of distinct colours.
    let rgb = image.to_rgb8();
    let mut colours: Vec<[u8; 3]> = rgb.pixels().map(|p| p.0).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() >= 2, "{name} looks blank");
    image
}

fn history(epochs: usize) -> History {
    let f = |start: f64, step: f64| (0..epochs).map(|i| start + step * i as f64).collect::<Vec<_>>();
    History {
        epoch: (1..=epochs).collect(),
        loss: f(1.0, -0.1),
        accuracy: f(0.5, 0.05),
        val_loss: f(1.1, -0.05),
        val_accuracy: f(0.45, 0.04),
        stopped_early: None,
    }
}

#[test]
fn imshow_of_a_photo_keeps_its_pixels() {
    let photo = cnn_course::images::stop_sign().unwrap();
    let figure = imshow(&photo).unwrap().title("A stop sign");
    let image = png(&figure, "imshow_photo.png");
    // The photo is drawn at full size below a 26-pixel title band, 10 pixels in.
    let (x, y) = (10 + 300, 26 + 10 + 95);
    let p = image.get_pixel(x, y).0;
    assert!(
        (p[0] as i32 - 186).abs() < 10 && p[1] < 40 && p[2] < 60,
        "sign red expected, got {p:?}"
    );
    assert!(image.width() >= 480 && image.height() >= 360);
    assert!(figure.to_svg().unwrap().contains("<title>A stop sign</title>"));
}

#[test]
fn a_28_by_28_image_is_enlarged_without_blurring() {
    let mut digit = Array2::<f32>::zeros((28, 28));
    digit.slice_mut(s![10..18, 12..16]).fill(1.0);
    let image = png(&imshow(&digit).unwrap().cmap(Colormap::Gray), "imshow_digit.png");
    // 224 / 28 = 8 pixels per source pixel: a hard edge between columns 11 and 12.
    assert_eq!(image.width(), 224 + 20);
    let inside = image.get_pixel(10 + 12 * 8, 10 + 10 * 8).0;
    let outside = image.get_pixel(10 + 12 * 8 - 1, 10 + 10 * 8).0;
    assert_eq!((inside[0], outside[0]), (255, 0));
}

#[test]
fn a_kernel_grid_uses_a_diverging_scale_with_a_colorbar() {
    let mut model = Sequential::new();
    model.add(Conv2D::new(4, 3).input_shape((28, 28, 1))).unwrap();
    let layer = model.get_layer("conv2d").unwrap();
    let mut w = layer.get_weights().unwrap();
    w[0].fill(0.0);
    w[0][[0, 0, 0, 0]] = 1.0; // strongly positive: red
    w[0][[0, 0, 0, 1]] = -1.0; // strongly negative: blue
    layer.set_weights(&w).unwrap();
    let figure = kernels(&layer).unwrap();
    let image = png(&figure, "kernels.png");
    // Kernel 0's top-left pixel is red, kernel 1's blue, zeros white-ish.
    let cell = |k: u32| (10 + k * (3 * 37 + 10), 26 + 10 + 18);
    let (x0, y0) = cell(0);
    let red = image.get_pixel(x0 + 5, y0 + 5).0;
    let (x1, y1) = cell(1);
    let blue = image.get_pixel(x1 + 5, y1 + 5).0;
    let white = image.get_pixel(x0 + 37 * 2 + 5, y0 + 37 * 2 + 5).0;
    assert!(red[0] > 150 && red[2] < 80, "{red:?}");
    assert!(blue[2] > 150 && blue[0] < 80, "{blue:?}");
    assert!(white.iter().all(|&c| c > 230), "{white:?}");
}

#[test]
fn grids_of_samples_predictions_and_feature_maps() {
    let data = cnn_course::datasets::course::clothing_from(
        &cnn_course::datasets::locations::Places {
            user: None,
            cache: "/nonexistent".into(),
            download: false,
        },
        &cnn_course::datasets::mnist::fashion_mnist_files(),
    )
    .unwrap();
    let labels = data.y_train.to_vec();
    png(
        &samples(&data.x_train, &labels, &data.class_names, 12).unwrap(),
        "samples.png",
    );
    assert_eq!(
        samples(&data.x_train, &labels[..3], &data.class_names, 4)
            .err()
            .unwrap()
            .to_string(),
        "samples: 4 images but 3 labels; hint: pass the labels of the same samples, e.g. &data.y_train.to_vec()"
    );
    // Sample 1 predicted wrong, the others right.
    let mut predicted = labels.clone();
    predicted[1] = (labels[1] + 1) % 3;
    let figure = predictions(&data.x_train, &predicted, &labels, &data.class_names, 6).unwrap();
    let image = png(&figure, "predictions.png");
    // Sample 1's wrong prediction is framed in red.
    let frame = image.get_pixel(10 + (112 + 10) + 112 / 2, 10 + 18 - 2).0;
    assert_eq!(
        frame,
        [214, 39, 40, 255],
        "the wrong prediction should be framed in red"
    );

    let mut model = Sequential::new();
    model
        .add(Conv2D::new(6, 3).activation("relu").input_shape((28, 28, 1)))
        .unwrap();
    let outputs = model.layer_outputs(&data.x_train.slice(s![..2, .., .., ..])).unwrap();
    png(&feature_maps(&outputs[0], 1).unwrap(), "feature_maps.png");
}

#[test]
fn learning_curves_name_their_series() {
    let figure = plot_history(&history(6)).unwrap().title("Training a CNN");
    png(&figure, "history.png");
    let svg = figure.to_svg().unwrap();
    for text in ["Training a CNN", "val_loss", "val_accuracy", "epoch"] {
        assert!(svg.contains(text), "missing {text}");
    }
    // A single epoch still draws (as markers).
    png(&plot_history(&history(1)).unwrap(), "history_one_epoch.png");
    let runs = [
        ("none", &history(5)),
        ("dropout", &history(5)),
        ("batch norm", &history(5)),
        ("both", &history(5)),
    ];
    let figure = compare_histories(&runs).unwrap();
    png(&figure, "compare.png");
    let svg = figure.to_svg().unwrap();
    assert!(svg.contains("dropout (val)") && svg.contains("batch norm"));
}

#[test]
fn confusion_matrix_and_probabilities_show_class_names() {
    let names = ["t-shirt", "dress", "shoe"];
    let figure = confusion_matrix(&[0u8, 0, 1, 1, 2, 2, 2], &[0u8, 1, 1, 1, 2, 2, 0], &names).unwrap();
    png(&figure, "confusion.png");
    let svg = figure.to_svg().unwrap();
    for name in names {
        assert!(svg.contains(name), "missing {name}");
    }
    assert!(
        svg.contains("\n2\n</text>"),
        "the count 2 should be written in its cell"
    );
    let err = |truth: &[i32], predicted: &[i32]| confusion_matrix(truth, predicted, &names).unwrap_err().to_string();
    assert_eq!(
        err(&[0, 1, 2], &[0, 3, 2]),
        "confusion_matrix: prediction 1 is 3, and with 3 class names the classes are 0 to 2; hint: give one name per class, and class numbers (predict_classes), not one-hot rows"
    );
    assert!(err(&[0, -1], &[0, 9]).starts_with("confusion_matrix: true label 1 is negative,"));
    let figure = probabilities(&[0.1, 0.7, 0.2], &names).unwrap();
    png(&figure, "probabilities.png");
    assert!(figure.to_svg().unwrap().contains("0.70"));
    let html = row(vec![figure.clone(), imshow(Array2::<f32>::eye(5)).unwrap()])
        .to_html()
        .unwrap();
    assert_eq!(html.matches("<svg").count() + html.matches("<img").count(), 2);
}

#[test]
fn awkward_input_gets_an_error_or_a_sensible_figure() {
    let err = |r: Result<Figure>| r.unwrap_err().to_string();
    assert_eq!(
        err(imshow(Array2::<f32>::zeros((0, 5)))),
        "imshow: the image is empty (shape (0, 5)); hint: check the slice that produced it"
    );
    assert_eq!(
        err(imshow(Array4::<f32>::zeros((2, 28, 28, 1)))),
        "imshow: expected an image of shape (rows, cols), (rows, cols, 1) or (rows, cols, 3), got (2, 28, 28, 1); hint: pick one image out of a batch, e.g. x.slice(s![0, .., .., ..])"
    );
    assert_eq!(
        err(imshow(Array3::<f32>::from_elem((4, 4, 3), 255.0))),
        "imshow: colour values must be in 0..1, found values from 255 to 255; hint: divide 0..255 pixels by 255.0"
    );
    assert_eq!(
        err(plot_history(&History::default())),
        "plot_history: the history has no epochs; hint: plot what model.fit(...) returned after at least one epoch"
    );
    // A constant image and NaN values still draw.
    png(&imshow(Array2::<f32>::from_elem((5, 5), 0.3)).unwrap(), "constant.png");
    let mut with_nan = Array2::<f32>::eye(6);
    with_nan[[2, 3]] = f32::NAN;
    let image = png(&imshow(&with_nan).unwrap(), "nan.png");
    let scale = 224 / 6;
    assert_eq!(
        image.get_pixel(10 + 3 * scale + 2, 10 + 2 * scale + 2).0,
        [255, 0, 255, 255],
        "NaN is magenta"
    );
    let mut bad = history(3);
    bad.val_loss[1] = f64::NAN;
    png(&plot_history(&bad).unwrap(), "history_nan.png");
    let err = Figure::save(&imshow(Array2::<f32>::eye(3)).unwrap(), out("figure.gif"))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("unknown figure format; hint: end the file name in .png or .svg"),
        "{err}"
    );
}
