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
use rayon::prelude::*;

/// Pool `x` into `y`, writing each output's winner to `winners`. The geometry's kernel is
/// the pool window (no dilation).
pub(crate) fn max_pool_forward(g: &ConvGeometry, x: &[f32], y: &mut [f32], winners: &mut [u32]) {
    let c = g.channels;
    let out_len = g.out_pixels() * c;
    y.par_chunks_mut(out_len)
        .zip(winners.par_chunks_mut(out_len))
        .zip(x.par_chunks(g.input_len()))
        .for_each(|((y, winners), x)| {
            for orow in 0..g.out_rows {
                for ocol in 0..g.out_cols {
                    let at = (orow * g.out_cols + ocol) * c;
                    let (best, won) = (&mut y[at..at + c], &mut winners[at..at + c]);
                    won.fill(u32::MAX);
                    for kr in 0..g.kernel_rows {
                        let Some(r) = (orow * g.stride_rows + kr)
                            .checked_sub(g.pad_top)
                            .filter(|&r| r < g.in_rows)
                        else {
                            continue;
                        };
                        for kc in 0..g.kernel_cols {
                            let Some(col) = (ocol * g.stride_cols + kc)
                                .checked_sub(g.pad_left)
                                .filter(|&v| v < g.in_cols)
                            else {
                                continue;
                            };
                            let from = (r * g.in_cols + col) * c;
                            for ch in 0..c {
                                let v = x[from + ch];
                                if won[ch] == u32::MAX || v > best[ch] {
                                    best[ch] = v;
                                    won[ch] = (from + ch) as u32;
                                }
                            }
                        }
                    }
                }
            }
        });
}

/// Send each output's gradient `dy` to its winner in `dx`.
pub(crate) fn max_pool_backward(g: &ConvGeometry, winners: &[u32], dy: &[f32], dx: &mut [f32]) {
    let out_len = g.out_pixels() * g.channels;
    dx.par_chunks_mut(g.input_len())
        .zip(dy.par_chunks(out_len).zip(winners.par_chunks(out_len)))
        .for_each(|(dx, (dy, winners))| {
            dx.fill(0.0);
            for (&w, &d) in winners.iter().zip(dy) {
                dx[w as usize] += d;
            }
        });
}
