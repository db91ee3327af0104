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
use std::ops::Range;

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
        let window = Window {
            g,
            pixel: (orow, ocol),
            inside: g.inside(orow, ocol),
        };
        let mut channel = 0;
        while channel < c {
            let lanes = match c - channel {
                16.. => max_of_window::<16>(x, &window, channel, best, won),
                8.. => max_of_window::<8>(x, &window, channel, best, won),
                _ => max_of_window::<1>(x, &window, channel, best, won),
            };
            channel += lanes;
        }
    }
}

/// The pooling window of one output pixel: its positions that lie over the input.
struct Window<'g> {
    g: &'g Geometry,
    pixel: (usize, usize),
    inside: (Range<usize>, Range<usize>),
}

/// The maximum of `L` channels from `channel` on over a `window`, and where each was
/// found; returns `L`. The running maxima live in local arrays, which LLVM keeps in
/// registers (16 channels: two AVX2 registers of maxima, two of winners). Updated in
/// memory instead, the select compiles to a masked store, which AMD processors run
/// several times slower (vmaskmovps): the seed convnet's first pooling took 158 µs per 8
/// images that way on an AMD EPYC, 56 µs this way.
#[inline(always)]
fn max_of_window<const L: usize>(
    x: &[f32],
    window: &Window,
    channel: usize,
    best: &mut [f32],
    won: &mut [u32],
) -> usize {
    let Window {
        g,
        pixel: (orow, ocol),
        inside: (rows, cols),
    } = window;
    let (mut b, mut w, mut first) = ([0f32; L], [0u32; L], true);
    // Only positions over the input (pools have no dilation), so no padding to test for:
    // testing each position (`Geometry::input_pixel`), 16 channels of 26×26 took 0.55 ns
    // a value, 0.47 this way (one AMD EPYC core).
    let (top, left) = (orow * g.stride_rows, ocol * g.stride_cols);
    for kr in rows.clone() {
        for kc in cols.clone() {
            let row = top + kr - g.pad_top;
            let at = row * g.in_cols + left + kc - g.pad_left;
            let start = at * g.channels + channel;
            let values = &x[start..start + L];
            for i in 0..L {
                // Strictly greater: on a tie the first pixel in reading order wins.
                let better = first || values[i] > b[i];
                b[i] = if better { values[i] } else { b[i] };
                w[i] = if better { (start + i) as u32 } else { w[i] };
            }
            first = false;
        }
    }
    best[channel..channel + L].copy_from_slice(&b);
    won[channel..channel + L].copy_from_slice(&w);
    L
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::padding::{AxisWindows, Padding};

    #[test]
    fn on_a_tie_the_first_pixel_in_reading_order_wins() {
        // 4×4 → 2×2, 25 channels (16, 8 and 1 compared at a time), every value equal.
        let (rows, cols) = (
            AxisWindows::plan(4, 2, 2, 1, Padding::Valid).unwrap(),
            AxisWindows::plan(4, 2, 2, 1, Padding::Valid).unwrap(),
        );
        let g = Geometry::new((4, 4, 25), (2, 2), (2, 2), 1, &rows, &cols);
        let x = vec![1.5f32; g.input_len()];
        let (mut y, mut winners) = (vec![0.0; 4 * 25], vec![0; 4 * 25]);
        max_pool_forward(&g, &x, &mut y, &mut winners);
        assert!(y.iter().all(|&v| v == 1.5));
        for (out, &won) in winners.iter().enumerate() {
            let (pixel, channel) = (out / 25, out % 25);
            // The top-left pixel of window (i, j) is input pixel (2i, 2j).
            let top_left = (pixel / 2 * 2) * 4 + pixel % 2 * 2;
            assert_eq!(won as usize, top_left * 25 + channel, "output {out}");
        }
    }
}
