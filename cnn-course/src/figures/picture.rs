//! Turning arrays and tensors into pictures: pixel colours plus the value range a
//! colorbar shows.

use super::colormap::{Colormap, NAN_COLOR};
use crate::arrays::{full_shape, to_array};
use crate::{bail, Result};
use candle_core::Tensor;
use ndarray::{ArrayBase, ArrayD, Data, Dimension};

/// Something `imshow` can show: a 2-D array `(rows, cols)`, a colour image
/// `(rows, cols, 3)`, a single-channel image `(rows, cols, 1)`, or a tensor of those shapes.
pub trait ImageSource {
    /// The values as an array of one of those shapes, or an error naming the shape.
    fn to_image_array(&self) -> Result<ArrayD<f32>>;
}

impl<S: Data<Elem = f32>, D: Dimension> ImageSource for ArrayBase<S, D> {
    fn to_image_array(&self) -> Result<ArrayD<f32>> {
        Ok(self.to_owned().into_dyn())
    }
}

impl ImageSource for Tensor {
    fn to_image_array(&self) -> Result<ArrayD<f32>> {
        to_array(self)
    }
}

impl<T: ImageSource + ?Sized> ImageSource for &T {
    fn to_image_array(&self) -> Result<ArrayD<f32>> {
        (*self).to_image_array()
    }
}

/// Pixels ready to draw.
#[derive(Clone, Debug)]
pub struct Picture {
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<[u8; 3]>,
    /// The values mapped to the colormap's ends (`None` for colour images).
    pub range: Option<(f32, f32)>,
}

impl Picture {
    /// Colour `array` for display. 2-D arrays go through `colormap` over their finite
    /// range (symmetric around 0 for the diverging map); NaN pixels are magenta.
    pub fn new(
        array: &ArrayD<f32>,
        colormap: Colormap,
        shared_range: Option<(f32, f32)>,
        what: &str,
    ) -> Result<Picture> {
        let shape = array.shape().to_vec();
        let (rows, cols, channels) = match *shape.as_slice() {
            [r, c] => (r, c, 1),
            [r, c, 1] => (r, c, 1),
            [r, c, 3] => (r, c, 3),
            _ => bail!(Shape,
                "{what}: expected an image of shape (rows, cols), (rows, cols, 1) or (rows, cols, 3), got {}; hint: pick one image out of a batch, e.g. x.slice(s![0, .., .., ..])",
                full_shape(&shape)
            ),
        };
        if rows == 0 || cols == 0 {
            bail!(
                Data,
                "{what}: the image is empty (shape {}); hint: check the slice that produced it",
                full_shape(&shape)
            );
        }
        let values: Vec<f32> = array.iter().cloned().collect();
        if channels == 3 {
            let finite = values.iter().filter(|v| v.is_finite());
            let (low, high) = finite.fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            if low < -1e-3 || high > 1.0 + 1e-3 {
                bail!(Data,
                    "{what}: colour values must be in 0..1, found values from {low} to {high}; hint: divide 0..255 pixels by 255.0"
                );
            }
            let byte = |v: f32| {
                if v.is_finite() {
                    (v.clamp(0.0, 1.0) * 255.0).round() as u8
                } else {
                    0
                }
            };
            let pixels = values
                .chunks(3)
                .map(|p| {
                    if p.iter().all(|v| v.is_finite()) {
                        [byte(p[0]), byte(p[1]), byte(p[2])]
                    } else {
                        NAN_COLOR
                    }
                })
                .collect();
            return Ok(Picture {
                rows,
                cols,
                pixels,
                range: None,
            });
        }
        let (low, high) = symmetric_if_diverging(shared_range.unwrap_or_else(|| finite_range(&values)), colormap);
        let span = high - low;
        let pixels = values
            .iter()
            .map(|&v| match (v.is_finite(), span > 0.0) {
                (false, _) => NAN_COLOR,
                (true, true) => colormap.color((v - low) / span),
                // A constant image: the colormap's middle.
                (true, false) => colormap.color(0.5),
            })
            .collect();
        Ok(Picture {
            rows,
            cols,
            pixels,
            range: Some((low, high)),
        })
    }
}

/// The smallest and largest finite values (0..1 when there are none).
pub(crate) fn finite_range(values: &[f32]) -> (f32, f32) {
    let (low, high) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    if low > high {
        (0.0, 1.0)
    } else {
        (low, high)
    }
}

/// The range a colormap spans: as given, or symmetric around 0 for the diverging map (so
/// white is 0).
pub(crate) fn symmetric_if_diverging((low, high): (f32, f32), colormap: Colormap) -> (f32, f32) {
    match colormap {
        Colormap::Diverging => {
            let m = low.abs().max(high.abs()).max(f32::MIN_POSITIVE);
            (-m, m)
        }
        _ => (low, high),
    }
}
