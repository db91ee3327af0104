//! Convolution and pooling written as plain loops over ndarray arrays — the way chapters 3
//! and 4 explain them, and the reference the exercise checkers compare a learner's loop
//! against. (The layers compute the same with candle, much faster.)
//!
//! As in Keras and every deep-learning library, "convolution" here slides the kernel
//! without flipping it (mathematicians call this cross-correlation): each output is
//! `Σ kernel · window`.

use crate::padding::{AxisWindows, Padding};
use crate::{bail, Result};
use ndarray::{s, Array1, Array2, ArrayBase, Data, Ix1, Ix2, Ix3};

/// 1-D convolution without padding: `output[i] = Σ_k kernel[k] · input[i + k]`,
/// `input.len() − kernel.len() + 1` values.
///
/// ```
/// use cnn_course::convolution::convolve1d;
/// use ndarray::array;
/// let edge = convolve1d(&array![0., 0., 0., 0., 0., 1., 1., 1., 1., 1.], &array![-1., 1.]).unwrap();
/// assert_eq!(edge, array![0., 0., 0., 0., 1., 0., 0., 0., 0.]);
/// ```
pub fn convolve1d<S1, S2>(input: &ArrayBase<S1, Ix1>, kernel: &ArrayBase<S2, Ix1>) -> Result<Array1<f32>>
where
    S1: Data<Elem = f32>,
    S2: Data<Elem = f32>,
{
    let (n, k) = (input.len(), kernel.len());
    if k == 0 || k > n {
        bail!(Shape, "convolve1d: a kernel of {k} values does not fit in an input of {n}; hint: the kernel must be shorter than the input");
    }
    let mut output = Array1::zeros(n - k + 1);
    for i in 0..output.len() {
        output[i] = (&input.slice(s![i..i + k]) * kernel).sum();
    }
    Ok(output)
}

/// 2-D convolution of a greyscale image with a kernel, with `valid` or `same` padding and
/// a stride: each output pixel is the sum of the kernel times the window under it.
///
/// # Shapes
/// image `(rows, cols)`, kernel `(kr, kc)` → output `(out_rows, out_cols)` as given by
/// [`crate::padding`] (`valid`: `(rows − kr)/stride + 1`; `same`: `ceil(rows/stride)`).
pub fn convolve2d<S1, S2>(
    image: &ArrayBase<S1, Ix2>,
    kernel: &ArrayBase<S2, Ix2>,
    padding: Padding,
    stride: usize,
) -> Result<Array2<f32>>
where
    S1: Data<Elem = f32>,
    S2: Data<Elem = f32>,
{
    let (rows, cols) = image.dim();
    let (kr, kc) = kernel.dim();
    if kr == 0 || kc == 0 || stride == 0 {
        bail!(
            Setting,
            "convolve2d: kernel {kr}×{kc} and stride {stride} must all be at least 1; hint: a 3×3 kernel moving one pixel at a time has shape (3, 3) and stride 1"
        );
    }
    let (Some(r), Some(c)) = (
        AxisWindows::plan(rows, kr, stride, 1, padding),
        AxisWindows::plan(cols, kc, stride, 1, padding),
    ) else {
        bail!(Shape, "convolve2d: kernel {kr}×{kc} is larger than the image {rows}×{cols}; hint: use Padding::Same or a smaller kernel");
    };
    // Zero-pad, then slide the window.
    let mut padded = Array2::<f32>::zeros((rows + r.pad_before + r.pad_after, cols + c.pad_before + c.pad_after));
    padded
        .slice_mut(s![r.pad_before..r.pad_before + rows, c.pad_before..c.pad_before + cols])
        .assign(image);
    let mut output = Array2::zeros((r.output, c.output));
    for i in 0..r.output {
        for j in 0..c.output {
            let window = padded.slice(s![i * stride..i * stride + kr, j * stride..j * stride + kc]);
            output[[i, j]] = (&window * kernel).sum();
        }
    }
    Ok(output)
}

/// 2-D convolution of a colour image with a kernel that spans all its channels, as every
/// filter of a Conv2D layer does: the sum over channels of each channel convolved with its
/// own slice of the kernel, without padding.
///
/// # Shapes
/// image `(rows, cols, channels)`, kernel `(kr, kc, channels)` → `(rows − kr + 1, cols − kc + 1)`.
pub fn convolve_channels<S1, S2>(image: &ArrayBase<S1, Ix3>, kernel: &ArrayBase<S2, Ix3>) -> Result<Array2<f32>>
where
    S1: Data<Elem = f32>,
    S2: Data<Elem = f32>,
{
    let (channels, wanted) = (kernel.dim().2, image.dim().2);
    if channels != wanted || channels == 0 {
        bail!(Shape, "convolve_channels: the kernel has {channels} channels and the image {wanted}; hint: a filter spans every channel of its input, so give the kernel shape (rows, cols, {wanted})");
    }
    let channel = |c: usize| {
        convolve2d(
            &image.slice(s![.., .., c]),
            &kernel.slice(s![.., .., c]),
            Padding::Valid,
            1,
        )
    };
    let mut sum = channel(0)?;
    for c in 1..channels {
        sum += &channel(c)?;
    }
    Ok(sum)
}

/// How alike two kernels of the same shape are: the cosine of the angle between them as
/// vectors, from −1 (one is the other negated) through 0 (unrelated) to 1 (the same
/// pattern, at any scale). 0 when either is all zeros or the shapes differ.
pub fn kernel_similarity(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    let norm = |k: &Array2<f32>| k.iter().map(|v| v * v).sum::<f32>().sqrt();
    match a.shape() == b.shape() && norm(a) > 0.0 && norm(b) > 0.0 {
        true => (a * b).sum() / (norm(a) * norm(b)),
        false => 0.0,
    }
}

/// The candidate most like `kernel` (by [`kernel_similarity`]), with its similarity.
pub fn most_similar<'a>(kernel: &Array2<f32>, candidates: &'a [(&'a str, Array2<f32>)]) -> (&'a str, f32) {
    candidates
        .iter()
        .map(|(name, k)| (*name, kernel_similarity(kernel, k)))
        .fold(
            ("none", f32::NEG_INFINITY),
            |best, c| if c.1 > best.1 { c } else { best },
        )
}

/// Max pooling of a greyscale image with square windows of `size`, stride `size`: the
/// largest value of each window. Rows and columns that do not fill a window are dropped.
pub fn max_pool2d<S: Data<Elem = f32>>(image: &ArrayBase<S, Ix2>, size: usize) -> Result<Array2<f32>> {
    let (rows, cols) = image.dim();
    if size == 0 || size > rows || size > cols {
        bail!(Shape, "max_pool2d: a {size}×{size} window does not fit in the image {rows}×{cols}; hint: use a size from 1 to the image size");
    }
    let mut output = Array2::zeros((rows / size, cols / size));
    for i in 0..rows / size {
        for j in 0..cols / size {
            let window = image.slice(s![i * size..(i + 1) * size, j * size..(j + 1) * size]);
            output[[i, j]] = window.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        }
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_course_1d_examples() {
        let a = array![0f32, 0., 1., 1., 0., 0., 1., 1., 0., 0.];
        assert_eq!(
            convolve1d(&a, &array![-1., 1.]).unwrap(),
            array![0., 1., 0., -1., 0., 1., 0., -1., 0.]
        );
        let b = array![1f32, 0., 1., 0., 1., 0., 1., 0., 1., 0.];
        assert_eq!(
            convolve1d(&b, &array![1., -1., 0.]).unwrap(),
            array![1., -1., 1., -1., 1., -1., 1., -1.]
        );
    }

    #[test]
    fn convolve2d_matches_the_conv2d_layer_arithmetic() {
        let image = Array2::from_shape_fn((5, 6), |(r, c)| (r * 6 + c) as f32);
        let kernel = array![[0f32, 1., 0.], [1., 1., 1.], [0., 1., 0.]];
        let valid = convolve2d(&image, &kernel, Padding::Valid, 1).unwrap();
        assert_eq!(valid.dim(), (3, 4));
        // Centre (1,1) = 7 plus its four neighbours 1, 6, 8, 13.
        assert_eq!(valid[[0, 0]], 7. + 1. + 6. + 8. + 13.);
        let same = convolve2d(&image, &kernel, Padding::Same, 1).unwrap();
        assert_eq!(same.dim(), (5, 6));
        assert_eq!(same[[0, 0]], 0. + 1. + 6.);
        assert_eq!(convolve2d(&image, &kernel, Padding::Same, 2).unwrap().dim(), (3, 3));
    }

    #[test]
    fn max_pooling_halves_the_image() {
        let image = array![[1f32, 2., 5., 0.], [3., 4., 1., 1.], [0., 0., 9., 8.], [7., 0., 6., 6.]];
        assert_eq!(max_pool2d(&image, 2).unwrap(), array![[4., 5.], [7., 9.]]);
        assert_eq!(max_pool2d(&Array2::<f32>::zeros((5, 5)), 2).unwrap().dim(), (2, 2));
    }

    #[test]
    fn kernels_that_do_not_fit_are_refused() {
        assert_eq!(
            convolve1d(&array![1f32, 2.], &array![1., 1., 1.]).unwrap_err().to_string(),
            "convolve1d: a kernel of 3 values does not fit in an input of 2; hint: the kernel must be shorter than the input"
        );
        assert_eq!(
            convolve2d(
                &Array2::<f32>::zeros((2, 2)),
                &Array2::<f32>::zeros((3, 3)),
                Padding::Valid,
                1
            )
            .unwrap_err()
            .to_string(),
            "convolve2d: kernel 3×3 is larger than the image 2×2; hint: use Padding::Same or a smaller kernel"
        );
        let image = Array2::<f32>::zeros((4, 4));
        assert_eq!(
            convolve2d(&image, &Array2::<f32>::zeros((3, 3)), Padding::Same, 0).unwrap_err().to_string(),
            "convolve2d: kernel 3×3 and stride 0 must all be at least 1; hint: a 3×3 kernel moving one pixel at a time has shape (3, 3) and stride 1"
        );
    }
}
