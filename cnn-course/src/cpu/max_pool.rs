//! Max pooling in NHWC layout, remembering each output's winner.
//!
//! Forward: each output is the largest input in its window (padding never wins; on a tie
//! the first pixel in reading order wins, as in the layer's generic path). Backward: each
//! output's gradient goes to its winner, found without searching again.
//!
//! # Shapes
//! - input: `(batch, rows, cols, channels)`; output: `(batch, out_rows, out_cols, channels)`
//! - winners: one per output, the index of the winning input within its sample

use super::im2col::ConvGeometry;
use super::simd::vectorized;

impl ConvGeometry {
    /// The input pixel (row · in_cols + column) at window position `(kr, kc)` of output
    /// pixel `(orow, ocol)`, if inside the image.
    #[inline(always)]
    fn pixel(&self, orow: usize, ocol: usize, kr: usize, kc: usize) -> Option<usize> {
        let r = (orow * self.stride_rows + kr).checked_sub(self.pad_top)?;
        let c = (ocol * self.stride_cols + kc).checked_sub(self.pad_left)?;
        (r < self.in_rows && c < self.in_cols).then_some(r * self.in_cols + c)
    }
}

/// Pool `x` into `y`, writing each output's winner to `winners`. The geometry's kernel is
/// the pool window (no dilation).
pub(crate) fn max_pool_forward(g: &ConvGeometry, x: &[f32], y: &mut [f32], winners: &mut [u32]) {
    let out_len = g.out_pixels() * g.channels;
    vectorized(
        #[inline(always)]
        || {
            for ((y, winners), x) in y
                .chunks_mut(out_len)
                .zip(winners.chunks_mut(out_len))
                .zip(x.chunks(g.input_len()))
            {
                pool_sample(g, x, y, winners);
            }
        },
    )
}

/// [`max_pool_forward`] for one sample (inlined into the vectorized caller).
#[inline(always)]
fn pool_sample(g: &ConvGeometry, x: &[f32], y: &mut [f32], winners: &mut [u32]) {
    let c = g.channels;
    for (pixel, (best, won)) in y.chunks_mut(c).zip(winners.chunks_mut(c)).enumerate() {
        let (orow, ocol) = (pixel / g.out_cols, pixel % g.out_cols);
        let mut first = true;
        for kr in 0..g.kernel_rows {
            for kc in 0..g.kernel_cols {
                let Some(at) = g.pixel(orow, ocol, kr, kc) else {
                    continue;
                };
                let values = &x[at * c..(at + 1) * c];
                let start = (at * c) as u32;
                if first {
                    best.copy_from_slice(values);
                    won.iter_mut().zip(start..).for_each(|(w, index)| *w = index);
                    first = false;
                    continue;
                }
                for (((b, w), &v), index) in best.iter_mut().zip(won.iter_mut()).zip(values).zip(start..) {
                    // Selects rather than branches, so that this loop vectorizes.
                    let better = v > *b;
                    *b = if better { v } else { *b };
                    *w = if better { index } else { *w };
                }
            }
        }
    }
}

/// Send each output's gradient `dy` to its winner in `dx`.
pub(crate) fn max_pool_backward(g: &ConvGeometry, winners: &[u32], dy: &[f32], dx: &mut [f32]) {
    let out_len = g.out_pixels() * g.channels;
    for (dx, (dy, winners)) in dx
        .chunks_mut(g.input_len())
        .zip(dy.chunks(out_len).zip(winners.chunks(out_len)))
    {
        dx.fill(0.0);
        for (&w, &d) in winners.iter().zip(dy) {
            dx[w as usize] += d;
        }
    }
}
