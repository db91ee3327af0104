//! Activation functions, chosen by their Keras names.
//!
//! An activation is applied to every value a layer computes (softmax: to each row of
//! values together). Its derivative is what the backward pass multiplies the incoming
//! gradient by; each is written from the activation's *output* `y`, which the layer keeps:
//!
//! | activation | `y = f(z)` | `dz = dy · f'(z)` |
//! |---|---|---|
//! | relu | `max(0, z)` | `dy` where `y > 0`, else 0 (also at exactly 0, as in TensorFlow and PyTorch) |
//! | sigmoid | `1 / (1 + e^−z)` | `dy · y · (1 − y)` |
//! | tanh | `tanh z` | `dy · (1 − y²)` |
//! | softmax | `e^z_i / Σ_j e^z_j` | `y_i · (dy_i − Σ_j dy_j · y_j)` |
//! | linear | `z` | `dy` |
//!
//! The array operations that compute them are the backend's (`src/backend/`) `bias_activation` and
//! `activation_backward`.

use crate::choice::choice_of;
use crate::{bail, Error, Result};
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

choice_of!(Activation);

impl FromStr for Activation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "relu" => Activation::Relu,
            "softmax" => Activation::Softmax,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "linear" | "none" | "" => Activation::Linear,
            _ => {
                bail!(Setting,
                "unknown activation '{s}'; hint: use one of \"relu\", \"softmax\", \"sigmoid\", \"tanh\", \"linear\""
            )
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_activation_lists_the_known_ones() {
        let err = crate::Choice::<Activation>::from("rellu")
            .resolve("dense_1")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "dense_1: unknown activation 'rellu'; hint: use one of \"relu\", \"softmax\", \"sigmoid\", \"tanh\", \"linear\""
        );
    }
}
