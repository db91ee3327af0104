//! Activation functions, chosen by their Keras names.

use crate::{bail, Error, Result};
use candle_core::Tensor;
use std::fmt;
use std::str::FromStr;

/// A non-linearity applied to a layer's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `exp(x_i) / Σ_j exp(x_j)` over the last Keras axis (features or channels):
    /// turns scores into probabilities.
    Softmax,
    /// `1 / (1 + exp(−x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// The identity: no activation.
    #[default]
    Linear,
}

impl FromStr for Activation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "relu" => Activation::Relu,
            "softmax" => Activation::Softmax,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "linear" | "none" | "" => Activation::Linear,
            _ => bail!(
                "unknown activation '{s}'; hint: use one of \"relu\", \"softmax\", \"sigmoid\", \"tanh\", \"linear\""
            ),
        })
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Activation::Relu => "relu",
            Activation::Softmax => "softmax",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Linear => "linear",
        })
    }
}

impl Activation {
    /// Apply the activation. `channel_dim` is the tensor axis that holds features or
    /// channels (softmax normalizes over it): 1 for images stored (batch, channels, rows, cols).
    pub fn apply(self, x: &Tensor, channel_dim: usize) -> Result<Tensor> {
        Ok(match self {
            Activation::Relu => x.relu()?,
            Activation::Softmax => candle_nn::ops::softmax(x, channel_dim)?,
            // exp(−|x|) never overflows: σ(x) = 1/(1+e^−x) for x ≥ 0, e^x/(1+e^x) for x < 0;
            // candle-nn's sigmoid computes the same with its own backward pass.
            Activation::Sigmoid => candle_nn::ops::sigmoid(x)?,
            Activation::Tanh => x.tanh()?,
            Activation::Linear => x.clone(),
        })
    }
}

/// How a layer's builder stores the activation a learner named, checked when the layer is
/// added to a model (so a typo gets an error that names the layer).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ActivationName(pub String);

impl ActivationName {
    pub fn parse(&self, layer: &str) -> Result<Activation> {
        self.0.parse().map_err(|e: Error| e.context(layer))
    }
}

impl Default for ActivationName {
    fn default() -> Self {
        ActivationName("linear".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn activations_compute_their_formulas() {
        let x = Tensor::new(&[[-2f32, 0.0, 3.0]], &Device::Cpu).unwrap();
        let get = |a: Activation| a.apply(&x, 1).unwrap().to_vec2::<f32>().unwrap()[0].clone();
        assert_eq!(get(Activation::Relu), vec![0.0, 0.0, 3.0]);
        assert_eq!(get(Activation::Linear), vec![-2.0, 0.0, 3.0]);
        let soft = get(Activation::Softmax);
        let z: f32 = [-2f32, 0.0, 3.0].iter().map(|v| v.exp()).sum();
        for (s, v) in soft.iter().zip([-2f32, 0.0, 3.0]) {
            assert!((s - v.exp() / z).abs() < 1e-6);
        }
        let sig = get(Activation::Sigmoid);
        assert!((sig[0] - 1.0 / (1.0 + 2f32.exp())).abs() < 1e-6);
        let tanh = get(Activation::Tanh);
        assert!((tanh[2] - 3f32.tanh()).abs() < 1e-6);
    }

    #[test]
    fn an_unknown_activation_lists_the_known_ones() {
        let err = ActivationName("rellu".into()).parse("dense_1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "dense_1: unknown activation 'rellu'; hint: use one of \"relu\", \"softmax\", \"sigmoid\", \"tanh\", \"linear\""
        );
    }
}
