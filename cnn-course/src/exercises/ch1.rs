//! Chapter 1 — images as arrays.

use super::{same_array, same_number, verdict, Check};
use crate::arrays::full_shape;
use ndarray::{s, Array1, Array2, Array3};

/// The pixel chapter 1 reads: row 95, column 300 of the stop-sign photo.
pub const PIXEL: (usize, usize) = (95, 300);

/// `pixel` should be `photo[95, 300, ..]`: the three values red, green, blue.
pub fn red_pixel(photo: &Array3<f32>, pixel: &Array1<f32>) -> Check {
    if let Err(e) = covers(photo, (PIXEL.0 + 1, PIXEL.1 + 1), "reads row 95, column 300") {
        return verdict(Err(e));
    }
    let expected = photo.slice(s![PIXEL.0, PIXEL.1, ..]);
    verdict(if pixel.len() != 3 {
        Err(format!(
            "your pixel has {} values; a colour pixel has 3 (red, green, blue) — slice with s![95, 300, ..]",
            pixel.len()
        ))
    } else if photo.dim().0 > PIXEL.1
        && photo.dim().1 > PIXEL.0
        && pixel == photo.slice(s![PIXEL.1, PIXEL.0, ..])
        && pixel != expected
    {
        Err("you read row 300, column 95: the row comes first, then the column".into())
    } else {
        same_array("pixel", pixel, &expected, 1e-6).map(|()| {
            format!(
                "the sign's red is [{:.2}, {:.2}, {:.2}]: a lot of red, little green and blue",
                pixel[0], pixel[1], pixel[2]
            )
        })
    })
}

/// `red` should be `photo` with its green and blue channels set to 0.
pub fn only_red(photo: &Array3<f32>, red: &Array3<f32>) -> Check {
    let mut expected = photo.clone();
    expected.slice_mut(s![.., .., 1..]).fill(0.0);
    verdict(
        if red.shape() == photo.shape() && red.slice(s![.., .., 0]).iter().all(|&v| v == 0.0) {
            Err("the red channel (index 0) is all zeros: zero channels 1 and 2 (green and blue) instead".into())
        } else if red.shape() == photo.shape() && red.slice(s![.., .., 1..]).iter().any(|&v| v != 0.0) {
            Err("some green or blue values are not 0: set the whole slice s![.., .., 1..] to 0".into())
        } else {
            same_array("image", red, &expected, 1e-6).map(|()| "only the red channel is left".into())
        },
    )
}

/// An error unless `photo` is a colour image of at least `size` pixels, which the
/// exercise needs (it `does` something there).
fn covers(photo: &Array3<f32>, size: (usize, usize), does: &str) -> Result<(), String> {
    let (rows, cols, channels) = photo.dim();
    if rows < size.0 || cols < size.1 || channels != 3 {
        return Err(format!(
            "the photo has shape {}; this exercise {does}, so it needs a colour photo of at least {}×{} pixels, shape (rows, cols, 3) — use the course's stop sign, cnn_course::images::stop_sign()?",
            full_shape(photo.shape()),
            size.0,
            size.1
        ));
    }
    Ok(())
}

fn painted(
    what: &str,
    original: &Array3<f32>,
    result: &Array3<f32>,
    rows: (usize, usize),
    cols: (usize, usize),
    colour: [f32; 3],
) -> Result<String, String> {
    covers(
        original,
        (rows.1, cols.1),
        &format!("paints rows {}..{} and columns {}..{}", rows.0, rows.1, cols.0, cols.1),
    )?;
    if result.shape() != original.shape() {
        return Err(format!(
            "your image has shape {}; expected {}, the photo's — paint a copy of the whole photo, not a slice of it",
            full_shape(result.shape()),
            full_shape(original.shape())
        ));
    }
    if result.iter().any(|&v| v > 1.0) {
        return Err(format!(
            "some values are above 1: colours here go from 0 to 1, so {what} is {colour:?}, not 0..255"
        ));
    }
    let mut expected = original.clone();
    for (c, &value) in colour.iter().enumerate() {
        expected.slice_mut(s![rows.0..rows.1, cols.0..cols.1, c]).fill(value);
    }
    same_array("image", result, &expected, 1e-6).map_err(|e| {
        format!(
            "{e} — paint rows {}..{} and columns {}..{}, all three channels, and leave the rest alone",
            rows.0, rows.1, cols.0, cols.1
        )
    })?;
    Ok(format!("{what} painted"))
}

/// `result` should be `original` with rows 10..60, columns 10..60 set to green `[0, 1, 0]`.
pub fn green_square(original: &Array3<f32>, result: &Array3<f32>) -> Check {
    verdict(painted(
        "green [0, 1, 0]",
        original,
        result,
        (10, 60),
        (10, 60),
        [0.0, 1.0, 0.0],
    ))
}

/// `result` should be `original` with its top-left 30×30 corner set to red `[1, 0, 0]`.
pub fn red_corner(original: &Array3<f32>, result: &Array3<f32>) -> Check {
    verdict(painted(
        "red [1, 0, 0]",
        original,
        result,
        (0, 30),
        (0, 30),
        [1.0, 0.0, 0.0],
    ))
}

/// `value` should be the largest value of the greyscale `image`.
pub fn brightest(image: &Array2<f32>, value: f32) -> Check {
    let max = image.iter().cloned().fold(f32::MIN, f32::max);
    let min = image.iter().cloned().fold(f32::MAX, f32::min);
    verdict(if value == min && min != max {
        Err("that is the darkest value: brighter pixels are higher numbers, look for the maximum".into())
    } else {
        same_number(
            "the brightest value",
            value as f64,
            max as f64,
            "Fold over the pixels keeping the larger value.",
        )
    })
}

/// `edited` should be `original` with rows 5..15, columns 5..15 set to 0 (black).
pub fn patch_cleared(original: &Array2<f32>, edited: &Array2<f32>) -> Check {
    if original.nrows() < 15 || original.ncols() < 15 || edited.shape() != original.shape() {
        return verdict(Err(format!(
            "your image has shape {} and the shirt {}; expected both {} — clear the patch in a copy of the whole 28×28 shirt, not in a slice of it",
            full_shape(edited.shape()),
            full_shape(original.shape()),
            full_shape(&[28, 28])
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
    let darker = image.iter().filter(|&&v| v <= 0.5).count();
    verdict(if count == darker && count != expected {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::stop_sign;

    fn grey() -> Array2<f32> {
        Array2::from_shape_fn((28, 28), |(r, c)| ((r * 28 + c) % 97) as f32 / 96.0)
    }

    #[test]
    fn pixel() {
        let photo = stop_sign().unwrap();
        assert!(red_pixel(&photo, &photo.slice(s![95, 300, ..]).to_owned()).passed);
        assert!(red_pixel(&photo, &photo.slice(s![300, 95, ..]).to_owned())
            .message
            .contains("the row comes first"));
        assert!(red_pixel(&photo, &photo.slice(s![95, 300..302, 0]).to_owned())
            .message
            .contains("a colour pixel has 3"));
    }

    #[test]
    fn channels_and_painting() {
        let photo = stop_sign().unwrap();
        let mut red = photo.clone();
        red.slice_mut(s![.., .., 1..]).fill(0.0);
        assert!(only_red(&photo, &red).passed);
        let mut wrong = photo.clone();
        wrong.slice_mut(s![.., .., ..2]).fill(0.0);
        assert!(only_red(&photo, &wrong)
            .message
            .contains("the red channel (index 0) is all zeros"));
        let mut half = photo.clone();
        half.slice_mut(s![.., .., 1]).fill(0.0);
        assert!(only_red(&photo, &half)
            .message
            .contains("some green or blue values are not 0"));

        let mut green = photo.clone();
        green
            .slice_mut(s![10..60, 10..60, ..])
            .assign(&ndarray::array![0.0, 1.0, 0.0]);
        assert!(green_square(&photo, &green).passed);
        let mut bytes = photo.clone();
        bytes
            .slice_mut(s![10..60, 10..60, ..])
            .assign(&ndarray::array![0.0, 255.0, 0.0]);
        assert!(green_square(&photo, &bytes).message.contains("not 0..255"));
        let mut shifted = photo.clone();
        shifted
            .slice_mut(s![10..61, 10..60, ..])
            .assign(&ndarray::array![0.0, 1.0, 0.0]);
        assert!(green_square(&photo, &shifted).message.contains("paint rows 10..60"));

        let mut corner = photo.clone();
        corner
            .slice_mut(s![..30, ..30, ..])
            .assign(&ndarray::array![1.0, 0.0, 0.0]);
        assert!(red_corner(&photo, &corner).passed);
        assert!(!red_corner(&photo, &green).passed);
    }

    #[test]
    fn greyscale() {
        let image = grey();
        assert!(brightest(&image, 1.0).passed);
        assert!(brightest(&image, 0.0).message.contains("that is the darkest value"));
        assert!(brightest(&image, 0.5).message.contains("is 0.5; expected 1"));
        let mut edited = image.clone();
        edited.slice_mut(s![5..15, 5..15]).fill(0.0);
        assert!(patch_cleared(&image, &edited).passed);
        let mut white = image.clone();
        white.slice_mut(s![5..15, 5..15]).fill(1.0);
        assert!(patch_cleared(&image, &white).message.contains("black is 0.0"));
        let mut small = image.clone();
        small.slice_mut(s![5..14, 5..15]).fill(0.0);
        assert!(patch_cleared(&image, &small).message.contains("set rows 5..15"));
        let count = image.iter().filter(|&&v| v > 0.5).count();
        assert!(bright_pixels(&image, count).passed);
        assert!(bright_pixels(&image, 784 - count).message.contains("0.5 or darker"));
        assert!(!bright_pixels(&image, count + 1).passed);
    }
}
