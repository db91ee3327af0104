//! Pooling kernels for the CPU, in NHWC layout.
//!
//! Max pooling: each output is the largest input in its window (padding never wins; on a
//! tie the first pixel in reading order wins), and each output's winner is remembered so
//! that the backward pass sends the gradient straight to it. Average pooling: the mean of
//! the window's real (not padded) pixels; backward shares each gradient equally.
//!
//! # Shapes
//! - input: `(batch, rows, cols, channels)`; output: `(batch, out_rows, out_cols, channels)`
//! - winners: one per output, the index of the winning input within its sample

use super::simd::vectorized;
use crate::padding::Geometry;

/// Pool `x` into `y`, writing each output's winner to `winners`. The geometry's kernel is
/// the pool window (no dilation).
pub(crate) fn max_pool_forward(g: &Geometry, x: &[f32], y: &mut [f32], winners: &mut [u32]) {
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
fn pool_sample(g: &Geometry, x: &[f32], y: &mut [f32], winners: &mut [u32]) {
    let c = g.channels;
    for (pixel, (best, won)) in y.chunks_mut(c).zip(winners.chunks_mut(c)).enumerate() {
        let (orow, ocol) = (pixel / g.out_cols, pixel % g.out_cols);
        let mut first = true;
        let (rows, cols) = g.inside(orow, ocol);
        for kr in rows {
            for kc in cols.clone() {
                let Some(at) = g.input_pixel(orow, ocol, kr, kc) else {
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
pub(crate) fn max_pool_backward(g: &Geometry, winners: &[u32], dy: &[f32], dx: &mut [f32]) {
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

/// For each output pixel of one image, its window's real (not padded) input pixels, and
/// `1 / their count`.
fn windows_of(g: &Geometry) -> Vec<(Vec<usize>, f32)> {
    (0..g.out_pixels())
        .map(|pixel| {
            let (orow, ocol) = (pixel / g.out_cols, pixel % g.out_cols);
            let (rows, cols) = g.inside(orow, ocol);
            let inside: Vec<usize> = rows
                .flat_map(|kr| cols.clone().map(move |kc| (kr, kc)))
                .filter_map(|(kr, kc)| g.input_pixel(orow, ocol, kr, kc))
                .collect();
            let share = 1.0 / inside.len().max(1) as f32;
            (inside, share)
        })
        .collect()
}

/// Average pool `x` into `y`.
pub(crate) fn avg_pool_forward(g: &Geometry, x: &[f32], y: &mut [f32]) {
    let (c, windows) = (g.channels, windows_of(g));
    vectorized(
        #[inline(always)]
        || {
            for (y, x) in y.chunks_mut(g.out_pixels() * c).zip(x.chunks(g.input_len())) {
                for (mean, (inside, share)) in y.chunks_mut(c).zip(&windows) {
                    mean.fill(0.0);
                    for &at in inside {
                        mean.iter_mut().zip(&x[at * c..(at + 1) * c]).for_each(|(m, v)| *m += v);
                    }
                    mean.iter_mut().for_each(|m| *m *= share);
                }
            }
        },
    )
}

/// Share each output gradient `dy` equally among its window's pixels in `dx`.
pub(crate) fn avg_pool_backward(g: &Geometry, dy: &[f32], dx: &mut [f32]) {
    let (c, windows) = (g.channels, windows_of(g));
    vectorized(
        #[inline(always)]
        || {
            for (dx, dy) in dx.chunks_mut(g.input_len()).zip(dy.chunks(g.out_pixels() * c)) {
                dx.fill(0.0);
                for (d, (inside, share)) in dy.chunks(c).zip(&windows) {
                    for &at in inside {
                        dx[at * c..(at + 1) * c]
                            .iter_mut()
                            .zip(d)
                            .for_each(|(x, d)| *x += d * share);
                    }
                }
            }
        },
    )
}
