//! Loss functions: how wrong the model's class scores are.
//!
//! Cross-entropy compares predicted probabilities `p` with the true one-hot labels `y`:
//! `L = −Σ_k y_k · log p_k`, averaged over the batch. With a softmax output,
//! `log p = log_softmax(z)` is computed from the scores `z` *before* the softmax, which
//! never overflows or takes the log of 0 — whatever the scores are.

use crate::{bail, Activation, Error, Result};
use candle_core::{Tensor, D};
use std::str::FromStr;

/// A classification loss, by its Keras name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Labels are one-hot rows `(samples, classes)`.
    CategoricalCrossentropy,
    /// Labels are class numbers `(samples,)`.
    SparseCategoricalCrossentropy,
}

impl FromStr for Loss {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "categorical_crossentropy" | "CategoricalCrossentropy" => Ok(Loss::CategoricalCrossentropy),
            "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
                Ok(Loss::SparseCategoricalCrossentropy)
            }
            _ => bail!(
                "compile: unknown loss '{s}'; hint: use \"categorical_crossentropy\" (one-hot labels) or \"sparse_categorical_crossentropy\" (class numbers)"
            ),
        }
    }
}

impl Loss {
    /// The Keras name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
        }
    }
}

/// Mean cross-entropy of a batch. `z` is the last layer's output before `activation`;
/// `targets` are one-hot rows.
///
/// - softmax or linear output: `z` are the logits, `log p = log_softmax(z)`;
/// - any other activation: its outputs are normalized to sum to 1 and clipped to
///   `[1e-7, 1 − 1e-7]` before the log, as Keras does for probabilities.
pub fn cross_entropy(z: &Tensor, activation: Activation, targets: &Tensor) -> Result<Tensor> {
    let log_p = match activation {
        Activation::Softmax | Activation::Linear => candle_nn::ops::log_softmax(z, D::Minus1)?,
        other => {
            let p = other.apply(z, 1)?;
            let p = p.broadcast_div(&p.sum_keepdim(D::Minus1)?.clamp(1e-7f32, f32::MAX)?)?;
            p.clamp(1e-7f32, 1.0 - 1e-7)?.log()?
        }
    };
    Ok(targets.mul(&log_p)?.sum(D::Minus1)?.mean_all()?.neg()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn ce(z: &[[f32; 3]], y: &[[f32; 3]], a: Activation) -> f32 {
        let rows = |a: &[[f32; 3]]| Tensor::from_vec(a.concat(), (a.len(), 3), &Device::Cpu).unwrap();
        let (z, y) = (rows(z), rows(y));
        cross_entropy(&z, a, &y).unwrap().to_scalar().unwrap()
    }

    #[test]
    fn matches_the_formula_and_stays_finite_for_huge_scores() {
        // p = softmax([1, 2, 3]) = [0.0900, 0.2447, 0.6652]; true class 2 → −log 0.6652.
        let loss = ce(&[[1.0, 2.0, 3.0]], &[[0.0, 0.0, 1.0]], Activation::Softmax);
        assert!((loss - 0.407_606).abs() < 1e-5, "{loss}");
        // Scores of 1000 would overflow exp() in a naive softmax.
        let loss = ce(&[[1000.0, 0.0, -1000.0]], &[[0.0, 1.0, 0.0]], Activation::Softmax);
        assert!((loss - 1000.0).abs() < 1e-2, "{loss}");
        // Sigmoid outputs are normalized like probabilities.
        let loss = ce(&[[0.0, 0.0, 0.0]], &[[1.0, 0.0, 0.0]], Activation::Sigmoid);
        assert!((loss - 3f32.ln()).abs() < 1e-5);
    }

    #[test]
    fn the_gradient_is_softmax_minus_the_labels() {
        let z = Var::new(&[[0.5f32, -1.0, 2.0], [0.0, 0.3, -0.2]], &Device::Cpu).unwrap();
        let y = Tensor::new(&[[0f32, 1.0, 0.0], [1.0, 0.0, 0.0]], &Device::Cpu).unwrap();
        let loss = cross_entropy(z.as_tensor(), Activation::Softmax, &y).unwrap();
        let grad = loss
            .backward()
            .unwrap()
            .get(z.as_tensor())
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let values = z.as_tensor().to_vec2::<f32>().unwrap();
        for r in 0..values.len() {
            for c in 0..3 {
                // Finite difference on one logit.
                let mut up = values.clone();
                let mut down = values.clone();
                up[r][c] += 1e-2;
                down[r][c] -= 1e-2;
                let total = |v: &Vec<Vec<f32>>| {
                    let zt = Tensor::new(vec![v[0].clone(), v[1].clone()], &Device::Cpu).unwrap();
                    cross_entropy(&zt, Activation::Softmax, &y)
                        .unwrap()
                        .to_scalar::<f32>()
                        .unwrap()
                };
                let numeric = (total(&up) - total(&down)) / 2e-2;
                assert!(
                    (numeric - grad[r][c]).abs() < 1e-3,
                    "{r},{c}: {numeric} vs {}",
                    grad[r][c]
                );
            }
        }
    }

    #[test]
    fn an_unknown_loss_names_the_two_choices() {
        assert_eq!(
            "mse".parse::<Loss>().unwrap_err().to_string(),
            "compile: unknown loss 'mse'; hint: use \"categorical_crossentropy\" (one-hot labels) or \"sparse_categorical_crossentropy\" (class numbers)"
        );
    }
}
