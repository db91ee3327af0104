//! The engine: runs a model's layers forward and backward over a batch, on a backend.
//!
//! It knows nothing about any particular layer. A training step:
//!
//! 1. reads every layer's weights once, and draws the step's random values (dropout);
//! 2. cuts the batch into pieces of 4 to 8 samples, up to 32 for a model whose weights
//!    outnumber its feature maps ([`piece_size`], [`WIDE_PIECE`]), and on the CPU runs the
//!    pieces side by side, each on one core, forward through every layer, through the loss
//!    and back, so that a piece's feature maps stay in that core's cache (only those a
//!    backward pass reads wait for it: [`Layer::backward_reads`]). The pieces depend
//!    on the batch size and the machine's core count, not on how many threads run them,
//!    so on one machine the same seed gives the same bits with any number of threads;
//! 3. where a layer needs sums over the whole batch (batch normalization), lets every piece
//!    reach that layer first, each computing its share of the sums while its feature maps
//!    are still in its core's cache, adds the shares in piece order, and goes on: the
//!    step runs in [`Phase`]s, with the same threads throughout ([`run_phases`]);
//! 4. adds the pieces' weight gradients in piece order.
//!
//! On another device the whole batch is one piece.

use crate::backend::Backend;
use crate::device::available_memory;
use crate::layers::{Kept, Layer, Needs, Pass, Reads, SumsFor, Weight};
use crate::losses::{loss_step, Head};
use crate::model::ModelLayer;
use crate::training::phases::run_phases;
use crate::{bail, Result};
use candle_core::Tensor;

/// Samples per piece of a batch, at most (the seed convnet keeps about 0.6 MB of feature
/// maps per sample: 8 samples fit in a core's cache).
pub(crate) const PIECE: usize = 8;

/// Samples per piece, at most, for a *wide* model: one whose weights outnumber the feature
/// maps of [`PIECE`] samples (a wide Dense layer, as in chapter 6). Every piece reads all
/// the weights and writes its own copy of their gradients, so for such a model fewer,
/// larger pieces move less memory than pieces that fit in cache. Measured on a 2-core AMD
/// EPYC (3 alternating runs each, batch 32 unless said): the chapter-6 MLP 3072-200-3
/// trained at 3,971–4,525 samples/s in pieces of 16 against 3,088–3,663 in pieces of 8,
/// the chapter-6 CNN with Dense(500) at 2,307–2,590 against 1,859–2,164, and at
/// 3,018–3,414 against 2,244–2,660 at batch 64 (pieces of 32); the seed convnet, not
/// wide, was slower in pieces of 32 (3,075–3,278 against 2,915–3,992 at batch 64).
pub(crate) const WIDE_PIECE: usize = 32;

/// Samples per piece, at least, where cores would otherwise sit idle (thinner pieces make
/// thinner matrix products).
const SMALLEST_PIECE: usize = 4;

/// Samples per piece of a `batch` on a machine of `cores` cores, for pieces of at most
/// `largest` samples ([`PIECE`], or [`WIDE_PIECE`] for a wide model): `largest`, or fewer,
/// down to [`SMALLEST_PIECE`], so that every core gets a piece. Batch 64 is 8 pieces of 8
/// on up to 8 cores and 16 pieces of 4 on 16. Measured on a 16-core Xeon with AVX2 (seed
/// convnet, 5–7 runs each): on 16 cores pieces of 4 trained at 14,400–19,100 samples/s
/// against 9,300–12,500 for pieces of 8, while on 2 and 4 cores they were 3–5 % slower.
pub(crate) fn piece_size(batch: usize, cores: usize, largest: usize) -> usize {
    batch
        .div_ceil(cores.max(1))
        .clamp(SMALLEST_PIECE, largest.max(SMALLEST_PIECE))
}

/// Multiply-adds of a batch below which its pieces run one after the other on the calling
/// thread: handing them to other threads would cost more. With the other threads staying
/// awake between steps ([`run_phases`]), the dense 784-10-10-3 model (80,000 multiply-adds
/// at batch 10, 255,000 at batch 32) trained 0.84× / 0.89× as fast on two threads, while
/// the four chapter 3–5 convnets whose batch of 10 was under the old threshold (811,000
/// for Conv(10,3)-Dense to 1,130,000 for Conv-Pool-Conv-Pool-Dense) trained 1.52–1.72× as
/// fast (medians of 3 alternating runs, AVX2 build, 2-core Intel VM; the threshold was
/// 2,000,000 while the threads slept between steps).
const WORTH_THREADS: usize = 500_000;

/// `$body` with `$engine` bound to an [`Engine`] for `$model`'s layers: on the CPU kernels
/// when the model lives on the CPU, on candle's operations on its device otherwise.
macro_rules! with_engine {
    ($model:expr, |$engine:ident| $body:expr) => {
        match $model.on_host() {
            true => {
                let $engine =
                    $crate::training::engine::Engine::new($crate::backend::Host::new(), $model.layer_slice(), true);
                $body
            }
            false => {
                let $engine = $crate::training::engine::Engine::new(
                    $crate::backend::OnDevice::new($model.device()),
                    $model.layer_slice(),
                    false,
                );
                $body
            }
        }
    };
}
pub(crate) use with_engine;

/// Per layer, the batch sums it asked for (batch norm), once every piece has reached it.
type LayerSums = [Option<Vec<f64>>];

/// A model's layers planned for a backend.
pub(crate) struct Engine<'m, B: Backend> {
    backend: B,
    layers: &'m [ModelLayer],
    /// Per layer: whether it runs in training mode during training (a frozen batch norm
    /// does not), and which gradients its backward pass produces.
    modes: Vec<bool>,
    needs: Vec<Needs>,
    /// Whether each layer's backward pass runs at all (some layer at or before it trains).
    backward: Vec<bool>,
    /// Per layer, whether its input waits for the backward pass in training: it does where
    /// the layer's or the previous layer's backward pass reads it, or where this engine
    /// computes the layer's backward batch sums from it. Freed as soon as the layer has
    /// run otherwise (batch norm's output, read by neither batch norm's nor max pooling's
    /// backward pass): chapter 5's Conv(16,3)-BatchNorm-Pool-Dense kept four pieces'
    /// worth of it through the step at batch 32, and trains 11 % faster without (one AMD
    /// EPYC core).
    keep_input: Vec<bool>,
    work_per_sample: usize,
    /// Values of every layer's output, per sample.
    maps_per_sample: u128,
    /// Values of the weight gradients a step produces (the trained layers' trainable weights).
    gradient_values: usize,
    /// Run the pieces on the CPU's cores (the host backend).
    parallel: bool,
    /// The machine's cores, which set the size of the pieces.
    cores: usize,
    /// Samples per piece at most: [`PIECE`], or [`WIDE_PIECE`] for a wide model.
    largest_piece: usize,
}

/// A phase of a training step: what each piece does before all pieces meet.
#[derive(Clone, Copy)]
enum Phase {
    /// Layers `from..to` forward, then this piece's share of layer `to`'s batch sums.
    ToSums { from: usize, to: usize },
    /// With `forward`, layers `forward..` forward and the loss; then layers `high` down
    /// to `low` backward, then this piece's share of layer `below`'s gradient sums.
    Back {
        forward: Option<usize>,
        low: usize,
        high: usize,
        below: Option<usize>,
    },
}

/// What a training step produced.
pub(crate) struct StepOutcome {
    /// Mean loss over the batch.
    pub loss: f64,
    /// Correct answers (samples, or fractions of samples for binary losses).
    pub correct: f64,
    /// Each trainable weight of a trainable layer with its gradient.
    pub gradients: Vec<(String, Weight, Tensor)>,
    /// The forward batch sums of the layers that asked for them (for `finish_step`).
    pub sums: Vec<Option<Vec<f64>>>,
}

/// One piece of a batch while a step runs.
struct Piece<B: Backend> {
    /// Position of its first sample in the batch, and its samples.
    first: usize,
    n: usize,
    /// `outputs[0]` is the input, `outputs[l + 1]` the output of layer `l`.
    outputs: Vec<Option<B::Buf>>,
    kept: Vec<Option<Kept<B>>>,
    /// The gradient at the output of the next layer the backward pass reaches.
    dy: Option<B::Buf>,
    /// Per layer, the gradients of its trainable weights.
    grads: Vec<Vec<B::Buf>>,
    /// Per layer, this piece's share of the batch's sums (batch norm): the forward share
    /// until the batch's total is made, then the gradient share, kept for the layer's
    /// backward pass.
    shares: Vec<Option<Vec<f64>>>,
    loss: f64,
    correct: f64,
}

/// Sizes `(first sample, samples)` of the pieces of a batch: as few as possible of at most
/// `piece` samples, all of nearly the same size.
pub(crate) fn pieces(batch: usize, piece: usize) -> Vec<(usize, usize)> {
    let count = batch.div_ceil(piece.max(1)).max(1);
    let (size, longer) = (batch / count, batch % count);
    let mut first = 0;
    (0..count)
        .map(|i| {
            let n = size + usize::from(i < longer);
            first += n;
            (first - n, n)
        })
        .collect()
}

/// What the step's layers receive besides their input, fixed for a whole step.
struct StepInputs<'a, B: Backend> {
    weights: &'a [Vec<B::Buf>],
    draws: &'a [Option<Vec<f32>>],
    batch: usize,
    train: bool,
    /// Where the loss reads the last layer: its scores (no activation) or its output.
    head: Option<Head>,
}

impl<'m, B: Backend> Engine<'m, B> {
    /// Plan `layers` for `backend`; `parallel` runs pieces on the CPU's cores.
    pub(crate) fn new(backend: B, layers: &'m [ModelLayer], parallel: bool) -> Self {
        let mut trained_before = false;
        let (mut modes, mut needs, mut backward) = (Vec::new(), Vec::new(), Vec::new());
        let mut gradient_values = 0;
        // In u128, so that no size a learner can set wraps around.
        let mut weight_values: u128 = 0;
        for layer in layers {
            let weights = layer.layer.weights();
            weight_values += weights.iter().map(|w| w.param.elem_count() as u128).sum::<u128>();
            let has_trainable = weights.iter().any(|w| w.trainable);
            modes.push(layer.trainable || !layer.layer.inference_when_frozen());
            let trains = has_trainable && layer.trainable;
            if trains {
                let values = weights.iter().filter(|w| w.trainable).map(|w| w.param.elem_count());
                gradient_values += values.sum::<usize>();
            }
            needs.push(Needs {
                input: trained_before,
                weights: trains,
            });
            trained_before |= trains;
            backward.push(trained_before);
        }
        let reads: Vec<Reads> = layers.iter().map(|l| l.layer.backward_reads()).collect();
        let keep_input = (0..layers.len())
            .map(|l| {
                let summed = backward[l] && layers[l].layer.needs_sums(SumsFor::Backward, modes[l]);
                let read_here = summed || backward[l] && reads[l].input;
                let read_before = l > 0 && backward[l - 1] && reads[l - 1].output;
                read_here || read_before
            })
            .collect();
        let work_per_sample = layers.iter().map(|l| l.layer.work_per_sample()).sum();
        // In u128, so that no size a learner can set wraps around.
        let maps_per_sample: u128 = layers
            .iter()
            .map(|l| l.output_shape.iter().map(|&d| d as u128).product::<u128>())
            .sum();
        let wide = weight_values > maps_per_sample * PIECE as u128;
        Engine {
            backend,
            layers,
            modes,
            needs,
            backward,
            keep_input,
            work_per_sample,
            maps_per_sample,
            gradient_values,
            parallel,
            cores: crate::device::cores(),
            largest_piece: if wide { WIDE_PIECE } else { PIECE },
        }
    }

    pub(crate) fn backend(&self) -> &B {
        &self.backend
    }

    /// Bytes a step over `batch` samples allocates, as `(feature maps, weight gradients)`:
    /// every layer's output for each sample (three times when training: the output, what
    /// the backward pass keeps of it, and its gradient) and, when training, the gradients
    /// of the trained weights once per piece of the batch, plus four copies more: the
    /// weights as the step reads them, the summed gradients handed to the optimizer, and
    /// up to two optimizer averages (Adam's `m` and `v`).
    /// In u128, so that no size a learner can set wraps around.
    pub(crate) fn step_bytes(&self, batch: usize, train: bool) -> (u128, u128) {
        let (copies, gradient_copies) = match train {
            true => (3, pieces(batch, self.piece_size(batch)).len() as u128 + 4),
            false => (1, 0),
        };
        (
            4 * copies * batch as u128 * self.maps_per_sample,
            4 * gradient_copies * self.gradient_values as u128,
        )
    }

    /// An error, for `what` (`fit`, `predict`, …), when a step over `batch` samples would
    /// need more memory than `device` has: the allocation would abort the notebook's
    /// process and lose every variable in it.
    pub(crate) fn check_memory(&self, what: &str, batch: usize, train: bool) -> Result<()> {
        let (maps, gradients) = self.step_bytes(batch, train);
        let (place, available) = available_memory(&self.backend.device());
        if maps + gradients <= available as u128 {
            return Ok(());
        }
        let gb = |bytes: u128| bytes as f64 / 1e9;
        let (needs, hint) = match train {
            true => (
                format!("a training step over a batch of {batch} needs about {:.1} GB ({:.1} GB of feature maps, {:.1} GB of weight gradients and optimizer state)", gb(maps + gradients), gb(maps), gb(gradients)),
                "use a smaller batch_size, or a smaller model (pooling shrinks the feature maps and the Dense layer after Flatten)",
            ),
            false => (
                format!("the feature maps of {batch} sample{} need about {:.1} GB", if batch == 1 { "" } else { "s" }, gb(maps)),
                "pass fewer samples at a time, e.g. x.slice(s![..10, .., .., ..])",
            ),
        };
        bail!(
            Shape,
            "{what}: {needs}, and {place} has {:.1} GB available; hint: {hint}",
            gb(available as u128)
        );
    }

    /// Every layer's current weights, as the backend holds them.
    fn weights(&self) -> Result<Vec<Vec<B::Buf>>> {
        self.layers
            .iter()
            .map(|l| {
                l.layer
                    .weights()
                    .iter()
                    .map(|w| self.backend.load(&w.param.get()))
                    .collect()
            })
            .collect()
    }

    /// Samples per piece of `batch`: the whole batch on another device; on the CPU pieces
    /// of the largest size when they run one after the other (smaller pieces would only
    /// add overhead: the chapter-2 dense model trained 25 % slower in pieces of 4), and
    /// [`piece_size`] for the machine's cores when they run side by side.
    fn piece_size(&self, batch: usize) -> usize {
        match (self.parallel, self.side_by_side(batch)) {
            (false, _) => batch.max(1),
            (true, false) => self.largest_piece,
            (true, true) => piece_size(batch, self.cores, self.largest_piece),
        }
    }

    /// Whether a batch's pieces run side by side on the CPU's cores: only when its work
    /// pays for handing pieces to other threads. Fixed by the model and the batch size.
    fn side_by_side(&self, batch: usize) -> bool {
        self.parallel && batch.saturating_mul(self.work_per_sample) >= WORTH_THREADS
    }

    /// Run `work` on one of the thread pool's threads when batches of `batch` samples run
    /// their pieces side by side, so that a whole epoch's steps (the runs over the pieces,
    /// the gradient sums, the optimizer's update) are handed to the pool once rather than
    /// one by one; on a thread of the pool, `work` runs at once. A thread outside the pool
    /// that hands work over sleeps until it is done, and each hand-over cost about 100 µs
    /// on a 2-core Intel VM, where a model with batch norm made three a step. Handed over
    /// once an epoch, the seed convnet with two BatchNorm layers trained at 8,364 samples/s
    /// instead of 7,896 at batch 32, and chapter 6's MLP, whose optimizer update was one
    /// more, at 12,159 instead of 11,206 (medians of 3 alternating runs).
    pub(crate) fn in_pool<R: Send>(&self, batch: usize, work: impl FnOnce() -> R + Send) -> R {
        match self.side_by_side(batch) {
            true => rayon::scope(|_| work()),
            false => work(),
        }
    }

    /// Threads that run the pieces of a batch: the pool's when they run side by side,
    /// the calling thread alone otherwise.
    fn threads(&self, batch: usize) -> usize {
        match self.side_by_side(batch) {
            true => rayon::current_num_threads(),
            false => 1,
        }
    }

    /// This piece's share of layer `s`'s batch sums, computed by the closure that produced
    /// its input (forward) or its output's gradient (backward), while they are in cache.
    fn share(
        &self,
        step: &StepInputs<B>,
        piece: &Piece<B>,
        (s, when): (usize, SumsFor),
        sums: (&LayerSums, &LayerSums),
    ) -> Result<Vec<f64>> {
        let pass = self.pass(step, (piece.first, piece.n), s, sums);
        let Some(x) = piece.outputs[s].as_ref() else {
            bail!(Internal, "engine: layer {s}'s input is missing for its batch sums");
        };
        self.layers[s].layer.batch_sums(when, &pass, x, piece.dy.as_ref())
    }

    /// The pieces' shares of layer `s`'s sums added in piece order (so the total does not
    /// depend on which core finished first). Forward shares are used up; backward shares
    /// stay with their pieces.
    fn add_shares(pieces: &mut [&mut Piece<B>], s: usize, when: SumsFor) -> Vec<f64> {
        let mut total: Vec<f64> = Vec::new();
        for piece in pieces.iter_mut() {
            let share = match when {
                SumsFor::Forward => piece.shares[s].take(),
                SumsFor::Backward => piece.shares[s].clone(),
            };
            let share = share.unwrap_or_default();
            match total.is_empty() {
                true => total = share,
                false => total.iter_mut().zip(&share).for_each(|(t, m)| *t += m),
            }
        }
        total
    }

    fn pass<'a>(
        &'a self,
        step: &'a StepInputs<'a, B>,
        (first, n): (usize, usize),
        l: usize,
        sums: (&'a LayerSums, &'a LayerSums),
    ) -> Pass<'a, B> {
        let drawn = step.draws[l].as_deref().map(|d| {
            let per_sample = d.len() / step.batch.max(1);
            &d[first * per_sample..(first + n) * per_sample]
        });
        Pass {
            backend: &self.backend,
            n,
            train: step.train && self.modes[l],
            weights: &step.weights[l],
            drawn,
            sums: sums.0[l].as_deref(),
            grad_sums: sums.1[l].as_deref(),
            grad_share: None,
            scores_only: l + 1 == self.layers.len() && step.head.is_some_and(Head::takes_scores),
        }
    }

    /// Layers `range` forward on one piece, keeping each layer's input where `keep_input`
    /// says so.
    fn forward_layers(
        &self,
        step: &StepInputs<B>,
        piece: &mut Piece<B>,
        range: std::ops::Range<usize>,
        (sums, keep_input): (&[Option<Vec<f64>>], &[bool]),
    ) -> Result<()> {
        let none = vec![None; self.layers.len()];
        for l in range {
            let pass = self.pass(step, (piece.first, piece.n), l, (sums, &none));
            let Some(x) = piece.outputs[l].as_ref() else {
                bail!(Internal, "engine: layer {l}'s input is missing");
            };
            let (y, kept) = self.layers[l]
                .layer
                .forward(&pass, x)
                .map_err(|e| e.context(&self.layers[l].name))?;
            piece.outputs[l + 1] = Some(y);
            piece.kept[l] = Some(kept);
            if !keep_input[l] {
                piece.outputs[l] = None;
            }
        }
        Ok(())
    }

    /// Layers `low..=high` backward on one piece, from `piece.dy`, while some layer still
    /// needs a gradient.
    fn backward_layers(
        &self,
        step: &StepInputs<B>,
        piece: &mut Piece<B>,
        (low, high): (usize, usize),
        sums: (&LayerSums, &LayerSums),
    ) -> Result<()> {
        for l in (low..=high).rev() {
            if !self.backward[l] {
                break;
            }
            let share = piece.shares[l].take();
            let mut pass = self.pass(step, (piece.first, piece.n), l, sums);
            pass.grad_share = share.as_deref();
            let (Some(kept), Some(dy)) = (piece.kept[l].take(), piece.dy.take()) else {
                bail!(Internal, "engine: layer {l}'s backward pass lacks its forward pass");
            };
            let io = (piece.outputs[l].as_ref(), piece.outputs[l + 1].as_ref());
            let grads = self.layers[l]
                .layer
                .backward(&pass, io, kept, dy, self.needs[l])
                .map_err(|e| e.context(&self.layers[l].name))?;
            piece.grads[l] = grads.weights;
            piece.dy = grads.input;
            piece.outputs[l + 1] = None;
        }
        Ok(())
    }

    /// The loss of one piece and the gradient at the last layer's output.
    fn loss(&self, step: &StepInputs<B>, piece: &mut Piece<B>, targets: &[f32], head: Head) -> Result<()> {
        let last = self.layers.len();
        let Some(outputs) = piece.outputs[last].as_ref() else {
            bail!(Internal, "engine: the last layer's output is missing");
        };
        let width = targets.len() / step.batch.max(1);
        let scores = self.backend.download(outputs)?;
        let mine = &targets[piece.first * width..(piece.first + piece.n) * width];
        let result = loss_step(head, &scores, mine, width, step.batch);
        piece.loss = result.sum;
        piece.correct = result.correct;
        piece.dy = Some(self.backend.upload(&result.gradient)?);
        Ok(())
    }

    /// Cut `ids` (rows of `data`, samples of `width` values) into pieces with their input.
    fn cut(&self, data: &B::Buf, width: usize, ids: &[usize]) -> Result<Vec<Piece<B>>> {
        let layers = self.layers.len();
        // Copying the samples is quick (the seed convnet's batch of 64 is 200 KB). Each
        // piece copying its own in its first phase, on its own core, was no faster
        // (Conv(16,3)-Pool-Dense, 3 alternating runs on a 2-core Intel Xeon).
        pieces(ids.len(), self.piece_size(ids.len()))
            .into_iter()
            .map(|(first, n)| {
                let mut outputs: Vec<Option<B::Buf>> = (0..=layers).map(|_| None).collect();
                outputs[0] = Some(self.backend.gather_rows(data, width, &ids[first..first + n])?);
                Ok(Piece {
                    first,
                    n,
                    outputs,
                    kept: (0..layers).map(|_| None).collect(),
                    dy: None,
                    grads: (0..layers).map(|_| Vec::new()).collect(),
                    shares: vec![None; layers],
                    loss: 0.0,
                    correct: 0.0,
                })
            })
            .collect()
    }

    /// The phases of a training step, around the layers that need sums over the whole
    /// batch: forward to each of them, then the rest forward with the loss and back to the
    /// last of them, then back through each in turn while some layer below trains.
    fn phases(&self) -> Vec<Phase> {
        let layers = self.layers.len();
        let syncs: Vec<usize> = (0..layers)
            .filter(|&l| self.layers[l].layer.needs_sums(SumsFor::Forward, self.modes[l]))
            .collect();
        let mut plan = Vec::new();
        let mut from = 0;
        for &to in &syncs {
            plan.push(Phase::ToSums { from, to });
            from = to;
        }
        let mut high = layers - 1;
        for j in (0..=syncs.len()).rev() {
            let low = if j == 0 { 0 } else { syncs[j - 1] + 1 };
            let below = j.checked_sub(1).map(|i| syncs[i]).filter(|&s| self.backward[s]);
            let forward = (j == syncs.len()).then_some(from);
            plan.push(Phase::Back {
                forward,
                low,
                high,
                below,
            });
            let Some(s) = below else { break };
            high = s;
        }
        plan
    }

    /// One training step on samples `ids` of `data` (rows of `width` values) with their
    /// `targets` (rows of the output's width): loss, accuracy and gradients. The weights
    /// are not changed.
    pub(crate) fn train_step(
        &self,
        (data, width): (&B::Buf, usize),
        ids: &[usize],
        targets: &[f32],
        head: Head,
    ) -> Result<StepOutcome>
    where
        B::Buf: Send,
    {
        let batch = ids.len();
        let weights = self.weights()?;
        let draws: Vec<Option<Vec<f32>>> = self.layers.iter().map(|l| l.layer.draw(batch)).collect();
        let step = StepInputs {
            weights: &weights,
            draws: &draws,
            batch,
            train: true,
            head: Some(head),
        };
        let layers = self.layers.len();
        let pieces = self.cut(data, width, ids)?;
        let plan = self.phases();
        let sums = std::sync::RwLock::new((vec![None; layers], vec![None; layers]));
        let read = || sums.read().unwrap_or_else(|e| e.into_inner());
        let pieces = run_phases(
            pieces,
            (plan.len(), self.threads(batch)),
            |phase, p| {
                let sums = read();
                let (forward_sums, backward_sums) = (&sums.0[..], &sums.1[..]);
                match plan[phase] {
                    // Forward to a layer that needs the whole batch, with this piece's
                    // share of its sums.
                    Phase::ToSums { from, to } => {
                        self.forward_layers(&step, p, from..to, (forward_sums, &self.keep_input))?;
                        p.shares[to] =
                            Some(self.share(&step, p, (to, SumsFor::Forward), (forward_sums, backward_sums))?);
                    }
                    // The rest forward and the loss (first backward phase only), and back
                    // to the next layer that needs the whole batch, with this piece's share
                    // of its gradient sums.
                    Phase::Back {
                        forward,
                        low,
                        high,
                        below,
                    } => {
                        if let Some(start) = forward {
                            self.forward_layers(&step, p, start..layers, (forward_sums, &self.keep_input))?;
                            self.loss(&step, p, targets, head)?;
                        }
                        self.backward_layers(&step, p, (low, high), (forward_sums, backward_sums))?;
                        if let Some(s) = below {
                            p.shares[s] =
                                Some(self.share(&step, p, (s, SumsFor::Backward), (forward_sums, backward_sums))?);
                        }
                    }
                }
                Ok(())
            },
            |phase, pieces| {
                let mut sums = sums.write().unwrap_or_else(|e| e.into_inner());
                match plan[phase] {
                    Phase::ToSums { to, .. } => sums.0[to] = Some(Self::add_shares(pieces, to, SumsFor::Forward)),
                    Phase::Back { below: Some(s), .. } => {
                        sums.1[s] = Some(Self::add_shares(pieces, s, SumsFor::Backward))
                    }
                    Phase::Back { below: None, .. } => {}
                }
            },
        )?;
        let forward_sums = sums.into_inner().unwrap_or_else(|e| e.into_inner()).0;

        let loss = pieces.iter().map(|p| p.loss).sum::<f64>() / batch.max(1) as f64;
        let correct = pieces.iter().map(|p| p.correct).sum();
        let gradients = self.sum_gradients(pieces)?;
        Ok(StepOutcome {
            loss,
            correct,
            gradients,
            sums: forward_sums,
        })
    }

    /// The pieces' weight gradients added in piece order, as tensors of the weights' shapes.
    fn sum_gradients(&self, pieces: Vec<Piece<B>>) -> Result<Vec<(String, Weight, Tensor)>> {
        // Per layer, per trainable weight, every piece's gradient.
        let mut per_weight: Vec<Vec<Vec<B::Buf>>> = self.layers.iter().map(|_| Vec::new()).collect();
        for piece in pieces {
            for (l, grads) in piece.grads.into_iter().enumerate() {
                per_weight[l].resize_with(grads.len(), Vec::new);
                for (w, grad) in grads.into_iter().enumerate() {
                    per_weight[l][w].push(grad);
                }
            }
        }
        let mut named = Vec::new();
        for (layer, per_piece) in self.layers.iter().zip(per_weight) {
            let trainable = layer.layer.weights().into_iter().filter(|w| w.trainable);
            for (weight, grads) in trainable.zip(per_piece) {
                let sum = self.backend.sum(grads)?;
                let tensor = self.backend.to_tensor(&sum, &weight.param.dims())?;
                named.push((format!("{}/{}", layer.name, weight.name), weight, tensor));
            }
        }
        Ok(named)
    }

    /// Inference on samples `ids` of `data`: the last layer's output (`head`: its scores,
    /// for the loss) or, with `every_layer`, every layer's output, each as host values.
    pub(crate) fn infer(
        &self,
        (data, width): (&B::Buf, usize),
        ids: &[usize],
        head: Option<Head>,
        every_layer: bool,
    ) -> Result<Vec<Vec<f32>>>
    where
        B::Buf: Send,
    {
        let weights = self.weights()?;
        let draws: Vec<Option<Vec<f32>>> = vec![None; self.layers.len()];
        let step = StepInputs {
            weights: &weights,
            draws: &draws,
            batch: ids.len(),
            train: false,
            head,
        };
        let layers = self.layers.len();
        let pieces = self.cut(data, width, ids)?;
        let none = vec![None; layers];
        // Every layer's output where every layer's is wanted; otherwise each freed as soon
        // as the next layer has run.
        let keep = vec![every_layer; layers];
        let pieces = run_phases(
            pieces,
            (1, self.threads(ids.len())),
            |_, p| self.forward_layers(&step, p, 0..layers, (&none, &keep)),
            |_, _| {},
        )?;
        let wanted: Vec<usize> = match every_layer {
            true => (1..=layers).collect(),
            false => vec![layers],
        };
        wanted
            .iter()
            .map(|&i| {
                let mut values = Vec::new();
                for piece in &pieces {
                    if let Some(output) = &piece.outputs[i] {
                        values.extend(self.backend.download(output)?);
                    }
                }
                Ok(values)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Host, OnDevice};
    use crate::layers::LayerSpec;
    use crate::prelude::*;
    use candle_core::Device;

    #[test]
    fn pieces_cover_the_batch_in_order_and_nearly_equal_sizes() {
        for batch in [1, 2, 7, 10, 32, 64, 100] {
            let pieces = pieces(batch, PIECE);
            let mut next = 0;
            for &(first, n) in &pieces {
                assert_eq!(first, next, "batch {batch}: {pieces:?}");
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
        // Batch 10: two pieces of 5, not 8 + 2.
        assert_eq!(pieces(10, PIECE), vec![(0, 5), (5, 5)]);
    }

    #[test]
    fn pieces_shrink_from_8_to_4_samples_so_that_every_core_gets_one() {
        let cases = [
            (64, 1, 8),
            (64, 4, 8),
            (64, 8, 8),
            (64, 12, 6),
            (64, 16, 4),
            (64, 64, 4),
            (32, 8, 4),
            (3, 16, 4),
            (256, 16, 8),
        ];
        for (batch, cores, size) in cases {
            assert_eq!(piece_size(batch, cores, PIECE), size, "batch {batch} on {cores} cores");
        }
    }

    #[test]
    fn a_model_whose_weights_outnumber_its_feature_maps_runs_one_piece_per_core() {
        let engine = |layers: Vec<LayerSpec>, cores| {
            let mut model = Sequential::new();
            layers.into_iter().for_each(|l| model.add(l).unwrap());
            let engine = Engine {
                cores,
                work_per_sample: WORTH_THREADS,
                ..Engine::new(Host::new(), model.layer_slice(), true)
            };
            [64, 32, 10].map(|batch| pieces(batch, engine.piece_size(batch)).len())
        };
        // Chapter 6's MLP: 615,203 weights, 3,275 output values per sample.
        let mlp = || {
            vec![
                Flatten::new().input_shape((32, 32, 3)),
                Dense::new(200).into(),
                Dense::new(3).into(),
            ]
        };
        assert_eq!(engine(mlp(), 2), [2, 2, 2]);
        assert_eq!(engine(mlp(), 16), [16, 8, 3]);
        assert_eq!(engine(mlp(), 1), [2, 1, 1]);
        // Not wide: 1,541 weights, 2,881 output values per sample.
        let narrow = || {
            vec![
                Conv2D::new(10, 3).input_shape((14, 14, 1)),
                Flatten::new().into(),
                Dense::new(1).into(),
            ]
        };
        assert_eq!(engine(narrow(), 2), [8, 4, 2]);
    }

    #[test]
    fn pieces_of_4_and_of_8_give_the_same_step_up_to_rounding() {
        for (layers, frozen, loss) in models() {
            let (model, x, targets) = model_and_batch(layers, &frozen);
            let run = step_from_one_state(&model, &x, &targets, loss);
            // Batch 11, side by side: pieces of 6 and 5 on one core, of 4, 4 and 3 on many.
            let (eights, fours) = (run(1, WORTH_THREADS), run(64, WORTH_THREADS));
            assert!((eights.loss - fours.loss).abs() <= 1e-5 * eights.loss.abs().max(1.0));
            for ((name, _, a), (_, _, b)) in eights.gradients.iter().zip(&fours.gradients) {
                let (a, b) = (values(a), values(b));
                let scale = a.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
                for (u, v) in a.iter().zip(&b) {
                    assert!((u - v).abs() <= 1e-4 * scale, "{name}: {u} vs {v}");
                }
            }
        }
    }

    #[test]
    fn only_the_feature_maps_a_backward_pass_reads_wait_for_it() {
        let mut model = Sequential::new();
        for layer in [
            Conv2D::new(4, 3).activation("relu").input_shape((8, 8, 1)),
            BatchNormalization::new().into(),
            MaxPool2D::new(2).into(),
            Flatten::new().into(),
            Dense::new(3).activation("softmax").into(),
        ] {
            model.add(layer).unwrap();
        }
        // Kept: the convolution's output (its relu's gradient, batch norm's x̂) and the
        // flattened maps (Dense's kernel gradient). Freed: the image (the convolution keeps
        // its windows), batch norm's output (its backward pass and pooling's read neither)
        // and pooling's output.
        let engine = Engine::new(Host::new(), model.layer_slice(), true);
        assert_eq!(engine.keep_input, [false, true, false, false, true]);
        // A frozen base runs no backward pass: its maps are freed too.
        model.set_trainable("conv2d", false).unwrap();
        model.set_trainable("batch_normalization", false).unwrap();
        let engine = Engine::new(Host::new(), model.layer_slice(), true);
        assert_eq!(engine.keep_input, [false, false, false, false, true]);
    }

    #[test]
    fn step_memory_counts_feature_maps_and_a_gradient_copy_per_piece() {
        let mut model = Sequential::new();
        model.add(Flatten::new().input_shape((8, 8, 1))).unwrap();
        model.add(Dense::new(10)).unwrap();
        let engine = Engine {
            cores: 4,
            ..Engine::new(Host::new(), model.layer_slice(), true)
        };
        // 64 + 10 output values per sample; 650 weights, more than 8 samples' 592 output
        // values: a wide model, whose batch of 64 (too little work for threads) runs as 2
        // pieces of 32.
        assert_eq!(engine.step_bytes(64, true), (4 * 3 * 64 * 74, 4 * 6 * 650));
        assert_eq!(engine.step_bytes(64, false), (4 * 64 * 74, 0));
        // On another device the batch is one piece.
        let engine = Engine::new(Host::new(), model.layer_slice(), false);
        assert_eq!(engine.step_bytes(64, true).1, 4 * 5 * 650);
        assert!(engine.check_memory("fit", 64, true).is_ok());
    }

    /// A model of `layers` with `frozen` layers, and a batch of 11 images that are mostly
    /// exact zeros (a dark background, where relu's gradient convention matters).
    fn model_and_batch(layers: Vec<LayerSpec>, frozen: &[&str]) -> (Sequential, Vec<f32>, Vec<f32>) {
        let _guard = crate::testing::seed_lock();
        set_seed(5);
        let mut model = Sequential::new();
        for layer in layers {
            model.add(layer).unwrap();
        }
        for name in frozen {
            model.set_trainable(name, false).unwrap();
        }
        let input: usize = model.input_shape().iter().product();
        let x: Vec<f32> = (0..11 * input)
            .map(|i| {
                if i % 5 < 3 {
                    0.0
                } else {
                    ((i * 37) % 100) as f32 / 100.0
                }
            })
            .collect();
        let outputs = model.output_shape()[0];
        let targets: Vec<f32> = (0..11 * outputs)
            .map(|i| match outputs {
                1 => (i % 2) as f32,
                k => f32::from(u8::from(i % k == (i / k) % k)),
            })
            .collect();
        (model, x, targets)
    }

    fn step<B: Backend>(engine: &Engine<B>, x: &[f32], targets: &[f32], head: Head) -> StepOutcome
    where
        B::Buf: Send,
    {
        let data = engine.backend().upload(x).unwrap();
        let ids: Vec<usize> = (0..11).collect();
        engine.train_step((&data, x.len() / 11), &ids, targets, head).unwrap()
    }

    /// A step of `model` on the CPU as `run(cores, work_per_sample)`: every call starts from
    /// the generator's state now, with the engine's core count (piece size) and work per
    /// sample (side by side or not) set.
    fn step_from_one_state<'a>(
        model: &'a Sequential,
        x: &'a [f32],
        targets: &'a [f32],
        loss: Loss,
    ) -> impl Fn(usize, usize) -> StepOutcome + 'a {
        let head = model.head(loss).unwrap();
        let generator = model.generator();
        let state = generator.lock().unwrap().clone();
        move |cores, work_per_sample| {
            *generator.lock().unwrap() = state.clone();
            let engine = Engine {
                cores,
                work_per_sample,
                ..Engine::new(Host::new(), model.layer_slice(), true)
            };
            crate::rng::using(&generator, || step(&engine, x, targets, head))
        }
    }

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    fn models() -> Vec<(Vec<LayerSpec>, Vec<&'static str>, Loss)> {
        let cce = Loss::CategoricalCrossentropy;
        vec![
            (
                vec![
                    Conv2D::new(4, 3).activation("relu").input_shape((14, 14, 2)),
                    MaxPool2D::new(2).into(),
                    Conv2D::new(5, 3).activation("relu").into(),
                    MaxPool2D::new(2).into(),
                    Flatten::new().into(),
                    Dense::new(6).activation("relu").into(),
                    Dense::new(3).activation("softmax").into(),
                ],
                vec![],
                cce,
            ),
            (
                vec![
                    Conv2D::new(3, 2)
                        .padding(Padding::Same)
                        .activation("tanh")
                        .input_shape((9, 8, 1)),
                    BatchNormalization::new().into(),
                    Conv2D::new(4, 3).strides(2).activation("relu").into(),
                    AvgPool2D::new(2).padding("same").into(),
                    Dropout::new(0.3).into(),
                    Flatten::new().into(),
                    Dense::new(5).activation("sigmoid").into(),
                    BatchNormalization::new().into(),
                    Dense::new(3).activation("softmax").into(),
                ],
                vec![],
                cce,
            ),
            (
                vec![
                    Conv2D::new(4, 3).activation("relu").input_shape((8, 8, 1)),
                    BatchNormalization::new().into(),
                    Conv2D::new(4, 3).dilation_rate(2).activation("relu").into(),
                    Flatten::new().into(),
                    Dense::new(1).activation("sigmoid").into(),
                ],
                vec!["conv2d", "batch_normalization"],
                Loss::BinaryCrossentropy,
            ),
        ]
    }

    #[test]
    fn both_backends_give_the_same_loss_and_gradients() {
        for (layers, frozen, loss) in models() {
            let (model, x, targets) = model_and_batch(layers, &frozen);
            let head = model.head(loss).unwrap();
            let generator = model.generator();
            let state = generator.lock().unwrap().clone();
            let host = crate::rng::using(&generator, || {
                step(&Engine::new(Host::new(), model.layer_slice(), true), &x, &targets, head)
            });
            *generator.lock().unwrap() = state;
            let device = OnDevice::new(&Device::Cpu);
            let theirs = crate::rng::using(&generator, || {
                step(&Engine::new(device, model.layer_slice(), false), &x, &targets, head)
            });
            assert!(
                (host.loss - theirs.loss).abs() < 1e-5 * host.loss.abs().max(1.0),
                "{} vs {}",
                host.loss,
                theirs.loss
            );
            assert_eq!(host.gradients.len(), theirs.gradients.len());
            for ((name, _, a), (_, _, b)) in host.gradients.iter().zip(&theirs.gradients) {
                let (a, b) = (values(a), values(b));
                let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
                for (u, v) in a.iter().zip(&b) {
                    assert!((u - v).abs() <= 1e-4 * scale, "{name}: {u} vs {v}");
                }
            }
            // Frozen layers get no gradients.
            assert!(host
                .gradients
                .iter()
                .all(|(name, _, _)| frozen.iter().all(|f| !name.starts_with(&format!("{f}/")))));
        }
    }

    #[test]
    fn pieces_side_by_side_give_bit_identical_results() {
        for (layers, frozen, loss) in models() {
            let (model, x, targets) = model_and_batch(layers, &frozen);
            let run = step_from_one_state(&model, &x, &targets, loss);
            // The same pieces (one core's), on the cores side by side or one after the other.
            let (side_by_side, one_by_one) = (run(1, WORTH_THREADS), run(1, 0));

            assert_eq!(side_by_side.loss.to_bits(), one_by_one.loss.to_bits());
            for ((_, _, a), (_, _, b)) in side_by_side.gradients.iter().zip(&one_by_one.gradients) {
                assert_eq!(values(a), values(b));
            }
        }
    }
}
