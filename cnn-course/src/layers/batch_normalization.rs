//! `BatchNormalization`: rescale each channel to mean 0 and standard deviation 1.
//!
//! In training, each channel (the last axis) of a batch is normalized with the batch's
//! own mean `μ` and variance `σ²`, then scaled and shifted by learned `γ` and `β`
//! (Ioffe & Szegedy, 2015). The layer also keeps *moving* averages of `μ` and `σ²` —
//! `moving = momentum · moving + (1 − momentum) · batch` — which are used instead at
//! prediction time. They are weights, but not trained by the optimizer: `summary()`
//! counts them as non-trainable. As in Keras, a frozen batch-norm layer (transfer
//! learning) runs in inference mode: it uses and keeps its moving statistics.
//!
//! Keras defaults: `momentum = 0.99`, `epsilon = 0.001`. (candle's own BatchNorm uses the
//! PyTorch convention, where momentum 0.01 means the same thing; it is not used here.)
//!
//! # Forward and backward (per channel; sums over the batch's `m` values of the channel)
//! ```text
//! forward:   μ = Σx / m,   σ² = Σ(x − μ)² / m,   x̂ = (x − μ) / sqrt(σ² + ε)
//!            y = γ · x̂ + β
//! backward:  dβ = Σ dy,    dγ = Σ dy · x̂
//!            dx = γ / sqrt(σ² + ε) · (dy − dβ / m − x̂ · dγ / m)
//! ```
//! `dx` depends on every sample of the batch through `μ`, `σ²`, `dβ` and `dγ`: the only
//! layer whose pieces of a batch must meet ([`super::Layer::batch_sums`]).
//!
//! # Shapes
//! - output: the same as the input; `γ`, `β`, moving mean and variance: `(channels,)`.

use super::{kept_map, not_built, Gradients, Kept, Layer, Needs, Param, Pass, Reads, SumsFor, Weight};
use crate::arrays::keras_shape;
use crate::backend::Backend;
use crate::initializers::constant;
use crate::{bail, Result};
use candle_core::{Device, Tensor};

/// Batch normalization, as Keras' `BatchNormalization`.
#[derive(Clone)]
pub struct BatchNormalization {
    momentum: f64,
    epsilon: f64,
    built: Option<Built>,
}

#[derive(Clone)]
struct Built {
    channels: usize,
    /// Values per channel in one sample (pixels of an image, 1 for vectors).
    per_sample: usize,
    gamma: Param,
    beta: Param,
    moving_mean: Param,
    moving_variance: Param,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

/// A channel's mean and `1 / sqrt(variance + ε)` from the batch's sums `[Σx…, Σx²…, count]`.
fn statistics(sums: &[f64], channels: usize, epsilon: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let count = sums[2 * channels].max(1.0);
    let mean: Vec<f64> = sums[..channels].iter().map(|s| s / count).collect();
    let variance: Vec<f64> = (0..channels)
        .map(|c| (sums[channels + c] / count - mean[c] * mean[c]).max(0.0))
        .collect();
    let inverse = variance.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    (mean, variance, inverse)
}

fn to_f32(values: impl IntoIterator<Item = f64>) -> Vec<f32> {
    values.into_iter().map(|v| v as f32).collect()
}

impl BatchNormalization {
    /// Keras defaults: momentum 0.99, epsilon 0.001.
    pub fn new() -> Self {
        BatchNormalization {
            momentum: 0.99,
            epsilon: 1e-3,
            built: None,
        }
    }

    /// Weight of the old value in the moving averages (default 0.99).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Added to the variance before the square root (default 0.001).
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    fn built(&self) -> Result<&Built> {
        self.built.as_ref().ok_or_else(|| not_built("BatchNormalization"))
    }

    /// Per channel: the mean, `1 / sqrt(variance + ε)`, and `γ`, for this pass: the
    /// batch's statistics in training, the moving ones otherwise.
    fn normalization<B: Backend>(&self, pass: &Pass<B>) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
        let built = self.built()?;
        let host = |i: usize| -> Result<Vec<f64>> {
            Ok(pass
                .backend
                .download(&pass.weights[i])?
                .into_iter()
                .map(f64::from)
                .collect())
        };
        let gamma = host(0)?;
        match (pass.train, pass.sums) {
            (true, Some(sums)) => {
                let (mean, _, inverse) = statistics(sums, built.channels, self.epsilon);
                Ok((mean, inverse, gamma))
            }
            (true, None) => bail!(Internal, "BatchNormalization: training needs the batch's sums"),
            (false, _) => {
                let inverse = host(3)?.iter().map(|v| 1.0 / (v + self.epsilon).sqrt()).collect();
                Ok((host(2)?, inverse, gamma))
            }
        }
    }
}

impl Layer for BatchNormalization {
    fn type_name(&self) -> &'static str {
        "BatchNormalization"
    }

    fn base_name(&self) -> &'static str {
        "batch_normalization"
    }

    fn build(&mut self, name: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>> {
        let channels = match input_shape {
            [.., channels] if input_shape.len() == 1 || input_shape.len() == 3 => *channels,
            _ => bail!(Shape,
                "{name}: BatchNormalization expects images (rows, cols, channels) or vectors (features,), got input shape {}; hint: place it after a Conv2D, pooling or Dense layer",
                keras_shape(input_shape)
            ),
        };
        if !((0.0..1.0).contains(&self.momentum) && self.epsilon > 0.0 && self.epsilon.is_finite()) {
            bail!(Setting,
                "{name}: momentum must be in [0, 1) and epsilon a number above 0, got momentum {} and epsilon {}; hint: the Keras defaults are 0.99 and 0.001",
                self.momentum,
                self.epsilon
            );
        }
        self.built = Some(Built {
            channels,
            per_sample: input_shape.iter().product::<usize>() / channels.max(1),
            gamma: Param::new(constant(&[channels], 1.0, device)?),
            beta: Param::new(constant(&[channels], 0.0, device)?),
            moving_mean: Param::new(constant(&[channels], 0.0, device)?),
            moving_variance: Param::new(constant(&[channels], 1.0, device)?),
        });
        Ok(input_shape.to_vec())
    }

    fn weights(&self) -> Vec<Weight> {
        let Some(b) = &self.built else {
            return Vec::new();
        };
        vec![
            Weight::new("gamma", &b.gamma, true),
            Weight::new("beta", &b.beta, true),
            Weight::new("moving_mean", &b.moving_mean, false),
            Weight::new("moving_variance", &b.moving_variance, false),
        ]
    }

    fn config(&self) -> Vec<(&'static str, String)> {
        vec![
            ("momentum", self.momentum.to_string()),
            ("epsilon", self.epsilon.to_string()),
        ]
    }

    fn needs_sums(&self, _when: SumsFor, train: bool) -> bool {
        train
    }

    fn inference_when_frozen(&self) -> bool {
        true
    }

    fn batch_sums<B: Backend>(
        &self,
        when: SumsFor,
        pass: &Pass<B>,
        x: &B::Buf,
        dy: Option<&B::Buf>,
    ) -> Result<Vec<f64>> {
        let built = self.built()?;
        let (first, second) = match (when, dy) {
            // Σx and Σx², and how many values each channel has.
            (SumsFor::Forward, _) => pass.backend.channel_sums(x, x, built.channels)?,
            // Σdy and Σdy·x.
            (SumsFor::Backward, Some(dy)) => pass.backend.channel_sums(dy, x, built.channels)?,
            (SumsFor::Backward, None) => {
                bail!(Internal, "BatchNormalization: backward sums need the output's gradient")
            }
        };
        let mut sums = first;
        sums.extend(second);
        sums.push((pass.n * built.per_sample) as f64);
        Ok(sums)
    }

    fn forward<B: Backend>(&self, pass: &Pass<B>, x: &B::Buf) -> Result<(B::Buf, Kept<B>)> {
        let built = self.built()?;
        let (mean, inverse, gamma) = self.normalization(pass)?;
        let beta = pass.backend.download(&pass.weights[1])?;
        // y = γ·(x − μ)·inv + β = p·x + r.
        let p: Vec<f64> = (0..built.channels).map(|c| gamma[c] * inverse[c]).collect();
        let r = to_f32((0..built.channels).map(|c| beta[c] as f64 - p[c] * mean[c]));
        let p = to_f32(p);
        let y = pass.backend.channel_affine(x, built.channels, (&p, &r))?;
        Ok((y, Kept::Nothing))
    }

    /// `x`, for `x̂`.
    fn backward_reads(&self) -> Reads {
        Reads {
            input: true,
            output: false,
        }
    }

    fn backward<B: Backend>(
        &self,
        pass: &Pass<B>,
        (x, _): (Option<&B::Buf>, Option<&B::Buf>),
        _kept: Kept<B>,
        dy: B::Buf,
        needs: Needs,
    ) -> Result<Gradients<B>> {
        let built = self.built()?;
        let (b, channels) = (pass.backend, built.channels);
        let (mean, inverse, gamma) = self.normalization(pass)?;
        let a: Vec<f64> = (0..channels).map(|c| gamma[c] * inverse[c]).collect();
        if !pass.train {
            // Frozen: a fixed affine map, dx = γ·inv·dy.
            let zero = vec![0f32; channels];
            let dx = match needs.input {
                true => Some(b.channel_affine(&dy, channels, (&to_f32(a), &zero))?),
                false => None,
            };
            return Ok(Gradients::input_only(dx));
        }
        let Some(totals) = pass.grad_sums else {
            bail!(Internal, "BatchNormalization: training needs the batch's gradient sums");
        };
        let m = pass.sums.map(|s| s[2 * channels]).unwrap_or(1.0).max(1.0);
        // Σdy·x̂ = inv·(Σdy·x − μ·Σdy), over the batch (for dx) and over this piece (for dγ).
        let dot_xhat = |sum_dy: &[f64], sum_dyx: &[f64]| -> Vec<f64> {
            (0..channels)
                .map(|c| inverse[c] * (sum_dyx[c] - mean[c] * sum_dy[c]))
                .collect()
        };
        let (sum_dy, sum_dyx) = (&totals[..channels], &totals[channels..2 * channels]);
        let batch_dot = dot_xhat(sum_dy, sum_dyx);
        let mut weights = Vec::new();
        if needs.weights {
            // This piece's share of dγ and dβ; the engine adds the pieces' shares.
            let Some(share) = pass.grad_share else {
                bail!(
                    Internal,
                    "BatchNormalization: training needs this piece's gradient sums"
                );
            };
            let (piece_dy, piece_dyx) = (&share[..channels], &share[channels..2 * channels]);
            weights.push(b.upload(&to_f32(dot_xhat(piece_dy, piece_dyx)))?);
            weights.push(b.upload(&to_f32(piece_dy.iter().copied()))?);
        }
        let dx = match needs.input {
            // dx = a·dy − (a/m)·(Σdy + x̂·Σdy·x̂), with x̂ = inv·x − inv·μ: p·dy + q·x + r.
            true => {
                let q: Vec<f64> = (0..channels).map(|c| -a[c] / m * batch_dot[c] * inverse[c]).collect();
                let r: Vec<f64> = (0..channels)
                    .map(|c| -a[c] / m * sum_dy[c] + a[c] / m * batch_dot[c] * inverse[c] * mean[c])
                    .collect();
                let x = kept_map(x, "BatchNormalization", "input")?;
                Some(b.channel_mix(dy, x, channels, (&to_f32(a), &to_f32(q), &to_f32(r)))?)
            }
            false => None,
        };
        Ok(Gradients { input: dx, weights })
    }

    fn finish_step(&self, sums: &[f64]) -> Result<()> {
        let built = self.built()?;
        let (mean, variance, _) = statistics(sums, built.channels, self.epsilon);
        let update = |moving: &Param, batch: Vec<f64>| -> Result<()> {
            let old = moving.get();
            let values = old
                .to_dtype(candle_core::DType::F32)?
                .to_device(&Device::Cpu)?
                .to_vec1::<f32>()?;
            let new: Vec<f32> = values
                .iter()
                .zip(batch)
                .map(|(&m, b)| (self.momentum * m as f64 + (1.0 - self.momentum) * b) as f32)
                .collect();
            moving.set(Tensor::from_vec(new, old.dims(), old.device())?);
            Ok(())
        };
        update(&built.moving_mean, mean)?;
        update(&built.moving_variance, variance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer, keras_batch, outputs, run};

    #[test]
    fn training_normalizes_each_channel_and_moves_the_statistics() {
        let mut layer = BatchNormalization::new();
        layer.build("batch_normalization", &[4, 4, 3], &Device::Cpu).unwrap();
        let x: Vec<f32> = keras_batch(5, &[4, 4, 3]).iter().map(|v| v * 3.0 + 2.0).collect();
        let y = run(&crate::backend::Host::new(), &layer, &x, 5, None, None).y;
        for c in 0..3 {
            let channel: Vec<f32> = y.iter().skip(c).step_by(3).copied().collect();
            let mean = channel.iter().sum::<f32>() / channel.len() as f32;
            let var = channel.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / channel.len() as f32;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-2,
                "channel {c}: mean {mean}, var {var}"
            );
        }
        // The moving mean moves 1 % of the way from 0 to the batch mean.
        let sums: Vec<f64> = {
            let mut s = vec![0f64; 7];
            for (i, v) in x.iter().enumerate() {
                s[i % 3] += *v as f64;
                s[3 + i % 3] += (*v as f64).powi(2);
            }
            s[6] = 80.0;
            s
        };
        layer.finish_step(&sums).unwrap();
        let moving = layer.weights()[2].param.get().to_vec1::<f32>().unwrap();
        assert!((moving[0] as f64 - 0.01 * sums[0] / 80.0).abs() < 1e-6);
    }

    #[test]
    fn inference_uses_the_moving_statistics() {
        let mut layer = BatchNormalization::new();
        layer.build("batch_normalization", &[2], &Device::Cpu).unwrap();
        let weights = layer.weights();
        weights[2].param.set(Tensor::new(&[1f32, -1.0], &Device::Cpu).unwrap());
        weights[3].param.set(Tensor::new(&[4f32, 0.25], &Device::Cpu).unwrap());
        let y = outputs(&layer, &[3.0, 0.0], 1);
        assert!((y[0] - 2.0 / (4.0f32 + 1e-3).sqrt()).abs() < 1e-6);
        assert!((y[1] - 1.0 / (0.25f32 + 1e-3).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn training_mode_gradients_match_finite_differences() {
        for input in [vec![3, 4, 2], vec![5]] {
            let mut layer = BatchNormalization::new();
            layer.build("batch_normalization", &input, &Device::Cpu).unwrap();
            // Non-trivial γ and β, so their gradients are tested too.
            let c = *input.last().unwrap();
            let gamma: Vec<f32> = (0..c).map(|i| 0.5 + i as f32).collect();
            layer.weights()[0].param.set(Tensor::new(gamma, &Device::Cpu).unwrap());
            layer.weights()[1]
                .param
                .set(Tensor::full(0.25f32, c, &Device::Cpu).unwrap());
            check_layer(&layer, &input);
        }
    }

    #[test]
    fn the_same_gradients_as_candles_automatic_differentiation() {
        use candle_core::Var;
        let mut layer = BatchNormalization::new();
        layer.build("batch_normalization", &[3, 4, 2], &Device::Cpu).unwrap();
        layer.weights()[0]
            .param
            .set(Tensor::new(&[0.5f32, 2.0], &Device::Cpu).unwrap());
        layer.weights()[1]
            .param
            .set(Tensor::new(&[0.1f32, -0.3], &Device::Cpu).unwrap());
        let x = keras_batch(3, &[3, 4, 2]);
        let r: Vec<f32> = (0..x.len()).map(|i| ((i * 13) % 7) as f32 / 3.0 - 1.0).collect();
        let (_, dx, dw) = crate::layers::gradient_check::host_gradients(&layer, &x, 3, &r);
        // y = γ (x − μ) / sqrt(σ² + ε) + β over axes (samples, rows, cols), by candle's graph.
        let xv = Var::from_tensor(&Tensor::from_slice(&x, (3, 3, 4, 2), &Device::Cpu).unwrap()).unwrap();
        let gv = Var::from_tensor(&layer.weights()[0].param.get()).unwrap();
        let bv = Var::from_tensor(&layer.weights()[1].param.get()).unwrap();
        let xt = xv.as_tensor();
        let mean = xt.mean_keepdim((0, 1, 2)).unwrap();
        let centered = xt.broadcast_sub(&mean).unwrap();
        let variance = centered.sqr().unwrap().mean_keepdim((0, 1, 2)).unwrap();
        let y = centered
            .broadcast_div(&variance.affine(1.0, 1e-3).unwrap().sqrt().unwrap())
            .unwrap()
            .broadcast_mul(gv.as_tensor())
            .unwrap()
            .broadcast_add(bv.as_tensor())
            .unwrap();
        crate::layers::gradient_check::assert_same_as_candle(
            &y,
            &r,
            &[("dx", &dx, &xv), ("dgamma", &dw[0], &gv), ("dbeta", &dw[1], &bv)],
        );
    }

    #[test]
    fn an_epsilon_that_is_not_a_positive_number_is_refused() {
        for epsilon in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut layer = BatchNormalization::new().epsilon(epsilon);
            assert_eq!(
                layer.build("batch_normalization", &[4], &Device::Cpu).unwrap_err().to_string(),
                format!("batch_normalization: momentum must be in [0, 1) and epsilon a number above 0, got momentum 0.99 and epsilon {epsilon}; hint: the Keras defaults are 0.99 and 0.001")
            );
        }
    }
}
