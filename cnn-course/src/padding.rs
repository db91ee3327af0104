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

use crate::{bail, Error, Result};
use std::fmt;
use std::str::FromStr;

/// How a convolution or pooling window treats the border, as in Keras.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding: the output shrinks by the window size minus one.
    Valid,
    /// Zero padding so that the output has `ceil(input / stride)` pixels.
    Same,
}

impl FromStr for Padding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            _ => bail!("unknown padding '{s}'; hint: use \"valid\" (no padding) or \"same\""),
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
    /// not fit in the input at all.
    pub fn plan(input: usize, kernel: usize, stride: usize, dilation: usize, padding: Padding) -> Option<Self> {
        let covered = (kernel - 1) * dilation + 1;
        match padding {
            Padding::Valid => {
                if covered > input {
                    return None;
                }
                let output = (input - covered) / stride + 1;
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
                let total = ((output - 1) * stride + covered).saturating_sub(input);
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
        bail!("conv_output_size: kernel and stride must be at least 1, got kernel {kernel}, stride {stride}");
    }
    let padded = input + 2 * padding;
    if kernel > padded {
        bail!(
            "conv_output_size: a kernel of {kernel} does not fit in {input} pixels padded by {padding} on each side ({padded})"
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
            "conv_output_size: a kernel of 5 does not fit in 2 pixels padded by 0 on each side (2)"
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
