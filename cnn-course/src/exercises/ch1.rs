//! Chapter 1 — images as arrays.

use super::quiz::{Question, Quiz};
use super::{prediction, same_array, same_number, verdict, Check};
use crate::arrays::{full_shape, ArrayStats};
use ndarray::{s, Array1, Array2, Array3};

/// The pixel chapter 1 reads on the sign: row 95, column 300 of the stop-sign photo.
pub const PIXEL: (usize, usize) = (95, 300);
/// A pixel of the sky: row 30, column 150.
pub const SKY: (usize, usize) = (30, 150);

/// `pixel` should be `photo[row, col, ..]`; `colour` describes what it shows.
fn pixel_at(photo: &Array3<f32>, pixel: &Array1<f32>, (row, col): (usize, usize), colour: &str) -> Check {
    if let Err(e) = covers(photo, (row + 1, col + 1), &format!("reads row {row}, column {col}")) {
        return verdict(Err(e));
    }
    let expected = photo.slice(s![row, col, ..]);
    let swapped = photo.dim().0 > col && photo.dim().1 > row && pixel == photo.slice(s![col, row, ..]);
    verdict(if pixel.len() != 3 {
        Err(format!(
            "your pixel has {} values; a colour pixel has 3 (red, green, blue) — slice with s![{row}, {col}, ..]",
            pixel.len()
        ))
    } else if swapped && pixel != expected {
        Err(format!(
            "you read row {col}, column {row}: the row comes first, then the column"
        ))
    } else {
        same_array("pixel", pixel, &expected, 1e-6)
            .map(|()| format!("[{:.2}, {:.2}, {:.2}]: {colour}", pixel[0], pixel[1], pixel[2]))
    })
}

/// `pixel` should be `photo[95, 300, ..]`, on the sign.
pub fn red_pixel(photo: &Array3<f32>, pixel: &Array1<f32>) -> Check {
    pixel_at(
        photo,
        pixel,
        PIXEL,
        "the sign's red — a lot of red, little green and blue",
    )
}

/// `pixel` should be `photo[30, 150, ..]`, in the sky.
pub fn sky_pixel(photo: &Array3<f32>, pixel: &Array1<f32>) -> Check {
    pixel_at(photo, pixel, SKY, "the sky — blue is the largest of the three")
}

/// `red` should be `photo` with its green and blue channels set to 0.
pub fn only_red(photo: &Array3<f32>, red: &Array3<f32>) -> Check {
    let mut expected = photo.clone();
    expected.slice_mut(s![.., .., 1..]).fill(0.0);
    let same_shape = red.shape() == photo.shape();
    verdict(if same_shape && red.slice(s![.., .., 0]).iter().all(|&v| v == 0.0) {
        Err("the red channel (index 0) is all zeros: zero channels 1 and 2 (green and blue) instead".into())
    } else if same_shape && red.slice(s![.., .., 1..]).iter().any(|&v| v != 0.0) {
        Err("some green or blue values are not 0: set the whole slice s![.., .., 1..] to 0".into())
    } else {
        same_array("image", red, &expected, 1e-6).map(|()| "only the red channel is left".into())
    })
}

/// An error unless `photo` is a colour image of at least `size` pixels, which the
/// exercise needs (it `does` something there).
fn covers(photo: &Array3<f32>, size: (usize, usize), does: &str) -> Result<(), String> {
    let (rows, cols, channels) = photo.dim();
    match rows < size.0 || cols < size.1 || channels != 3 {
        true => Err(format!(
            "the photo has shape {}; this exercise {does}, so it needs a colour photo of at least {}×{} pixels, shape (rows, cols, 3) — use the course's photos, cnn_course::images::stop_sign()? or bricks()?",
            full_shape(photo.shape()),
            size.0,
            size.1
        )),
        false => Ok(()),
    }
}

fn painted(
    original: &Array3<f32>,
    result: &Array3<f32>,
    (rows, cols): ((usize, usize), (usize, usize)),
    colour: [f32; 3],
) -> Result<String, String> {
    let region = format!("rows {}..{} and columns {}..{}", rows.0, rows.1, cols.0, cols.1);
    covers(original, (rows.1, cols.1), &format!("paints {region}"))?;
    if result.shape() != original.shape() {
        return Err(format!(
            "your image has shape {}, the photo {} — paint a copy of the whole photo, not a slice of it",
            full_shape(result.shape()),
            full_shape(original.shape())
        ));
    }
    if result.iter().any(|&v| v > 1.0) {
        return Err(format!(
            "some values are above 1: colours here go from 0 to 1, so the colour is {colour:?}, not 0..255"
        ));
    }
    let mut expected = original.clone();
    for (c, &value) in colour.iter().enumerate() {
        expected.slice_mut(s![rows.0..rows.1, cols.0..cols.1, c]).fill(value);
    }
    same_array("image", result, &expected, 1e-6)
        .map_err(|e| format!("{e} — paint {region}, all three channels, and leave the rest alone"))?;
    Ok(format!("{region} painted {colour:?}"))
}

/// `result` should be `original` with rows 10..60, columns 10..60 set to green `[0, 1, 0]`.
pub fn green_square(original: &Array3<f32>, result: &Array3<f32>) -> Check {
    verdict(painted(original, result, ((10, 60), (10, 60)), [0.0, 1.0, 0.0]))
}

/// `result` should be `original` (the bricks) with its top-left 30×30 corner red `[1, 0, 0]`.
pub fn red_corner(original: &Array3<f32>, result: &Array3<f32>) -> Check {
    verdict(painted(original, result, ((0, 30), (0, 30)), [1.0, 0.0, 0.0]))
}

/// A prediction of how many numbers `photo` holds.
pub fn numbers_in_photo(predicted: usize, photo: &Array3<f32>) -> Check {
    let (rows, cols, channels) = photo.dim();
    prediction(
        "the number of values",
        predicted,
        photo.len(),
        &format!("{rows} rows × {cols} columns × {channels} channels — one number per channel of every pixel"),
    )
}

/// `value` should be the largest value of the greyscale `image`.
pub fn brightest(image: &Array2<f32>, value: f32) -> Check {
    let (max, min) = (image.max_value(), image.min_value());
    verdict(if value == min && min != max {
        Err("that is the darkest value: brighter pixels are higher numbers, look for the maximum".into())
    } else {
        same_number(
            "the brightest value",
            value as f64,
            max as f64,
            "Look for the largest value of all 784 pixels: shirt.max_value().",
        )
    })
}

/// `edited` should be `original` with rows 5..15, columns 5..15 set to 0 (black).
pub fn patch_cleared(original: &Array2<f32>, edited: &Array2<f32>) -> Check {
    if original.nrows() < 15 || original.ncols() < 15 || edited.shape() != original.shape() {
        return verdict(Err(format!(
            "your image has shape {} and the shirt {}; expected both (28, 28) — clear the patch in a copy of the whole shirt, not in a slice of it",
            full_shape(edited.shape()),
            full_shape(original.shape()),
        )));
    }
    let mut expected = original.clone();
    expected.slice_mut(s![5..15, 5..15]).fill(0.0);
    verdict(if edited.slice(s![5..15, 5..15]).iter().all(|&v| v == 1.0) {
        Err("the patch is white (1.0): black is 0.0".into())
    } else {
        same_array("image", edited, &expected, 1e-6)
            .map(|()| "the patch is black".into())
            .map_err(|e| format!("{e} — set rows 5..15 and columns 5..15 to 0.0"))
    })
}

/// `count` should be the number of pixels brighter than 0.5.
pub fn bright_pixels(image: &Array2<f32>, count: usize) -> Check {
    let expected = image.iter().filter(|&&v| v > 0.5).count();
    verdict(if count == image.len() - expected && count != expected {
        Err("you counted the pixels of 0.5 or darker: count those above 0.5".into())
    } else {
        same_number(
            "the number of bright pixels",
            count as f64,
            expected as f64,
            "Count the values v with v > 0.5.",
        )
    })
}

/// Chapter 1's questionnaire.
pub const QUIZ: Quiz = Quiz(&[
    Question {
        ask: "A colour photo is 200 pixels wide and 100 pixels high. What is the shape of its array?",
        options: &[
            (
                "(200, 100, 3)",
                "an array lists rows first, and the number of rows is the height",
            ),
            (
                "(100, 200, 3)",
                "rows (the height), then columns (the width), then the 3 channels",
            ),
            (
                "(3, 100, 200)",
                "channels first is PyTorch's layout; Keras and this course keep the channels last",
            ),
            (
                "(100, 200)",
                "that is a greyscale image: colour needs 3 numbers per pixel",
            ),
        ],
        answer: 'B',
    },
    Question {
        ask: "In a greyscale image with values from 0 to 1, what does a pixel of 1.0 show?",
        options: &[
            ("black", "black is 0: no light at all"),
            ("white", "1 is the most light there is"),
            ("red", "a greyscale pixel has no colour, only a brightness"),
        ],
        answer: 'B',
    },
    Question {
        ask: "What does photo.slice(s![.., .., 0]) select?",
        options: &[
            (
                "the first row",
                "the first row would be s![0, .., ..]: the first index is the row",
            ),
            (
                "the red channel of every pixel",
                "every row, every column, channel 0: red",
            ),
            ("the top-left pixel", "the top-left pixel would be s![0, 0, ..]"),
        ],
        answer: 'B',
    },
    Question {
        ask: "A pixel reads [0.9, 0.9, 0.1]. What colour is it?",
        options: &[
            ("yellow", "much red and green light, little blue: yellow"),
            ("blue", "blue is the third number, here only 0.1"),
            ("grey", "grey has three equal values"),
        ],
        answer: 'A',
    },
]);
