//! A whole training step of a [`Sequential`] model, written out by hand for the CPU.
//!
//! The forward pass runs layer by layer on plain `f32` buffers in NHWC layout, keeping
//! what each layer's backward pass needs; the loss is softmax cross-entropy on the last
//! layer's scores; the backward pass then walks the layers in reverse, each turning the
//! gradient of its output into gradients of its weights and of its input:
//!
//! | layer | forward | backward |
//! |---|---|---|
//! | Conv2D | `y = act(im2col(x) · K + b)` | `dz = dy ⊙ act'(y)`, `dK = colsᵀ · dz`, `db = Σ dz`, `dx = col2im(dz · Kᵀ)` |
//! | MaxPool2D | window maxima, winners kept | each gradient to its winner |
//! | Flatten | nothing (NHWC is already Keras' flatten order) | nothing |
//! | Dense | `y = act(x · W + b)` | `dz = dy ⊙ act'(y)`, `dW = xᵀ · dz`, `db = Σ dz`, `dx = dz · Wᵀ` |
//! | Dropout | `y = x ⊙ mask / (1 − rate)` | `dx = dy ⊙ mask / (1 − rate)` |
//!
//! The first layer's input gradient is never computed (nothing uses it), nor the weight
//! gradients of frozen layers. Models with other layers (batch normalization, average
//! pooling), a softmax before the last layer, or a last layer that is not a softmax or
//! linear Dense are trained by candle's automatic differentiation instead
//! ([`CpuTrainer::plan`] returns `None`). Both paths give the same loss and gradients:
//! see the tests.

use super::im2col::{col2im, im2col, ConvGeometry};
use super::matmul::{matmul, Op};
use super::max_pool::{max_pool_backward, max_pool_forward};
use super::simd::vectorized;
use super::workspace::Workspace;
use crate::layers::{AnyLayer, ConvParts, Param};
use crate::padding::AxisWindows;
use crate::{rng, Activation, Result, Sequential};
use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;
use std::time::Instant;

/// A model's layers, planned for the hand-written CPU step.
pub(crate) struct CpuTrainer {
    stages: Vec<Stage>,
    /// Outputs of the last layer per sample (the number of classes).
    classes: usize,
    /// Multiply-adds of one sample's forward pass (convolutions and dense layers).
    work_per_sample: usize,
    buffers: Buffers,
}

/// Scratch buffers reused from step to step: values, and pooling winners.
struct Buffers {
    floats: Workspace<f32>,
    indices: Workspace<u32>,
}

/// One layer of the plan.
struct Stage {
    /// The layer's name, e.g. `conv2d_1` (gradients are named `conv2d_1/kernel`).
    name: String,
    /// Whether the optimizer updates this layer (else its weight gradients are skipped).
    trainable: bool,
    /// Whether some layer before this one is trained, so its input gradient is needed.
    input_grad: bool,
    op: StageOp,
}

enum StageOp {
    Conv {
        geometry: ConvGeometry,
        filters: usize,
        kernel: Param,
        bias: Option<Param>,
        activation: Activation,
    },
    MaxPool {
        geometry: ConvGeometry,
    },
    Flatten,
    Dense {
        inputs: usize,
        units: usize,
        kernel: Param,
        bias: Option<Param>,
        activation: Activation,
    },
    Dropout {
        rate: f64,
        /// Keras shape of one sample, for drawing the mask in the internal layout's order.
        sample_shape: Vec<usize>,
    },
}

/// What a layer's forward pass keeps for its backward pass.
enum Saved {
    Nothing,
    /// A convolution's windows (im2col of its input).
    Conv {
        cols: Vec<f32>,
    },
    /// Each pooling output's winning input.
    Winners(Vec<u32>),
    /// The dropout factors: 0 for dropped inputs, `1 / (1 − rate)` for kept ones.
    Mask(Vec<f32>),
}

/// A layer's weights as the kernels use them, read once per step: a conv kernel as the
/// matrix `(rows · cols · channels, filters)` that multiplies im2col windows, a dense
/// kernel as stored `(features, units)`.
struct Weights {
    kernel: Vec<f32>,
    bias: Option<Vec<f32>>,
}

/// What one hand-written training step produced.
pub(crate) struct CpuStep {
    /// Mean cross-entropy over the batch.
    pub loss: f64,
    /// The last layer's scores before its activation, `(batch, classes)`.
    pub logits: Tensor,
    /// Gradients of the loss by weight name (`layer/kernel`), in the weights' stored
    /// layout; empty when the loss is not finite.
    pub grads: Vec<(String, Tensor)>,
    pub forward_s: f64,
    pub backward_s: f64,
}

/// A layer's input-to-output geometry from its window plan.
#[allow(clippy::too_many_arguments)]
fn geometry(
    input: &[usize],
    output: &[usize],
    kernel: (usize, usize),
    strides: (usize, usize),
    dilation: usize,
    rows: &AxisWindows,
    cols: &AxisWindows,
) -> ConvGeometry {
    ConvGeometry {
        in_rows: input[0],
        in_cols: input[1],
        channels: input[2],
        out_rows: output[0],
        out_cols: output[1],
        kernel_rows: kernel.0,
        kernel_cols: kernel.1,
        stride_rows: strides.0,
        stride_cols: strides.1,
        dilation,
        pad_top: rows.pad_before,
        pad_left: cols.pad_before,
    }
}

/// Whether a weight is stored as f32 (the hand-written kernels' type).
fn is_f32(param: &Param) -> bool {
    param.var().dtype() == DType::F32
}

impl CpuTrainer {
    /// Plan `model` for the hand-written step, or `None` when it needs candle's generic
    /// path (not on the CPU, a layer or activation not covered, or weights not f32) or
    /// when the environment variable `CNN_COURSE_CPU_STEP` is `off` (for comparisons).
    pub(crate) fn plan(model: &Sequential) -> Option<CpuTrainer> {
        let switched_off = std::env::var("CNN_COURSE_CPU_STEP").is_ok_and(|v| v == "off");
        if switched_off || !model.device().is_cpu() {
            return None;
        }
        let layers = model.layer_slice();
        let last = layers.len().checked_sub(1)?;
        let mut stages = Vec::with_capacity(layers.len());
        let mut trained_before = false;
        for (i, layer) in layers.iter().enumerate() {
            let (input, output) = (&layer.input_shape, &layer.output_shape);
            let hidden_activation_ok = |a: Activation| i == last || a != Activation::Softmax;
            let op = match &layer.layer {
                AnyLayer::Conv2D(conv) => {
                    let ConvParts {
                        kernel,
                        bias,
                        strides,
                        dilation,
                        rows,
                        cols,
                        activation,
                    } = conv.parts()?;
                    let (filters, _, kernel_rows, kernel_cols) = kernel.var().dims4().ok()?;
                    if !hidden_activation_ok(activation) || !is_f32(&kernel) {
                        return None;
                    }
                    StageOp::Conv {
                        geometry: geometry(
                            input,
                            output,
                            (kernel_rows, kernel_cols),
                            (strides.rows, strides.cols),
                            dilation,
                            &rows,
                            &cols,
                        ),
                        filters,
                        kernel,
                        bias,
                        activation,
                    }
                }
                AnyLayer::MaxPool2D(pool) => {
                    let (size, strides, rows, cols) = pool.parts()?;
                    StageOp::MaxPool {
                        geometry: geometry(
                            input,
                            output,
                            (size.rows, size.cols),
                            (strides.rows, strides.cols),
                            1,
                            &rows,
                            &cols,
                        ),
                    }
                }
                AnyLayer::Flatten(_) => StageOp::Flatten,
                AnyLayer::Dense(dense) => {
                    let (kernel, bias, activation) = dense.parts()?;
                    if !hidden_activation_ok(activation) || !is_f32(&kernel) {
                        return None;
                    }
                    StageOp::Dense {
                        inputs: input[0],
                        units: output[0],
                        kernel,
                        bias,
                        activation,
                    }
                }
                AnyLayer::Dropout(dropout) => StageOp::Dropout {
                    rate: dropout.rate(),
                    sample_shape: input.clone(),
                },
                AnyLayer::AvgPool2D(_) | AnyLayer::BatchNormalization(_) => return None,
            };
            let has_weights = matches!(op, StageOp::Conv { .. } | StageOp::Dense { .. });
            stages.push(Stage {
                name: layer.name.clone(),
                trainable: layer.trainable,
                input_grad: trained_before,
                op,
            });
            trained_before |= has_weights && layer.trainable;
        }
        // The loss works from the last layer's scores: a softmax or linear Dense.
        match &stages[last].op {
            StageOp::Dense {
                activation: Activation::Softmax | Activation::Linear,
                units,
                ..
            } => {
                let classes = *units;
                let buffers = Buffers {
                    floats: Workspace::new(),
                    indices: Workspace::new(),
                };
                let work_per_sample = stages.iter().map(Stage::work_per_sample).sum();
                Some(CpuTrainer {
                    stages,
                    classes,
                    work_per_sample,
                    buffers,
                })
            }
            _ => None,
        }
    }

    /// One training step on a batch (internal layout) with one-hot labels: forward pass,
    /// loss and gradients. The weights are not changed.
    ///
    /// The batch is cut into pieces of [`PIECE`] samples, each run forward and backward
    /// on one thread; their weight gradients are summed.
    pub(crate) fn step(&self, x: &Tensor, labels: &Tensor) -> Result<CpuStep> {
        let started = Instant::now();
        let batch = x.dims()[0];
        let input = keras_values(x)?;
        let labels = labels.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        // Dropout masks are drawn for the whole batch, in the same order as candle's path.
        let masks: Vec<Option<Vec<f32>>> = self.stages.iter().map(|s| s.dropout_mask(batch)).collect();
        let weights = self.weights()?;
        let run_piece = |(start, n): (usize, usize)| {
            let slice = |v| samples(v, batch, start, n);
            let piece_masks: Vec<Option<&[f32]>> = masks.iter().map(|m| m.as_deref().map(slice)).collect();
            self.piece_step(slice(&input), slice(&labels), &piece_masks, &weights, batch)
        };
        let pieces = self.run_pieces(batch, run_piece)?;
        // Sum the pieces: loss, gradients; the logits in sample order.
        let loss = pieces.iter().map(|p| p.loss_sum).sum::<f64>() / batch as f64;
        let logits: Vec<f32> = pieces.iter().flat_map(|p| p.logits.iter().copied()).collect();
        let (busy_forward, busy_backward) = pieces
            .iter()
            .fold((0.0, 0.0), |(f, b), p| (f + p.forward_s, b + p.backward_s));
        let mut pieces = pieces.into_iter();
        let mut grads = pieces.next().map(|p| p.grads).unwrap_or_default();
        for piece in pieces {
            for (sum, more) in grads.iter_mut().zip(piece.grads) {
                sum.values.iter_mut().zip(&more.values).for_each(|(a, b)| *a += b);
            }
        }
        let grads = match loss.is_finite() {
            true => grads
                .into_iter()
                .map(|g| {
                    let values = match g.matrix_of {
                        Some((filters, geometry)) => stored_kernel(&g.values, filters, &geometry),
                        None => g.values,
                    };
                    Ok((g.name, Tensor::from_vec(values, g.shape, &Device::Cpu)?))
                })
                .collect::<Result<Vec<_>>>()?,
            false => Vec::new(),
        };
        // The pieces ran side by side: split the time in proportion to their own.
        let wall = started.elapsed().as_secs_f64();
        let forward_share = busy_forward / (busy_forward + busy_backward).max(f64::MIN_POSITIVE);
        Ok(CpuStep {
            loss,
            logits: Tensor::from_vec(logits, (batch, self.classes), &Device::Cpu)?,
            grads,
            forward_s: wall * forward_share,
            backward_s: wall * (1.0 - forward_share),
        })
    }

    /// Forward and backward pass of one piece of a batch of `batch` samples.
    fn piece_step(
        &self,
        input: &[f32],
        labels: &[f32],
        masks: &[Option<&[f32]>],
        weights: &[Option<Weights>],
        batch: usize,
    ) -> Result<Piece> {
        let started = Instant::now();
        let n = labels.len() / self.classes;
        let (outputs, saved) = self.forward(input, n, Some(masks), weights)?;
        let logits = outputs.last().expect("the plan has layers").clone();
        let (loss_sum, dlogits) = softmax_cross_entropy(&logits, labels, self.classes, batch);
        let forward_s = started.elapsed().as_secs_f64();
        // Back through the layers, last to first, until no earlier layer needs a gradient.
        let mut grads = Vec::new();
        let mut dy = dlogits;
        let mut saved = saved;
        while let Some(keep) = saved.pop() {
            let i = saved.len();
            let (x, y) = (&outputs[i], &outputs[i + 1]);
            let weights = weights[i].as_ref();
            let dx = self.stages[i].backward(&self.buffers, n, x, y, keep, weights, &mut dy, &mut grads)?;
            let Some(dx) = dx else { break };
            self.buffers.floats.give(std::mem::replace(&mut dy, dx));
        }
        self.buffers.floats.give(dy);
        self.recycle(outputs, saved);
        Ok(Piece {
            loss_sum,
            logits,
            grads,
            forward_s,
            backward_s: started.elapsed().as_secs_f64() - forward_s,
        })
    }

    /// The last layer's scores before its activation, `(batch, classes)`, for a batch in
    /// the internal layout (inference: dropout off).
    pub(crate) fn logits(&self, x: &Tensor) -> Result<Tensor> {
        let batch = x.dims()[0];
        let input = keras_values(x)?;
        let weights = self.weights()?;
        let pieces = self.run_pieces(batch, |(start, n)| {
            let (outputs, saved) = self.forward(samples(&input, batch, start, n), n, None, &weights)?;
            let logits = outputs.last().expect("the plan has layers").clone();
            self.recycle(outputs, saved);
            Ok(logits)
        })?;
        Ok(Tensor::from_vec(pieces.concat(), (batch, self.classes), &Device::Cpu)?)
    }

    /// `run` on each piece of a batch, in sample order: side by side on the cores, or on
    /// the calling thread when the whole batch is less work than handing pieces to other
    /// threads costs (measured: a dense 784-10-10-3 model trained 0.7× as fast as
    /// through candle when its pieces of 5 samples went to two threads).
    fn run_pieces<T: Send>(
        &self,
        batch: usize,
        run: impl Fn((usize, usize)) -> Result<T> + Sync + Send,
    ) -> Result<Vec<T>> {
        /// Multiply-adds of a batch below which it runs on one thread.
        const WORTH_THREADS: usize = 2_000_000;
        match batch * self.work_per_sample >= WORTH_THREADS {
            true => pieces(batch).into_par_iter().map(run).collect(),
            false => pieces(batch).into_iter().map(run).collect(),
        }
    }

    /// Every layer's current weights (`None` for layers without).
    fn weights(&self) -> Result<Vec<Option<Weights>>> {
        let bias_values = |bias: &Option<Param>| bias.as_ref().map(values).transpose();
        self.stages
            .iter()
            .map(|stage| match &stage.op {
                StageOp::Conv {
                    geometry,
                    filters,
                    kernel,
                    bias,
                    ..
                } => Ok(Some(Weights {
                    kernel: kernel_matrix(&values(kernel)?, *filters, geometry),
                    bias: bias_values(bias)?,
                })),
                StageOp::Dense { kernel, bias, .. } => Ok(Some(Weights {
                    kernel: values(kernel)?,
                    bias: bias_values(bias)?,
                })),
                _ => Ok(None),
            })
            .collect()
    }

    /// Give a step's buffers back for the next step.
    fn recycle(&self, outputs: Vec<Vec<f32>>, saved: Vec<Saved>) {
        outputs.into_iter().for_each(|b| self.buffers.floats.give(b));
        for keep in saved {
            match keep {
                Saved::Conv { cols } => self.buffers.floats.give(cols),
                Saved::Winners(winners) => self.buffers.indices.give(winners),
                Saved::Nothing | Saved::Mask(_) => {}
            }
        }
    }

    /// Every layer's output for `n` samples (the input first) and what each keeps for the
    /// backward pass. Training when dropout `masks` (one entry per layer) are given. The
    /// last layer's activation is left out: its output is the logits.
    fn forward(
        &self,
        input: &[f32],
        n: usize,
        masks: Option<&[Option<&[f32]>]>,
        weights: &[Option<Weights>],
    ) -> Result<(Vec<Vec<f32>>, Vec<Saved>)> {
        let mut outputs = Vec::with_capacity(self.stages.len() + 1);
        let mut saved = Vec::with_capacity(self.stages.len());
        outputs.push(copied(&self.buffers, input));
        let last = self.stages.len() - 1;
        for (i, stage) in self.stages.iter().enumerate() {
            let x = outputs.last().expect("starts with the input");
            let mask = masks.and_then(|m| m[i]);
            let train = masks.is_some();
            let (y, keep) = stage.forward(&self.buffers, n, x, weights[i].as_ref(), mask, train, i == last)?;
            outputs.push(y);
            saved.push(keep);
        }
        Ok((outputs, saved))
    }
}

/// Samples per piece of a batch, at most: each piece runs on one thread, and its feature
/// maps stay in the processor's cache (the seed convnet: about 0.6 MB per sample).
const PIECE: usize = 8;

/// `(first sample, samples)` of each piece of a batch: at least one piece per thread
/// (when there are enough samples), all of nearly the same size.
fn pieces(batch: usize) -> Vec<(usize, usize)> {
    let count = batch
        .div_ceil(PIECE)
        .max(rayon::current_num_threads().min(batch))
        .max(1);
    let (size, longer) = (batch / count, batch % count);
    let mut start = 0;
    (0..count)
        .map(|i| {
            let n = size + usize::from(i < longer);
            start += n;
            (start - n, n)
        })
        .collect()
}

/// What one piece of a batch produced.
struct Piece {
    /// Sum (not mean) of the piece's sample losses.
    loss_sum: f64,
    logits: Vec<f32>,
    grads: Vec<Gradient>,
    forward_s: f64,
    backward_s: f64,
}

/// A weight's gradient: its name (`layer/kernel`), values and shape (stored layout).
struct Gradient {
    name: String,
    values: Vec<f32>,
    shape: Vec<usize>,
    /// For a conv kernel: its filters and geometry while the values are in matrix layout.
    matrix_of: Option<(usize, ConvGeometry)>,
}

/// Samples `start..start + n` of a buffer holding a whole batch of `batch` samples.
fn samples(values: &[f32], batch: usize, start: usize, n: usize) -> &[f32] {
    let per_sample = values.len() / batch.max(1);
    &values[start * per_sample..(start + n) * per_sample]
}

/// A batch in the internal layout as values in Keras (NHWC) order.
fn keras_values(x: &Tensor) -> Result<Vec<f32>> {
    Ok(crate::arrays::to_keras(x)?
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// A weight's values as a flat vector (stored layout).
fn values(param: &Param) -> Result<Vec<f32>> {
    Ok(param.var().as_tensor().flatten_all()?.to_vec1::<f32>()?)
}

/// Visit every kernel weight's place in the two layouts: `visit(index stored (filters,
/// channels, rows, cols), index in the matrix (rows · cols · channels, filters))`.
fn for_each_kernel_position(filters: usize, g: &ConvGeometry, mut visit: impl FnMut(usize, usize)) {
    let (c, kh, kw) = (g.channels, g.kernel_rows, g.kernel_cols);
    let mut stored = 0;
    for f in 0..filters {
        for ch in 0..c {
            for r in 0..kh {
                for col in 0..kw {
                    visit(stored, ((r * kw + col) * c + ch) * filters + f);
                    stored += 1;
                }
            }
        }
    }
}

/// A conv kernel as stored, as the matrix `(rows · cols · channels, filters)` that
/// multiplies im2col windows.
fn kernel_matrix(stored: &[f32], filters: usize, g: &ConvGeometry) -> Vec<f32> {
    let mut matrix = vec![0f32; stored.len()];
    for_each_kernel_position(filters, g, |s, m| matrix[m] = stored[s]);
    matrix
}

/// The inverse of [`kernel_matrix`], for the kernel's gradient.
fn stored_kernel(matrix: &[f32], filters: usize, g: &ConvGeometry) -> Vec<f32> {
    let mut stored = vec![0f32; matrix.len()];
    for_each_kernel_position(filters, g, |s, m| stored[s] = matrix[m]);
    stored
}

/// Add a bias to every row of `z` (rows of `bias.len()` values), then apply `activation`.
fn add_bias_and_activate(z: &mut [f32], bias: Option<&[f32]>, activation: Activation) {
    vectorized(
        #[inline(always)]
        || {
            if let Some(bias) = bias {
                for row in z.chunks_mut(bias.len()) {
                    row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
                }
            }
            match activation {
                Activation::Relu => z.iter_mut().for_each(|v| *v = v.max(0.0)),
                Activation::Sigmoid => z.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
                Activation::Tanh => z.iter_mut().for_each(|v| *v = v.tanh()),
                Activation::Linear | Activation::Softmax => {}
            }
        },
    )
}

/// Turn the gradient of an activation's output into that of its input, from the output `y`.
/// Where relu's input is exactly 0 its gradient is taken as 0, as in TensorFlow and PyTorch
/// (candle takes 1; the two differ only on that measure-zero set).
fn activation_backward(dy: &mut [f32], y: &[f32], activation: Activation) {
    vectorized(
        #[inline(always)]
        || match activation {
            Activation::Relu => dy
                .iter_mut()
                .zip(y)
                .for_each(|(d, &y)| *d = if y > 0.0 { *d } else { 0.0 }),
            Activation::Sigmoid => dy.iter_mut().zip(y).for_each(|(d, &y)| *d *= y * (1.0 - y)),
            Activation::Tanh => dy.iter_mut().zip(y).for_each(|(d, &y)| *d *= 1.0 - y * y),
            Activation::Linear | Activation::Softmax => {}
        },
    )
}

/// Sum of the rows of a `(rows, width)` matrix: a bias gradient.
fn column_sums(m: &[f32], width: usize) -> Vec<f32> {
    let mut sums = vec![0f32; width];
    vectorized(
        #[inline(always)]
        || {
            for row in m.chunks(width) {
                sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
        },
    );
    sums
}

/// Cross-entropy of softmax(`logits`) against `labels` (rows of `classes`), summed over
/// the rows, and its gradient with respect to the logits for the mean over a batch of
/// `batch` samples: `(softmax · Σ labels − labels) / batch`.
fn softmax_cross_entropy(logits: &[f32], labels: &[f32], classes: usize, batch: usize) -> (f64, Vec<f32>) {
    let mut grad = vec![0f32; logits.len()];
    let mut total = 0f64;
    for ((z, y), g) in logits
        .chunks(classes)
        .zip(labels.chunks(classes))
        .zip(grad.chunks_mut(classes))
    {
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum_exp: f32 = z.iter().map(|v| (v - max).exp()).sum();
        let log_sum = max + sum_exp.ln();
        let label_sum: f32 = y.iter().sum();
        for k in 0..classes {
            let log_p = z[k] - log_sum;
            total -= (y[k] * log_p) as f64;
            g[k] = (log_p.exp() * label_sum - y[k]) / batch as f32;
        }
    }
    (total, grad)
}

impl Stage {
    /// Multiply-adds of this layer's forward pass for one sample.
    fn work_per_sample(&self) -> usize {
        match &self.op {
            StageOp::Conv { geometry, filters, .. } => geometry.out_pixels() * geometry.window_len() * filters,
            StageOp::Dense { inputs, units, .. } => inputs * units,
            _ => 0,
        }
    }

    /// A dropout layer's factors for a training batch (none for other layers, or a rate of 0).
    fn dropout_mask(&self, batch: usize) -> Option<Vec<f32>> {
        match &self.op {
            StageOp::Dropout { rate, sample_shape } if *rate > 0.0 => Some(dropout_mask(batch, sample_shape, *rate)),
            _ => None,
        }
    }

    /// This layer's output for input `x` (`batch` samples), and what backward needs.
    /// `scores_only`: leave out the activation (the last layer, whose scores go to the loss).
    /// `mask`: this dropout layer's factors for these samples, when training.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &self,
        buffers: &Buffers,
        batch: usize,
        x: &[f32],
        weights: Option<&Weights>,
        mask: Option<&[f32]>,
        train: bool,
        scores_only: bool,
    ) -> Result<(Vec<f32>, Saved)> {
        let weights = || weights.expect("layers with weights get them");
        let activation_of = |a: Activation| if scores_only { Activation::Linear } else { a };
        Ok(match &self.op {
            StageOp::Conv {
                geometry: g,
                filters,
                activation,
                ..
            } => {
                let rows = batch * g.out_pixels();
                let mut cols = buffers.floats.take(rows * g.window_len());
                im2col(g, x, &mut cols);
                let Weights { kernel, bias } = weights();
                let mut y = buffers.floats.take(rows * filters);
                matmul(
                    (rows, g.window_len(), *filters),
                    &cols,
                    Op::Plain,
                    kernel,
                    Op::Plain,
                    &mut y,
                    false,
                );
                add_bias_and_activate(&mut y, bias.as_deref(), activation_of(*activation));
                let saved = match train {
                    true => Saved::Conv { cols },
                    false => {
                        buffers.floats.give(cols);
                        Saved::Nothing
                    }
                };
                (y, saved)
            }
            StageOp::MaxPool { geometry: g } => {
                let len = batch * g.out_pixels() * g.channels;
                let (mut y, mut winners) = (buffers.floats.take(len), buffers.indices.take(len));
                max_pool_forward(g, x, &mut y, &mut winners);
                (y, Saved::Winners(winners))
            }
            StageOp::Flatten => {
                let mut y = buffers.floats.take(x.len());
                y.copy_from_slice(x);
                (y, Saved::Nothing)
            }
            StageOp::Dense {
                inputs,
                units,
                activation,
                ..
            } => {
                let Weights { kernel, bias } = weights();
                let mut y = buffers.floats.take(batch * units);
                matmul((batch, *inputs, *units), x, Op::Plain, kernel, Op::Plain, &mut y, false);
                add_bias_and_activate(&mut y, bias.as_deref(), activation_of(*activation));
                (y, Saved::Nothing)
            }
            StageOp::Dropout { .. } => {
                let mut y = copied(buffers, x);
                match mask {
                    Some(mask) => {
                        y.iter_mut().zip(mask).for_each(|(v, m)| *v *= m);
                        (y, Saved::Mask(mask.to_vec()))
                    }
                    None => (y, Saved::Nothing),
                }
            }
        })
    }

    /// Given `dy`, the gradient of this layer's output `y` (for input `x`), push its weight
    /// gradients to `grads` and return the gradient of its input — `None` when no layer
    /// before this one needs it. `dy` may be overwritten.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        buffers: &Buffers,
        batch: usize,
        x: &[f32],
        y: &[f32],
        saved: Saved,
        weights: Option<&Weights>,
        dy: &mut [f32],
        grads: &mut Vec<Gradient>,
    ) -> Result<Option<Vec<f32>>> {
        let gradient = |weight: &str, values: Vec<f32>, shape: &[usize]| Gradient {
            name: format!("{}/{weight}", self.name),
            values,
            shape: shape.to_vec(),
            matrix_of: None,
        };
        // Empty for layers without weights (they do not use it).
        let kernel = weights.map(|w| w.kernel.as_slice()).unwrap_or_default();
        match (&self.op, saved) {
            (
                StageOp::Conv {
                    geometry: g,
                    filters,
                    bias,
                    activation,
                    ..
                },
                Saved::Conv { cols },
            ) => {
                activation_backward(dy, y, *activation);
                let (rows, window) = (batch * g.out_pixels(), g.window_len());
                // The kernel's gradient (windows × output gradient) and the windows'
                // gradient (output gradient × kernel).
                let kernel_grad = || {
                    self.trainable.then(|| {
                        let mut dkernel = vec![0f32; window * filters];
                        let dims = (window, rows, *filters);
                        matmul(dims, &cols, Op::Transposed, dy, Op::Plain, &mut dkernel, false);
                        dkernel
                    })
                };
                let windows_grad = || {
                    self.input_grad.then(|| {
                        let mut dcols = buffers.floats.take(cols.len());
                        let dims = (rows, *filters, window);
                        matmul(dims, dy, Op::Plain, kernel, Op::Transposed, &mut dcols, false);
                        dcols
                    })
                };
                let (dkernel, dcols) = (kernel_grad(), windows_grad());
                buffers.floats.give(cols);
                if let Some(stored) = dkernel {
                    let shape = [*filters, g.channels, g.kernel_rows, g.kernel_cols];
                    // In matrix layout until the pieces are summed (see `step`).
                    grads.push(Gradient {
                        matrix_of: Some((*filters, *g)),
                        ..gradient("kernel", stored, &shape)
                    });
                    if bias.is_some() {
                        grads.push(gradient("bias", column_sums(dy, *filters), &[*filters]));
                    }
                }
                let Some(dcols) = dcols else {
                    return Ok(None);
                };
                let mut dx = buffers.floats.take(x.len());
                col2im(g, &dcols, &mut dx);
                buffers.floats.give(dcols);
                Ok(Some(dx))
            }
            (StageOp::MaxPool { geometry: g }, Saved::Winners(winners)) => {
                let dx = self.input_grad.then(|| {
                    let mut dx = buffers.floats.take(x.len());
                    max_pool_backward(g, &winners, dy, &mut dx);
                    dx
                });
                buffers.indices.give(winners);
                Ok(dx)
            }
            (StageOp::Flatten, _) => Ok(self.input_grad.then(|| copied(buffers, dy))),
            (
                StageOp::Dense {
                    inputs,
                    units,
                    bias,
                    activation,
                    ..
                },
                _,
            ) => {
                activation_backward(dy, y, *activation);
                if self.trainable {
                    let mut dkernel = vec![0f32; inputs * units];
                    matmul(
                        (*inputs, batch, *units),
                        x,
                        Op::Transposed,
                        dy,
                        Op::Plain,
                        &mut dkernel,
                        false,
                    );
                    grads.push(gradient("kernel", dkernel, &[*inputs, *units]));
                    if bias.is_some() {
                        grads.push(gradient("bias", column_sums(dy, *units), &[*units]));
                    }
                }
                if !self.input_grad {
                    return Ok(None);
                }
                let mut dx = buffers.floats.take(batch * inputs);
                matmul(
                    (batch, *units, *inputs),
                    dy,
                    Op::Plain,
                    kernel,
                    Op::Transposed,
                    &mut dx,
                    false,
                );
                Ok(Some(dx))
            }
            (StageOp::Dropout { .. }, saved) => {
                if !self.input_grad {
                    return Ok(None);
                }
                if let Saved::Mask(mask) = saved {
                    dy.iter_mut().zip(&mask).for_each(|(d, m)| *d *= m);
                }
                Ok(Some(copied(buffers, dy)))
            }
            _ => unreachable!("each layer's forward pass saves what its backward pass reads"),
        }
    }
}

/// A copy of `values` in a buffer from the workspace.
fn copied(buffers: &Buffers, values: &[f32]) -> Vec<f32> {
    let mut copy = buffers.floats.take(values.len());
    copy.copy_from_slice(values);
    copy
}

/// Dropout factors for a batch in NHWC order, drawn from the model's generator in the
/// internal `(batch, channels, rows, cols)` order — the same draws as the layer's own
/// forward pass, so both paths drop the same inputs.
fn dropout_mask(batch: usize, sample_shape: &[usize], rate: f64) -> Vec<f32> {
    let len: usize = batch * sample_shape.iter().product::<usize>();
    let keep = rng::bernoulli(len, 1.0 - rate);
    let scale = (1.0 / (1.0 - rate)) as f32;
    let &[rows, cols, channels] = sample_shape else {
        return keep.iter().map(|k| k * scale).collect();
    };
    // `keep` runs over (sample, channel, pixel); the mask over (sample, pixel, channel).
    let pixels = rows * cols;
    let mut mask = vec![0f32; len];
    for (sample_keep, sample_mask) in keep.chunks(pixels * channels).zip(mask.chunks_mut(pixels * channels)) {
        for (ch, plane) in sample_keep.chunks(pixels).enumerate() {
            for (pixel, k) in plane.iter().enumerate() {
                sample_mask[pixel * channels + ch] = k * scale;
            }
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_batch_in_order_and_nearly_equal_sizes() {
        for batch in [1, 2, 7, 10, 32, 64, 100] {
            let pieces = pieces(batch);
            let mut next = 0;
            for &(start, n) in &pieces {
                assert_eq!(start, next, "batch {batch}: {pieces:?}");
                assert!((1..=PIECE).contains(&n), "batch {batch}: {pieces:?}");
                next += n;
            }
            assert_eq!(next, batch);
            let sizes: Vec<usize> = pieces.iter().map(|p| p.1).collect();
            assert!(
                sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
                "{sizes:?}"
            );
        }
        // Batch 10 on two threads: two pieces of 5, not 8 + 2.
        if rayon::current_num_threads() == 2 {
            assert_eq!(pieces(10), vec![(0, 5), (5, 5)]);
        }
    }
}
