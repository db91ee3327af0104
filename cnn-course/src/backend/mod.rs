//! The few array operations every layer's maths is written in, for two kinds of memory.
//!
//! A layer's forward and backward passes (in its own file under [`crate::layers`]) are
//! sequences of these operations: a convolution is `im2col`, a matrix product and a bias
//! with an activation; its backward pass is two matrix products, a column sum and
//! `col2im`. The layer states its maths once; a [`Backend`] runs it:
//!
//! - [`Host`]: the CPU, on plain `f32` buffers, with tuned kernels (the `gemm` crate's
//!   matrix products, im2col in one pass, loops compiled for AVX2) and buffers reused from
//!   step to step. The trainer runs pieces of a batch side by side on the cores.
//! - [`OnDevice`]: any candle device (a CUDA GPU), through candle's tensor operations.
//!   It also runs on the CPU, so the tests compare the two backends there.
//!
//! Every buffer holds a matrix stored row by row: a batch of images is
//! `(samples · rows · cols, channels)` — channels-last, Keras' layout — a batch of
//! vectors `(samples, features)`. Callers pass the sizes; buffers are flat.

mod candle_ops;
mod host;
mod im2col;
mod matmul;
mod pooling;
mod simd;
mod workspace;

pub(crate) use candle_ops::OnDevice;
pub(crate) use host::Host;
pub(crate) use matmul::Op;
pub(crate) use simd::vectorized;

use crate::padding::Geometry;
use crate::{Activation, Result};
use candle_core::{Device, Tensor};

/// The array operations layers are made of. See the module documentation.
pub(crate) trait Backend: Sync {
    /// A flat buffer of `f32` values.
    type Buf: Send + Sync;
    /// A flat buffer of indices (max pooling's winners).
    type Index: Send + Sync;

    /// The device the buffers live on (whose memory a step must fit in).
    fn device(&self) -> Device;
    /// A tensor's values (a weight, a dataset) on the backend, flattened in row-major order.
    fn load(&self, t: &Tensor) -> Result<Self::Buf>;
    /// Values from the host's memory.
    fn upload(&self, values: &[f32]) -> Result<Self::Buf>;
    /// The values, copied to the host's memory.
    fn download(&self, x: &Self::Buf) -> Result<Vec<f32>>;
    /// A buffer as a tensor of `shape` on the model's device.
    fn to_tensor(&self, x: &Self::Buf, shape: &[usize]) -> Result<Tensor>;

    /// Rows `ids` of a matrix whose rows have `width` values (the samples of a batch).
    fn gather_rows(&self, data: &Self::Buf, width: usize, ids: &[usize]) -> Result<Self::Buf>;
    /// A copy of `x`.
    fn copy(&self, x: &Self::Buf) -> Result<Self::Buf>;
    /// The sum of `parts` (at least one), element by element, each value added in the
    /// order of `parts` (the pieces' gradients: the same bits however the work is shared).
    fn sum(&self, parts: Vec<Self::Buf>) -> Result<Self::Buf>;

    /// `op(a) · op(b)` with `op(a)` of `m × k` and `op(b)` of `k × n` (see [`Op`]).
    fn matmul(&self, mkn: (usize, usize, usize), a: &Self::Buf, a_op: Op, b: &Self::Buf, b_op: Op)
        -> Result<Self::Buf>;
    /// Add `bias` (one value per column of rows of `width`) to every row, then apply
    /// `activation` (softmax: over each row).
    fn bias_activation(
        &self,
        z: Self::Buf,
        bias: Option<&Self::Buf>,
        width: usize,
        activation: Activation,
    ) -> Result<Self::Buf>;
    /// The gradient at an activation's input from the gradient `dy` at its output `y`.
    /// relu's gradient at exactly 0 is 0, as in TensorFlow and PyTorch.
    fn activation_backward(
        &self,
        dy: Self::Buf,
        y: &Self::Buf,
        width: usize,
        activation: Activation,
    ) -> Result<Self::Buf>;
    /// The sum of the rows of a matrix with rows of `width` values (a bias gradient).
    fn column_sums(&self, m: &Self::Buf, width: usize) -> Result<Self::Buf>;

    /// Copy every window of `n` images into a row of a matrix `(n · out pixels,
    /// window rows · window cols · channels)`, padding read as 0 ("im2col").
    fn im2col(&self, g: &Geometry, x: &Self::Buf, n: usize) -> Result<Self::Buf>;
    /// The transpose of [`Backend::im2col`]: each window entry added back to its pixel.
    fn col2im(&self, g: &Geometry, cols: &Self::Buf, n: usize) -> Result<Self::Buf>;

    /// The largest value of each window per channel, and where it was (padding never wins;
    /// on a tie the first pixel in reading order).
    fn max_pool(&self, g: &Geometry, x: &Self::Buf, n: usize) -> Result<(Self::Buf, Self::Index)>;
    /// Each output gradient sent to its window's winner.
    fn max_pool_backward(&self, g: &Geometry, winners: &Self::Index, dy: &Self::Buf, n: usize) -> Result<Self::Buf>;
    /// The mean of each window per channel, padding left out of the mean.
    fn avg_pool(&self, g: &Geometry, x: &Self::Buf, n: usize) -> Result<Self::Buf>;
    /// Each output gradient shared equally by its window's pixels.
    fn avg_pool_backward(&self, g: &Geometry, dy: &Self::Buf, n: usize) -> Result<Self::Buf>;

    /// `x ⊙ factors`, element by element, with the factors from the host (dropout masks).
    fn scale(&self, x: &Self::Buf, factors: &[f32]) -> Result<Self::Buf>;
    /// Per channel `c` (column of rows of `width`): `p[c]·x + r[c]`, into a new buffer.
    /// Batch normalization's forward pass.
    fn channel_affine(&self, x: &Self::Buf, width: usize, pr: (&[f32], &[f32])) -> Result<Self::Buf>;
    /// Per channel `c`: `p[c]·a + q[c]·b + r[c]`, written over `a` (a gradient the caller
    /// is done with). Batch normalization's backward pass.
    fn channel_mix(
        &self,
        a: Self::Buf,
        b: &Self::Buf,
        width: usize,
        pqr: (&[f32], &[f32], &[f32]),
    ) -> Result<Self::Buf>;
    /// Per channel: `(Σ a, Σ a·b)` over all rows, in `f64`.
    fn channel_sums(&self, a: &Self::Buf, b: &Self::Buf, width: usize) -> Result<(Vec<f64>, Vec<f64>)>;
}

#[cfg(test)]
mod tests;
