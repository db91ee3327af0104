//! Padding and the output-size arithmetic shared by convolution and pooling.
//!
//! Along one axis, a window of `kernel` pixels with gaps of `dilation` covers
//! `(kernel − 1)·dilation + 1` pixels and moves `stride` pixels at a time:
//!
//! - `valid` (no padding): `output = floor((input − covered) / stride) + 1`;
//!   rows past the last window are never read.
//! - `same`: `output = ceil(input / stride)`; zeros are added so every output has a full
//!   window, half before and the rest (one more, when odd) after — Keras' rule.
//!
//! With an explicit padding `P` on both sides this is the course's formula
//! `O = (I − K + 2P) / S + 1`.
//!
//! A layer plans its windows once, when it is built ([`AxisWindows::plan`] per axis), and
//! keeps the result as a [`Geometry`]: everything the convolution and pooling kernels need
//! to find the input pixels under each window.

use crate::choice::choice_of;
use crate::device::available_memory;
use crate::model::summary::thousands;
use crate::training::engine::WIDE_PIECE as GATHERED_IMAGES;
use crate::{bail, Error, Result};
use candle_core::Device;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// How a convolution or pooling window treats the border, as in Keras.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding: the output shrinks by the window size minus one.
    Valid,
    /// Zero padding so that the output has `ceil(input / stride)` pixels.
    Same,
}

choice_of!(Padding);

impl FromStr for Padding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            _ => bail!(
                Setting,
                "unknown padding '{s}'; hint: use \"valid\" (no padding) or \"same\""
            ),
        }
    }
}

impl fmt::Display for Padding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
        })
    }
}

/// How one axis of an input is windowed: padding to add, unused pixels to drop, output size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisWindows {
    /// Number of windows, the output size along this axis.
    pub output: usize,
    /// Zeros added before the first pixel.
    pub pad_before: usize,
    /// Zeros added after the last pixel.
    pub pad_after: usize,
    /// Trailing input pixels no window reaches (only with `valid` padding).
    pub unused: usize,
}

impl AxisWindows {
    /// Plan the windows along an axis of `input` pixels; `None` when a `valid` window does
    /// not fit in the input at all (or the sizes are too large to compute with). `kernel`,
    /// `stride` and `dilation` are at least 1.
    pub fn plan(input: usize, kernel: usize, stride: usize, dilation: usize, padding: Padding) -> Option<Self> {
        // Checked arithmetic: learners' sizes reach this, and a notebook may be built with
        // overflow checks on.
        let covered = kernel.checked_sub(1)?.checked_mul(dilation)?.checked_add(1)?;
        let stride = stride.max(1);
        match padding {
            Padding::Valid => {
                let room = input.checked_sub(covered)?;
                let output = room / stride + 1;
                let used = (output - 1) * stride + covered;
                Some(AxisWindows {
                    output,
                    pad_before: 0,
                    pad_after: 0,
                    unused: input - used,
                })
            }
            Padding::Same => {
                let output = input.div_ceil(stride);
                let reach = (output.checked_sub(1)?).checked_mul(stride)?.checked_add(covered)?;
                let total = reach.saturating_sub(input);
                Some(AxisWindows {
                    output,
                    pad_before: total / 2,
                    pad_after: total - total / 2,
                    unused: 0,
                })
            }
        }
    }
}

/// How a window (a kernel or a pool) moves over one image: input and output sizes, window
/// size, strides, dilation and the zeros added above and to the left. Built from the two
/// axes' [`AxisWindows`] plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Input rows.
    pub in_rows: usize,
    /// Input columns.
    pub in_cols: usize,
    /// Input channels.
    pub channels: usize,
    /// Output rows: the window's positions down.
    pub out_rows: usize,
    /// Output columns: the window's positions across.
    pub out_cols: usize,
    /// Window rows (before dilation).
    pub kernel_rows: usize,
    /// Window columns (before dilation).
    pub kernel_cols: usize,
    /// Rows the window moves down by.
    pub stride_rows: usize,
    /// Columns the window moves across by.
    pub stride_cols: usize,
    /// Spacing between the window's taps (1: next to each other).
    pub dilation: usize,
    /// Zero rows added above the image (`same` padding).
    pub pad_top: usize,
    /// Zero columns added left of the image.
    pub pad_left: usize,
}

impl Geometry {
    /// The geometry of a window of `kernel` (rows, cols) moving by `strides` over images of
    /// `(rows, cols, channels)`, given each axis' plan.
    pub fn new(
        input: (usize, usize, usize),
        kernel: (usize, usize),
        strides: (usize, usize),
        dilation: usize,
        rows: &AxisWindows,
        cols: &AxisWindows,
    ) -> Self {
        Geometry {
            in_rows: input.0,
            in_cols: input.1,
            channels: input.2,
            out_rows: rows.output,
            out_cols: cols.output,
            kernel_rows: kernel.0,
            kernel_cols: kernel.1,
            stride_rows: strides.0,
            stride_cols: strides.1,
            dilation,
            pad_top: rows.pad_before,
            pad_left: cols.pad_before,
        }
    }

    /// Pixels of one input image.
    pub fn in_pixels(&self) -> usize {
        self.in_rows * self.in_cols
    }

    /// Pixels of one output image.
    pub fn out_pixels(&self) -> usize {
        self.out_rows * self.out_cols
    }

    /// Positions in one window.
    pub fn window_pixels(&self) -> usize {
        self.kernel_rows * self.kernel_cols
    }

    /// Values in one window across all channels: a row of the im2col matrix.
    pub fn window_len(&self) -> usize {
        self.window_pixels() * self.channels
    }

    /// The input pixel (`row · in_cols + col`) under window position `(kr, kc)` of output
    /// pixel `(out_row, out_col)`, or `None` where the window lies over padding.
    #[inline(always)]
    pub fn input_pixel(&self, out_row: usize, out_col: usize, kr: usize, kc: usize) -> Option<usize> {
        let r = (out_row * self.stride_rows + kr * self.dilation).checked_sub(self.pad_top)?;
        let c = (out_col * self.stride_cols + kc * self.dilation).checked_sub(self.pad_left)?;
        (r < self.in_rows && c < self.in_cols).then_some(r * self.in_cols + c)
    }

    /// The window positions `(kr range, kc range)` of output pixel `(out_row, out_col)`
    /// that lie over the input, not over padding: pooling reads only these, so a window
    /// much larger than its input costs no more than the input.
    pub fn inside(&self, out_row: usize, out_col: usize) -> (Range<usize>, Range<usize>) {
        // Along one axis, position k reads input pixel `start + k·dilation − pad`, which
        // must lie in 0..input.
        // (Pools have no dilation: they skip the division, which is slow next to the
        // few values a small pool compares.)
        let positions = |span: usize| match self.dilation {
            1 => span,
            d => span.div_ceil(d),
        };
        let axis = |start: usize, pad: usize, input: usize, kernel: usize| {
            let first = positions(pad.saturating_sub(start));
            let end = positions((pad + input).saturating_sub(start));
            first.min(kernel)..end.min(kernel)
        };
        (
            axis(out_row * self.stride_rows, self.pad_top, self.in_rows, self.kernel_rows),
            axis(
                out_col * self.stride_cols,
                self.pad_left,
                self.in_cols,
                self.kernel_cols,
            ),
        )
    }

    /// An error when gathering the windows of [`GATHERED_IMAGES`] images (every window's
    /// values side by side, as convolution's im2col and the GPU's pooling do) would not fit
    /// in `device`'s memory: a window far larger than its input with `same` padding, or an
    /// input of millions of pixels. Checked when layer `name` is built, so that training
    /// fails with this message rather than the allocation aborting the notebook.
    pub(crate) fn check_memory(&self, name: &str, device: &Device) -> Result<()> {
        let per_image = [
            self.out_rows,
            self.out_cols,
            self.kernel_rows,
            self.kernel_cols,
            self.channels,
        ]
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let bytes = per_image.and_then(|v| v.checked_mul(GATHERED_IMAGES * 4));
        let (place, available) = available_memory(device);
        if bytes.is_some_and(|b| b as u64 <= available) {
            return Ok(());
        }
        let values = per_image.map_or("too many".to_string(), thousands);
        bail!(Shape,
            "{name}: its {}×{} windows over a {}×{}×{} input read {values} values per image, about {:.1} GB for the {GATHERED_IMAGES} images a core may work on at once, and {place} has {:.1} GB available; hint: use a smaller window (one larger than its input reads mostly padding) or a smaller input",
            self.kernel_rows,
            self.kernel_cols,
            self.in_rows,
            self.in_cols,
            self.channels,
            bytes.map_or(f64::INFINITY, |b| b as f64 / 1e9),
            available as f64 / 1e9
        );
    }

    /// For every output pixel and window position, in that order, the input pixel it
    /// reads, with `in_pixels()` standing for padding: the map the device kernels gather by.
    pub fn window_map(&self) -> Vec<u32> {
        let mut map = Vec::with_capacity(self.out_pixels() * self.window_pixels());
        for out_row in 0..self.out_rows {
            for out_col in 0..self.out_cols {
                for kr in 0..self.kernel_rows {
                    for kc in 0..self.kernel_cols {
                        let pixel = self.input_pixel(out_row, out_col, kr, kc).unwrap_or(self.in_pixels());
                        map.push(pixel as u32);
                    }
                }
            }
        }
        map
    }
}

/// The course's output-size formula `O = (I − K + 2P) / S + 1`, for an explicit padding
/// of `P` pixels on each side. Returns an error when the window does not fit.
///
/// ```
/// use cnn_course::conv_output_size;
/// assert_eq!(conv_output_size(256, 4, 1, 2).unwrap(), 128);
/// assert_eq!(conv_output_size(28, 3, 1, 1).unwrap(), 28);
/// assert_eq!(conv_output_size(28, 3, 1, 3).unwrap(), 10);
/// ```
pub fn conv_output_size(input: usize, kernel: usize, padding: usize, stride: usize) -> Result<usize> {
    if kernel == 0 || stride == 0 {
        bail!(Setting,
            "conv_output_size: kernel and stride must be at least 1, got kernel {kernel}, stride {stride}; hint: a stride of 1 moves the kernel one pixel at a time"
        );
    }
    let Some(padded) = padding.checked_mul(2).and_then(|p| p.checked_add(input)) else {
        bail!(Setting,
            "conv_output_size: {input} pixels padded by {padding} on each side is too large to count; hint: image sizes are a few thousand pixels at most"
        );
    };
    if kernel > padded {
        bail!(Shape,
            "conv_output_size: a kernel of {kernel} does not fit in {input} pixels padded by {padding} on each side ({padded}); hint: use a smaller kernel or more padding"
        );
    }
    Ok((padded - kernel) / stride + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_windows_drop_unused_trailing_pixels() {
        // 11 pixels, 2-pixel windows every 2: 5 windows cover 10, the 11th is unused.
        let plan = AxisWindows::plan(11, 2, 2, 1, Padding::Valid).unwrap();
        assert_eq!(
            plan,
            AxisWindows {
                output: 5,
                pad_before: 0,
                pad_after: 0,
                unused: 1
            }
        );
        assert_eq!(AxisWindows::plan(2, 3, 1, 1, Padding::Valid), None);
        // Dilation 2 makes a 3-pixel kernel cover 5.
        assert_eq!(AxisWindows::plan(5, 3, 1, 2, Padding::Valid).unwrap().output, 1);
    }

    #[test]
    fn same_padding_follows_keras_for_even_kernels_and_strides() {
        // Keras pads an even kernel one more after than before.
        let plan = AxisWindows::plan(28, 2, 1, 1, Padding::Same).unwrap();
        assert_eq!((plan.output, plan.pad_before, plan.pad_after), (28, 0, 1));
        let plan = AxisWindows::plan(28, 3, 1, 1, Padding::Same).unwrap();
        assert_eq!((plan.output, plan.pad_before, plan.pad_after), (28, 1, 1));
        // 200 pixels, kernel 2, stride 2: 100 outputs, no padding needed.
        let plan = AxisWindows::plan(200, 2, 2, 1, Padding::Same).unwrap();
        assert_eq!((plan.output, plan.pad_before, plan.pad_after), (100, 0, 0));
        // 7 pixels, kernel 3, stride 2: ceil(7/2) = 4 outputs need 9 pixels: 1 + 1.
        let plan = AxisWindows::plan(7, 3, 2, 1, Padding::Same).unwrap();
        assert_eq!((plan.output, plan.pad_before, plan.pad_after), (4, 1, 1));
    }

    #[test]
    fn the_course_formula_gives_the_reference_answers() {
        assert_eq!(conv_output_size(256, 4, 1, 2).unwrap(), 128);
        assert_eq!(conv_output_size(28, 3, 1, 1).unwrap(), 28);
        assert_eq!(conv_output_size(28, 3, 1, 3).unwrap(), 10);
        assert_eq!(
            conv_output_size(2, 5, 0, 1).unwrap_err().to_string(),
            "conv_output_size: a kernel of 5 does not fit in 2 pixels padded by 0 on each side (2); hint: use a smaller kernel or more padding"
        );
    }

    #[test]
    fn unknown_padding_names_the_choices() {
        assert_eq!(
            "full".parse::<Padding>().unwrap_err().to_string(),
            "unknown padding 'full'; hint: use \"valid\" (no padding) or \"same\""
        );
        assert_eq!("SAME".parse::<Padding>().unwrap(), Padding::Same);
    }
}
