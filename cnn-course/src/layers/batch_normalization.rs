//! `BatchNormalization`: rescale each channel to mean 0 and standard deviation 1.
//!
//! In training, each channel (the last Keras axis) of a batch is normalized with the
//! batch's own mean `μ` and variance `σ²`, then scaled and shifted by learned `γ` and `β`:
//! `y = γ · (x − μ) / sqrt(σ² + ε) + β` (Ioffe & Szegedy, 2015). The layer also keeps
//! *moving* averages of `μ` and `σ²` — `moving = momentum · moving + (1 − momentum) · batch`
//! — which are used instead at prediction time. They are weights, but not trained by the
//! optimizer: `summary()` counts them as non-trainable.
//!
//! Keras defaults: `momentum = 0.99`, `epsilon = 0.001`. (candle's own BatchNorm uses the
//! PyTorch convention, where momentum 0.01 means the same thing; it is not used here.)
//!
//! # Shapes
//! - output: the same as the input; `γ`, `β`, moving mean and variance: `(channels,)`.

use super::Param;
use super::{not_built, Layer, Weight};
use crate::arrays::keras_shape;
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

    /// Reshape a `(channels,)` vector so it broadcasts over `x`'s channel axis (axis 1).
    fn per_channel(v: &Tensor, x: &Tensor) -> Result<Tensor> {
        let mut dims = vec![1; x.rank()];
        dims[1] = v.elem_count();
        Ok(v.reshape(dims)?)
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
            _ => bail!(
                "{name}: BatchNormalization expects images (rows, cols, channels) or vectors (features,), got input shape {}; hint: place it after a Conv2D, pooling or Dense layer",
                keras_shape(input_shape)
            ),
        };
        if !(0.0..1.0).contains(&self.momentum) || self.epsilon <= 0.0 {
            bail!(
                "{name}: momentum must be in [0, 1) and epsilon above 0, got momentum {} and epsilon {}; hint: the Keras defaults are 0.99 and 0.001",
                self.momentum,
                self.epsilon
            );
        }
        self.built = Some(Built {
            gamma: Param::new(constant(&[channels], 1.0, device)?),
            beta: Param::new(constant(&[channels], 0.0, device)?),
            moving_mean: Param::new(constant(&[channels], 0.0, device)?),
            moving_variance: Param::new(constant(&[channels], 1.0, device)?),
        });
        Ok(input_shape.to_vec())
    }

    fn pre_activation(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let b = self.built.as_ref().ok_or_else(|| not_built("BatchNormalization"))?;
        // Every axis but the channel axis (1) is averaged over.
        let axes: Vec<usize> = (0..x.rank()).filter(|&a| a != 1).collect();
        let (mean, variance) = if train {
            let mean = x.mean_keepdim(axes.as_slice())?;
            let centered = x.broadcast_sub(&mean)?;
            let variance = centered.sqr()?.mean_keepdim(axes.as_slice())?;
            // The moving statistics follow the batch's, outside the gradient graph.
            let m = self.momentum;
            let update = |moving: &Param, batch: &Tensor| -> Result<()> {
                let batch = batch.detach().flatten_all()?;
                let moving = moving.var();
                moving.set(
                    &moving
                        .as_tensor()
                        .detach()
                        .affine(m, 0.0)?
                        .add(&batch.affine(1.0 - m, 0.0)?)?,
                )?;
                Ok(())
            };
            update(&b.moving_mean, &mean)?;
            update(&b.moving_variance, &variance)?;
            (mean, variance)
        } else {
            (
                Self::per_channel(&b.moving_mean.tensor(), x)?,
                Self::per_channel(&b.moving_variance.tensor(), x)?,
            )
        };
        let normalized = x
            .broadcast_sub(&mean)?
            .broadcast_div(&variance.affine(1.0, self.epsilon)?.sqrt()?)?;
        Ok(normalized
            .broadcast_mul(&Self::per_channel(&b.gamma.tensor(), x)?)?
            .broadcast_add(&Self::per_channel(&b.beta.tensor(), x)?)?)
    }

    fn weights(&self) -> Vec<Weight> {
        let Some(b) = &self.built else {
            return Vec::new();
        };
        let weight = |name, param: &Param, trainable| Weight::new(name, param, trainable, None);
        vec![
            weight("gamma", &b.gamma, true),
            weight("beta", &b.beta, true),
            weight("moving_mean", &b.moving_mean, false),
            weight("moving_variance", &b.moving_variance, false),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::check_layer_gradients;

    #[test]
    fn training_normalizes_each_channel_and_moves_the_statistics() {
        let mut layer = BatchNormalization::new();
        layer.build("batch_normalization", &[4, 4, 3], &Device::Cpu).unwrap();
        let x = crate::testing::random_batch(5, &[4, 4, 3]).affine(3.0, 2.0).unwrap();
        let y = layer.forward(&x, true).unwrap();
        for c in 0..3 {
            let channel = y
                .narrow(1, c, 1)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let mean = channel.iter().sum::<f32>() / channel.len() as f32;
            let var = channel.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / channel.len() as f32;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-2,
                "channel {c}: mean {mean}, var {var}"
            );
        }
        // The moving mean moved 1 % of the way from 0 to the batch mean.
        let batch_mean = x
            .narrow(1, 0, 1)
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let moving = layer.weights()[2].var.as_tensor().to_vec1::<f32>().unwrap();
        assert!((moving[0] - 0.01 * batch_mean).abs() < 1e-6);
    }

    #[test]
    fn inference_uses_the_moving_statistics() {
        let mut layer = BatchNormalization::new();
        layer.build("batch_normalization", &[2], &Device::Cpu).unwrap();
        let weights = layer.weights();
        weights[2]
            .var
            .set(&Tensor::new(&[1f32, -1.0], &Device::Cpu).unwrap())
            .unwrap();
        weights[3]
            .var
            .set(&Tensor::new(&[4f32, 0.25], &Device::Cpu).unwrap())
            .unwrap();
        let x = Tensor::new(&[[3f32, 0.0]], &Device::Cpu).unwrap();
        let y = layer.forward(&x, false).unwrap().to_vec2::<f32>().unwrap();
        assert!((y[0][0] - 2.0 / (4.0f32 + 1e-3).sqrt()).abs() < 1e-6);
        assert!((y[0][1] - 1.0 / (0.25f32 + 1e-3).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn training_mode_gradients_match_finite_differences() {
        for input in [vec![3, 4, 2], vec![5]] {
            let mut layer = BatchNormalization::new();
            layer.build("batch_normalization", &input, &Device::Cpu).unwrap();
            let w = layer.weights();
            // Non-trivial γ and β, so their gradients are tested too.
            let c = *input.last().unwrap();
            let gamma: Vec<f32> = (0..c).map(|i| 0.5 + i as f32).collect();
            w[0].var.set(&Tensor::new(gamma, &Device::Cpu).unwrap()).unwrap();
            check_layer_gradients(&layer, &input);
        }
    }
}
