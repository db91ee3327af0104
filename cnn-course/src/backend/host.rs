//! The CPU backend: plain `f32` buffers and tuned kernels.
//!
//! Buffers come from a [`Workspace`] and go back to it when dropped, so a training step
//! reuses the previous step's memory instead of asking the operating system for fresh
//! pages (measured before this design: 880,000 page faults in 2 epochs of the seed
//! convnet). Every kernel but [`Backend::sum`] runs on the calling thread; the trainer runs
//! pieces of a batch side by side instead, so each core keeps its piece's feature maps in
//! its own cache.

use super::im2col::{col2im, im2col};
use super::matmul::{matmul, Op};
use super::pooling::{avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward};
use super::simd::vectorized;
use super::workspace::Workspace;
use super::Backend;
use crate::padding::Geometry;
use crate::{bail, Activation, Result};
use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Values per chunk of a [`Backend::sum`]: 8 KB, which stays in a core's first-level cache
/// while every part is added to it.
const SUM_CHUNK: usize = 2048;

/// Additions below which a [`Backend::sum`] runs on the calling thread: handing parts to
/// the other threads costs tens of microseconds. (Conv(15,2)-Conv(5,2) at batch 32, 42,000
/// additions per step, trained 5 % slower with its gradients summed side by side. Once the
/// threads stayed awake between steps, it trained 4 % slower with this at 8,192 and the
/// optimizer's threshold at 4,096, both of which it then crossed.)
const ADDITIONS_WORTH_THREADS: usize = 4 * crate::optimizers::VALUES_WORTH_THREADS;

/// The CPU backend; see the module documentation.
#[derive(Clone, Default)]
pub(crate) struct Host {
    floats: Arc<Workspace<f32>>,
    indices: Arc<Workspace<u32>>,
}

/// A buffer that returns to its workspace when dropped (buffers made from a tensor's
/// values belong to no workspace).
pub(crate) struct Pooled<T: Copy + Default> {
    values: Vec<T>,
    pool: Option<Arc<Workspace<T>>>,
}

impl<T: Copy + Default> Drop for Pooled<T> {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.give(std::mem::take(&mut self.values));
        }
    }
}

impl<T: Copy + Default> Deref for Pooled<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.values
    }
}

impl<T: Copy + Default> DerefMut for Pooled<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.values
    }
}

impl Host {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A buffer of `len` values whose contents the caller overwrites.
    fn buffer(&self, len: usize) -> Pooled<f32> {
        Pooled {
            values: self.floats.take(len),
            pool: Some(self.floats.clone()),
        }
    }

    fn wrap(&self, values: Vec<f32>) -> Pooled<f32> {
        Pooled { values, pool: None }
    }
}

impl Backend for Host {
    type Buf = Pooled<f32>;
    type Index = Pooled<u32>;

    fn device(&self) -> Device {
        Device::Cpu
    }

    fn load(&self, t: &Tensor) -> Result<Self::Buf> {
        Ok(self.wrap(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?))
    }

    fn upload(&self, values: &[f32]) -> Result<Self::Buf> {
        let mut buffer = self.buffer(values.len());
        buffer.copy_from_slice(values);
        Ok(buffer)
    }

    fn download(&self, x: &Self::Buf) -> Result<Vec<f32>> {
        Ok(x.to_vec())
    }

    fn to_tensor(&self, x: &Self::Buf, shape: &[usize]) -> Result<Tensor> {
        Ok(Tensor::from_slice(x, shape, &Device::Cpu)?)
    }

    fn gather_rows(&self, data: &Self::Buf, width: usize, ids: &[usize]) -> Result<Self::Buf> {
        let mut rows = self.buffer(ids.len() * width);
        for (row, &id) in rows.chunks_mut(width.max(1)).zip(ids) {
            row.copy_from_slice(&data[id * width..(id + 1) * width]);
        }
        Ok(rows)
    }

    fn copy(&self, x: &Self::Buf) -> Result<Self::Buf> {
        self.upload(x)
    }

    /// Chunk by chunk, each chunk of the total taking every part in turn while it is in
    /// the core's cache; the chunks side by side on the cores when there are enough
    /// additions. (Summed layer by layer, each on one core, the seed convnet's gradients
    /// kept at most two cores busy: most of its weights are in two kernels of 36,864
    /// values. On 16 cores each of those is a sum of 16 parts.)
    fn sum(&self, parts: Vec<Self::Buf>) -> Result<Self::Buf> {
        let mut parts = parts.into_iter();
        let Some(mut total) = parts.next() else {
            bail!(Internal, "backend: a sum of no buffers");
        };
        let rest: Vec<Self::Buf> = parts.collect();
        if rest.iter().any(|part| part.len() != total.len()) {
            bail!(Internal, "backend: a sum of buffers of different lengths");
        }
        let add_rest = |(i, chunk): (usize, &mut [f32])| {
            let at = i * SUM_CHUNK;
            vectorized(
                #[inline(always)]
                || {
                    for part in &rest {
                        let part = &part[at..at + chunk.len()];
                        chunk.iter_mut().zip(part).for_each(|(t, v)| *t += v);
                    }
                },
            )
        };
        match total.len() * rest.len() >= ADDITIONS_WORTH_THREADS {
            true => total.par_chunks_mut(SUM_CHUNK).enumerate().for_each(add_rest),
            false => total.chunks_mut(SUM_CHUNK).enumerate().for_each(add_rest),
        }
        Ok(total)
    }

    fn matmul(
        &self,
        (m, k, n): (usize, usize, usize),
        a: &Self::Buf,
        a_op: Op,
        b: &Self::Buf,
        b_op: Op,
    ) -> Result<Self::Buf> {
        let mut c = self.buffer(m * n);
        matmul((m, k, n), a, a_op, b, b_op, &mut c, false);
        Ok(c)
    }

    fn bias_activation(
        &self,
        mut z: Self::Buf,
        bias: Option<&Self::Buf>,
        width: usize,
        activation: Activation,
    ) -> Result<Self::Buf> {
        let tile = row_tile(width);
        let bias = bias.map(|bias| repeat(bias, tile));
        vectorized(
            #[inline(always)]
            || {
                if let Some(bias) = &bias {
                    for row in z.chunks_mut(tile) {
                        row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
                    }
                }
                match activation {
                    Activation::Relu => z.iter_mut().for_each(|v| *v = v.max(0.0)),
                    Activation::Sigmoid => z.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
                    Activation::Tanh => z.iter_mut().for_each(|v| *v = v.tanh()),
                    Activation::Softmax => z.chunks_mut(width).for_each(softmax_row),
                    Activation::Linear => {}
                }
            },
        );
        Ok(z)
    }

    fn activation_backward(
        &self,
        dy: Self::Buf,
        y: &Self::Buf,
        width: usize,
        activation: Activation,
    ) -> Result<Self::Buf> {
        if activation == Activation::Linear {
            return Ok(dy);
        }
        // Into a fresh buffer: in place, relu's select compiles to a masked store, which
        // AMD processors run several times slower (vmaskmovps; the seed convnet's first
        // layer, 8 images, on an AMD EPYC: 89 µs in place, 32 µs this way).
        let mut dz = self.buffer(dy.len());
        let each = |dz: &mut [f32], rule: fn(f32, f32) -> f32| {
            for (dz, (&d, &y)) in dz.iter_mut().zip(dy.iter().zip(y.iter())) {
                *dz = rule(d, y);
            }
        };
        vectorized(
            #[inline(always)]
            || match activation {
                Activation::Relu => each(&mut dz, |d, y| if y > 0.0 { d } else { 0.0 }),
                Activation::Sigmoid => each(&mut dz, |d, y| d * y * (1.0 - y)),
                Activation::Tanh => each(&mut dz, |d, y| d * (1.0 - y * y)),
                // dz = y ⊙ (dy − Σ dy·y) on each row.
                Activation::Softmax => {
                    for ((dz, d), y) in dz.chunks_mut(width).zip(dy.chunks(width)).zip(y.chunks(width)) {
                        let dot: f32 = d.iter().zip(y).map(|(d, y)| d * y).sum();
                        dz.iter_mut()
                            .zip(d.iter().zip(y))
                            .for_each(|(dz, (d, y))| *dz = y * (d - dot));
                    }
                }
                Activation::Linear => {}
            },
        );
        Ok(dz)
    }

    fn column_sums(&self, m: &Self::Buf, width: usize) -> Result<Self::Buf> {
        let tile = row_tile(width);
        let mut tile_sums = vec![0f32; tile];
        vectorized(
            #[inline(always)]
            || add_column_sums::<false>(m, m, tile, &mut tile_sums, &mut []),
        );
        let mut sums = self.buffer(width);
        sums.fill(0.0);
        for part in tile_sums.chunks(width) {
            sums.iter_mut().zip(part).for_each(|(s, p)| *s += p);
        }
        Ok(sums)
    }

    fn im2col(&self, g: &Geometry, x: &Self::Buf, n: usize) -> Result<Self::Buf> {
        let mut cols = self.buffer(n * g.out_pixels() * g.window_len());
        im2col(g, x, &mut cols);
        Ok(cols)
    }

    fn col2im(&self, g: &Geometry, cols: &Self::Buf, n: usize) -> Result<Self::Buf> {
        let mut dx = self.buffer(n * g.input_len());
        col2im(g, cols, &mut dx);
        Ok(dx)
    }

    fn max_pool(&self, g: &Geometry, x: &Self::Buf, n: usize) -> Result<(Self::Buf, Self::Index)> {
        let len = n * g.out_pixels() * g.channels;
        let mut y = self.buffer(len);
        let mut winners = Pooled {
            values: self.indices.take(len),
            pool: Some(self.indices.clone()),
        };
        max_pool_forward(g, x, &mut y, &mut winners);
        Ok((y, winners))
    }

    fn max_pool_backward(&self, g: &Geometry, winners: &Self::Index, dy: &Self::Buf, n: usize) -> Result<Self::Buf> {
        let mut dx = self.buffer(n * g.input_len());
        max_pool_backward(g, winners, dy, &mut dx);
        Ok(dx)
    }

    fn avg_pool(&self, g: &Geometry, x: &Self::Buf, n: usize) -> Result<Self::Buf> {
        let mut y = self.buffer(n * g.out_pixels() * g.channels);
        avg_pool_forward(g, x, &mut y);
        Ok(y)
    }

    fn avg_pool_backward(&self, g: &Geometry, dy: &Self::Buf, n: usize) -> Result<Self::Buf> {
        let mut dx = self.buffer(n * g.input_len());
        avg_pool_backward(g, dy, &mut dx);
        Ok(dx)
    }

    fn scale(&self, x: &Self::Buf, factors: &[f32]) -> Result<Self::Buf> {
        if factors.len() != x.len() {
            bail!(Internal, "scale: {} factors for {} values", factors.len(), x.len());
        }
        let mut out = self.buffer(x.len());
        vectorized(
            #[inline(always)]
            || {
                for ((o, v), f) in out.iter_mut().zip(x.iter()).zip(factors) {
                    *o = v * f;
                }
            },
        );
        Ok(out)
    }

    fn channel_affine(&self, x: &Self::Buf, width: usize, (p, r): (&[f32], &[f32])) -> Result<Self::Buf> {
        let mut out = self.buffer(x.len());
        let tile = row_tile(width);
        let (p, r) = (repeat(p, tile), repeat(r, tile));
        vectorized(
            #[inline(always)]
            || {
                for (out, x) in out.chunks_mut(tile).zip(x.chunks(tile)) {
                    for (((o, x), p), r) in out.iter_mut().zip(x).zip(&p).zip(&r) {
                        *o = p * x + r;
                    }
                }
            },
        );
        Ok(out)
    }

    /// Over `a`: a new buffer would be written to memory the step has not touched for a
    /// while (batch norm's backward pass, 8 images of 26×26×16 values on one AMD EPYC core:
    /// chapter 5's Conv(16,3)-BatchNorm-Pool-Dense trained 7 % faster this way).
    fn channel_mix(
        &self,
        mut a: Self::Buf,
        b: &Self::Buf,
        width: usize,
        (p, q, r): (&[f32], &[f32], &[f32]),
    ) -> Result<Self::Buf> {
        let tile = row_tile(width);
        let (p, q, r) = (repeat(p, tile), repeat(q, tile), repeat(r, tile));
        vectorized(
            #[inline(always)]
            || {
                for (a, b) in a.chunks_mut(tile).zip(b.chunks(tile)) {
                    for (((a, b), (p, q)), r) in a.iter_mut().zip(b).zip(p.iter().zip(&q)).zip(&r) {
                        *a = p * *a + q * b + r;
                    }
                }
            },
        );
        Ok(a)
    }

    fn channel_sums(&self, a: &Self::Buf, b: &Self::Buf, width: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        // f32 sums over 64 tiles of rows at a time, added to f64 totals.
        const TILES: usize = 64;
        let tile = row_tile(width);
        let (mut sums, mut products) = (vec![0f64; width], vec![0f64; width]);
        let (mut part_sums, mut part_products) = (vec![0f32; tile], vec![0f32; tile]);
        for (a_tiles, b_tiles) in a.chunks(tile * TILES).zip(b.chunks(tile * TILES)) {
            part_sums.fill(0.0);
            part_products.fill(0.0);
            vectorized(
                #[inline(always)]
                || add_column_sums::<true>(a_tiles, b_tiles, tile, &mut part_sums, &mut part_products),
            );
            for (s, p) in part_sums.chunks(width).zip(part_products.chunks(width)) {
                sums.iter_mut().zip(s).for_each(|(total, s)| *total += *s as f64);
                products.iter_mut().zip(p).for_each(|(total, p)| *total += *p as f64);
            }
        }
        Ok((sums, products))
    }
}

/// Adds the sum of each column of `a` to `sums` and, with `PRODUCTS`, the sum of each
/// column of `a ⊙ b` to `products`. `a` and `b` are rows of `tile` values (the last row
/// may be shorter). Columns 32 at a time, then 8, down all the rows, so that the running
/// sums stay in registers. A loop along each row kept them in memory, and for rows of 16
/// values LLVM vectorized it only 4 wide: batch norm's sums took 1.13 ns a value for 16
/// channels, 0.35 eight columns at a time (one AMD EPYC core), and were 20 % of the time
/// of chapter 5's Conv(16,3)-BatchNorm-Pool-Dense model. 32 columns read whole cache lines
/// in one pass instead of four: 0.097 ns a value instead of 0.125 for 8 images of
/// 26×26×16 values in the cache, 0.33 instead of 0.41 for 64 images (an Intel Xeon core).
#[inline(always)]
fn add_column_sums<const PRODUCTS: bool>(a: &[f32], b: &[f32], tile: usize, sums: &mut [f32], products: &mut [f32]) {
    let whole_rows = a.len() / tile * tile;
    let (a_rows, b_rows) = (&a[..whole_rows], &b[..whole_rows]);
    let mut first = 0;
    while first + 32 <= tile {
        add_columns::<32, PRODUCTS>((a_rows, b_rows), (tile, first), sums, products);
        first += 32;
    }
    while first + 8 <= tile {
        add_columns::<8, PRODUCTS>((a_rows, b_rows), (tile, first), sums, products);
        first += 8;
    }
    // The last columns (fewer than 8), and the short last row.
    for (a, b) in a_rows.chunks_exact(tile).zip(b_rows.chunks_exact(tile)) {
        for c in first..tile {
            sums[c] += a[c];
            if PRODUCTS {
                products[c] += a[c] * b[c];
            }
        }
    }
    for (c, (a, b)) in a[whole_rows..].iter().zip(&b[whole_rows..]).enumerate() {
        sums[c] += a;
        if PRODUCTS {
            products[c] += a * b;
        }
    }
}

/// [`add_column_sums`] for columns `first..first + N` of every row.
#[inline(always)]
fn add_columns<const N: usize, const PRODUCTS: bool>(
    (a_rows, b_rows): (&[f32], &[f32]),
    (tile, first): (usize, usize),
    sums: &mut [f32],
    products: &mut [f32],
) {
    let (mut s, mut p) = ([0f32; N], [0f32; N]);
    for (a, b) in a_rows.chunks_exact(tile).zip(b_rows.chunks_exact(tile)) {
        let (a, b) = (&a[first..first + N], &b[first..first + N]);
        for i in 0..N {
            s[i] += a[i];
            if PRODUCTS {
                p[i] += a[i] * b[i];
            }
        }
    }
    for i in 0..N {
        sums[first + i] += s[i];
        if PRODUCTS {
            products[first + i] += p[i];
        }
    }
}

/// How many values the per-channel loops take at a time: whole rows of `width` channels,
/// a multiple of 16 values, so that every vector register is full, and at least 64, so
/// that each loop's start is paid once per 64 values or more. Row by row, a layer of 15
/// channels filled one 8-wide register and left 7 values to scalar code: batch norm took
/// 21 % of the time of Conv(15,2)-BatchNorm-Conv(5,2). In tiles of 64 rather than 16
/// values, `channel_mix` takes 0.45 ns a value for 16 channels instead of 0.80; adding
/// the bias in tiles rather than row by row, `bias_activation` takes 0.28 ns a value for
/// 3 to 16 channels instead of 0.46 (16) to 1.46 (3) (one AMD EPYC core). Rows of 64
/// values and more are taken one at a time: they fill the registers already, and a tile
/// of 16 rows of a wide odd vector (a million features) would take more memory than the
/// layer.
fn row_tile(width: usize) -> usize {
    match width {
        64.. => width,
        _ => {
            let whole_rows = num_integer::lcm(width.max(1), 16);
            whole_rows * 64usize.div_ceil(whole_rows)
        }
    }
}

/// Per-channel values repeated to fill a tile of rows.
fn repeat(per_channel: &[f32], tile: usize) -> Vec<f32> {
    per_channel.iter().cycle().take(tile).copied().collect()
}

/// Softmax of one row in place, shifted by its maximum so `exp` never overflows.
#[inline(always)]
fn softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}
