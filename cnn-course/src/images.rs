//! Images as arrays (chapter 1).
//!
//! A colour image is an `Array3<f32>` of shape `(rows, cols, 3)` — red, green, blue — with
//! values 0..1; a greyscale image an `Array2<f32>` of shape `(rows, cols)`. Everything
//! chapter 1 does is plain ndarray indexing and slicing:
//!
//! ```
//! use cnn_course::prelude::*;
//! let mut photo = cnn_course::images::stop_sign().unwrap();
//! let pixel = photo.slice(s![140, 250, ..]).to_vec();          // one pixel's [r, g, b]
//! photo.slice_mut(s![.., .., 1..]).fill(0.0);                   // keep only red
//! photo.slice_mut(s![10..60, 10..60, ..]).assign(&array![0.0, 1.0, 0.0]); // a green square
//! ```

use crate::device::too_many_for_host;
use crate::{bail, Error, Result};
use image::{DynamicImage, GrayImage, RgbImage};
use ndarray::{Array2, Array3, ArrayBase, Data, Dimension, IxDyn};
use std::path::Path;

const STOP_SIGN: &[u8] = include_bytes!("../../data/images/stop_sign.png");
const BRICKS: &[u8] = include_bytes!("../../data/images/bricks.png");
const MY_DIGIT: &[u8] = include_bytes!("../../data/images/my_digit.png");

fn decode(bytes: &[u8], what: &Path) -> Result<DynamicImage> {
    image::load_from_memory(bytes).map_err(|e| {
        Error::file(
            what,
            format!("not a readable image ({e}); hint: use a PNG, JPEG or BMP file"),
        )
    })
}

fn to_rgb_array(image: &RgbImage) -> Array3<f32> {
    let (w, h) = image.dimensions();
    Array3::from_shape_fn((h as usize, w as usize, 3), |(r, c, ch)| {
        image.get_pixel(c as u32, r as u32)[ch] as f32 / 255.0
    })
}

fn to_grey_array(image: &GrayImage) -> Array2<f32> {
    let (w, h) = image.dimensions();
    Array2::from_shape_fn((h as usize, w as usize), |(r, c)| {
        image.get_pixel(c as u32, r as u32)[0] as f32 / 255.0
    })
}

fn read(path: &Path) -> Result<DynamicImage> {
    if !path.exists() {
        let here = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        return Err(Error::file(
            path,
            format!("no such file; hint: check the name — a relative path starts in {here}"),
        ));
    }
    if path.is_dir() {
        return Err(Error::file(
            path,
            "is a folder; hint: give the path of an image file inside it",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes, path)
}

/// Load a PNG, JPEG or BMP as colour: shape `(rows, cols, 3)`, values 0..1. An image with
/// transparent pixels is refused (three channels cannot hold them): see [`load_rgba`].
pub fn load_image(path: impl AsRef<Path>) -> Result<Array3<f32>> {
    let path = path.as_ref();
    let image = read(path)?;
    if image.color().has_alpha() && image.to_rgba8().pixels().any(|p| p[3] < 255) {
        return Err(Error::file(
            path,
            "the image has transparent pixels, which an array of shape (rows, cols, 3) cannot hold; hint: use load_rgba(path) to keep transparency as a 4th channel, or save the image without transparency",
        ));
    }
    Ok(to_rgb_array(&image.to_rgb8()))
}

/// Load an image with its transparency: shape `(rows, cols, 4)` — red, green, blue and
/// alpha (0 transparent, 1 opaque) — values 0..1.
pub fn load_rgba(path: impl AsRef<Path>) -> Result<Array3<f32>> {
    let image = read(path.as_ref())?.to_rgba8();
    let (w, h) = image.dimensions();
    Ok(Array3::from_shape_fn((h as usize, w as usize, 4), |(r, c, ch)| {
        image.get_pixel(c as u32, r as u32)[ch] as f32 / 255.0
    }))
}

/// Load a PNG or JPEG as greyscale: shape `(rows, cols)`, values 0..1 (brighter is higher).
pub fn load_grey(path: impl AsRef<Path>) -> Result<Array2<f32>> {
    Ok(to_grey_array(&read(path.as_ref())?.to_luma8()))
}

/// The course's photo: a stop sign on a street, 360 × 480 × 3.
pub fn stop_sign() -> Result<Array3<f32>> {
    Ok(to_rgb_array(&decode(STOP_SIGN, Path::new("stop_sign.png"))?.to_rgb8()))
}

/// A brick wall texture, 256 × 256 × 3.
pub fn bricks() -> Result<Array3<f32>> {
    Ok(to_rgb_array(&decode(BRICKS, Path::new("bricks.png"))?.to_rgb8()))
}

/// A handwritten digit as a photo of paper would show it (dark ink on light paper,
/// 240 × 240): an example for [`prepare_digit`] until you bring your own.
pub fn example_digit() -> Result<Array2<f32>> {
    Ok(to_grey_array(&decode(MY_DIGIT, Path::new("my_digit.png"))?.to_luma8()))
}

/// A greyscale picture resized to `rows × cols`, smoothly (each new pixel blends the old
/// ones it covers), as a photo viewer makes a thumbnail.
pub fn resize(picture: &Array2<f32>, rows: usize, cols: usize) -> Result<Array2<f32>> {
    if let Some(available) = too_many_for_host(rows.checked_mul(cols)) {
        bail!(Shape,
            "resize: {rows}×{cols} pixels is more than this machine can hold ({available}); hint: the network's input size, e.g. 28×28, is what to resize to"
        );
    }
    let (h, w) = picture.dim();
    let size = |n: usize| u32::try_from(n).ok().filter(|&n| n > 0);
    let (Some(w), Some(h), Some(to_w), Some(to_h)) = (size(w), size(h), size(cols), size(rows)) else {
        bail!(
            Shape,
            "resize: from {h}×{w} to {rows}×{cols}; hint: every size needs from 1 to 4,294,967,295 pixels"
        );
    };
    let pixels: Vec<f32> = picture.iter().copied().collect();
    let Some(buffer) = image::ImageBuffer::<image::Luma<f32>, Vec<f32>>::from_raw(w, h, pixels) else {
        bail!(Internal, "resize: a {h}×{w} picture did not fill its buffer");
    };
    let small = image::imageops::resize(&buffer, to_w, to_h, image::imageops::FilterType::Triangle);
    Ok(Array2::from_shape_vec((rows, cols), small.into_raw())?)
}

/// A greyscale picture of one digit, of any size, made to look like MNIST's digits: white
/// ink on black, the ink scaled to fit 20 × 20 and centred by its centre of mass in 28 × 28.
/// Returns a batch of one, `(1, 28, 28, 1)`, ready for `model.predict`.
pub fn prepare_digit(picture: &Array2<f32>) -> Result<ndarray::Array4<f32>> {
    let (rows, cols) = picture.dim();
    if rows < 8 || cols < 8 {
        bail!(Shape, "prepare_digit: the picture is {rows}×{cols}; hint: use a picture of at least 8×8 pixels, one digit filling most of it");
    }
    if let Some(((r, c), _)) = picture.indexed_iter().find(|(_, v)| !v.is_finite()) {
        bail!(Data,
            "prepare_digit: the picture holds {} at row {r}, column {c}; hint: load the photo with load_grey, which gives values in 0..1",
            picture[[r, c]]
        );
    }
    // Ink is what differs from the paper; the paper's shade is the border's.
    let border: Vec<f32> = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (r, c)))
        .filter(|&(r, c)| r == 0 || c == 0 || r == rows - 1 || c == cols - 1)
        .map(|(r, c)| picture[[r, c]])
        .collect();
    let paper = border.iter().sum::<f32>() / border.len() as f32;
    let ink = picture.mapv(|v| ((v - paper).abs() - 0.15).max(0.0));
    let strongest = ink.iter().cloned().fold(0.0, f32::max);
    if strongest <= 0.0 {
        bail!(
            Data,
            "prepare_digit: no ink stands out from the paper; hint: write the digit darker, or on plainer paper"
        );
    }
    let inked: Vec<(usize, usize)> = ink
        .indexed_iter()
        .filter(|(_, &v)| v > 0.25 * strongest)
        .map(|(i, _)| i)
        .collect();
    let (top, bottom) = (
        inked.iter().map(|p| p.0).min().unwrap_or(0),
        inked.iter().map(|p| p.0).max().unwrap_or(0),
    );
    let (left, right) = (
        inked.iter().map(|p| p.1).min().unwrap_or(0),
        inked.iter().map(|p| p.1).max().unwrap_or(0),
    );
    let (height, width) = ((bottom - top + 1) as f32, (right - left + 1) as f32);
    let scale = 20.0 / height.max(width);
    let (out_h, out_w) = (
        (height * scale).round().max(1.0) as usize,
        (width * scale).round().max(1.0) as usize,
    );
    let (off_r, off_c) = ((28 - out_h) / 2, (28 - out_w) / 2);
    let mut digit = ndarray::Array4::<f32>::zeros((1, 28, 28, 1));
    for r in 0..out_h {
        for c in 0..out_w {
            // The mean of the picture's pixels that fall into this output pixel.
            let (r0, r1) = (
                top + (r as f32 / scale) as usize,
                top + (((r + 1) as f32 / scale) as usize).max(1),
            );
            let (c0, c1) = (
                left + (c as f32 / scale) as usize,
                left + (((c + 1) as f32 / scale) as usize).max(1),
            );
            let (r1, c1) = (r1.clamp(r0 + 1, bottom + 1), c1.clamp(c0 + 1, right + 1));
            let area = ink.slice(ndarray::s![r0..r1, c0..c1]);
            digit[[0, off_r + r, off_c + c, 0]] = area.mean().unwrap_or(0.0);
        }
    }
    // MNIST's strokes reach full white, and its digits are centred by their centre of mass.
    let brightest = digit.iter().cloned().fold(0.0, f32::max);
    digit.mapv_inplace(|v| (v / brightest).min(1.0));
    let mass: f32 = digit.sum();
    let centre = |axis: usize| {
        digit
            .indexed_iter()
            .map(|(i, v)| [i.1, i.2][axis] as f32 * v)
            .sum::<f32>()
            / mass
    };
    let (down, right) = ((13.5 - centre(0)).round() as isize, (13.5 - centre(1)).round() as isize);
    Ok(crate::augment::shift(&digit, down, right))
}

/// [`prepare_digit`] of the picture at `path` (a photo or drawing of one digit).
pub fn load_digit(path: impl AsRef<Path>) -> Result<ndarray::Array4<f32>> {
    prepare_digit(&to_grey_array(&read(path.as_ref())?.to_luma8()))
}

/// Save an array as an image (PNG or JPEG by extension): `(rows, cols)` greyscale or
/// `(rows, cols, 3)` colour, values 0..1 (clipped). The file is written atomically.
pub fn save_image<S: Data<Elem = f32>, D: Dimension>(array: &ArrayBase<S, D>, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let shape = array.shape().to_vec();
    let array = array.view().into_dyn();
    if let Some((at, _)) = array.indexed_iter().find(|(_, v)| v.is_nan()) {
        bail!(Data,
            "save_image: the array holds NaN at {:?}, which has no colour; hint: check how the values were computed — a model whose training diverged gives NaN",
            at.slice()
        );
    }
    let image = match *shape.as_slice() {
        [rows, cols] if rows > 0 && cols > 0 => DynamicImage::ImageLuma8(GrayImage::from_fn(cols as u32, rows as u32, |c, r| {
            image::Luma([byte(array[IxDyn(&[r as usize, c as usize])])])
        })),
        [rows, cols, 3] if rows > 0 && cols > 0 => DynamicImage::ImageRgb8(RgbImage::from_fn(cols as u32, rows as u32, |c, r| {
            let at = |ch: usize| byte(array[IxDyn(&[r as usize, c as usize, ch])]);
            image::Rgb([at(0), at(1), at(2)])
        })),
        _ => bail!(Shape,
            "save_image: expected an array of shape (rows, cols) or (rows, cols, 3), got {shape:?}; hint: pick one image out of a batch with .slice(s![0, .., .., ..])"
        ),
    };
    let format = image::ImageFormat::from_path(path)
        .map_err(|_| Error::file(path, "unknown image extension; hint: use .png or .jpg"))?;
    crate::files::write_atomically(path, |temporary| {
        image
            .save_with_format(temporary, format)
            .map_err(|e| Error::file(path, format!("could not write the image: {e}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_sign_has_the_course_red() {
        let photo = stop_sign().unwrap();
        assert_eq!(photo.shape(), &[360, 480, 3]);
        // A pixel of the sign's face, away from the letters.
        let p = [photo[[95, 300, 0]], photo[[95, 300, 1]], photo[[95, 300, 2]]];
        for (got, want) in p.iter().zip([0.73, 0.08, 0.15]) {
            assert!((got - want).abs() < 0.03, "{p:?}");
        }
        assert_eq!(bricks().unwrap().shape(), &[256, 256, 3]);
    }

    #[test]
    fn images_round_trip_through_png() {
        let dir = tempfile::tempdir().unwrap();
        let colour = Array3::from_shape_fn((4, 5, 3), |(r, c, ch)| ((r * 5 + c) * 3 + ch) as f32 / 60.0);
        save_image(&colour, dir.path().join("c.png")).unwrap();
        let back = load_image(dir.path().join("c.png")).unwrap();
        assert!(back
            .iter()
            .zip(colour.iter())
            .all(|(a, b)| (a - b).abs() <= 0.5 / 255.0 + 1e-6));
        let grey = Array2::from_shape_fn((3, 2), |(r, c)| (r * 2 + c) as f32 / 5.0);
        save_image(&grey, dir.path().join("g.png")).unwrap();
        assert_eq!(load_grey(dir.path().join("g.png")).unwrap().shape(), &[3, 2]);
    }

    #[test]
    fn bad_images_and_shapes_get_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.png");
        std::fs::write(&path, b"not an image").unwrap();
        let err = load_image(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: not a readable image", path.display())),
            "{err}"
        );
        assert!(err.ends_with("hint: use a PNG, JPEG or BMP file"), "{err}");
        let batch = ndarray::Array4::<f32>::zeros((2, 4, 4, 1));
        assert_eq!(
            save_image(&batch, dir.path().join("b.png")).unwrap_err().to_string(),
            "save_image: expected an array of shape (rows, cols) or (rows, cols, 3), got [2, 4, 4, 1]; hint: pick one image out of a batch with .slice(s![0, .., .., ..])"
        );
        let mut grey = Array2::<f32>::zeros((3, 4));
        grey[[1, 2]] = f32::NAN;
        let nan = dir.path().join("nan.png");
        assert_eq!(
            save_image(&grey, &nan).unwrap_err().to_string(),
            "save_image: the array holds NaN at [1, 2], which has no colour; hint: check how the values were computed — a model whose training diverged gives NaN"
        );
        assert!(!nan.exists(), "nothing is written");
    }

    #[test]
    fn a_digit_photo_that_cannot_be_prepared_says_why() {
        let message = |picture: Array2<f32>| prepare_digit(&picture).unwrap_err().to_string();
        assert_eq!(
            message(Array2::zeros((4, 30))),
            "prepare_digit: the picture is 4×30; hint: use a picture of at least 8×8 pixels, one digit filling most of it"
        );
        assert_eq!(
            message(Array2::from_elem((28, 28), 0.9)),
            "prepare_digit: no ink stands out from the paper; hint: write the digit darker, or on plainer paper"
        );
        let mut inked = Array2::from_elem((28, 28), 0.9);
        inked[[14, 3]] = f32::NAN;
        assert_eq!(
            message(inked),
            "prepare_digit: the picture holds NaN at row 14, column 3; hint: load the photo with load_grey, which gives values in 0..1"
        );
        assert_eq!(
            prepare_digit(&example_digit().unwrap()).unwrap().shape(),
            &[1, 28, 28, 1]
        );
    }
}
