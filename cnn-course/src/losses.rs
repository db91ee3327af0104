//! Loss functions: how wrong the model's outputs are, and the gradient that training
//! starts its backward pass from.
//!
//! **Cross-entropy** compares predicted probabilities `p` with the true labels `t`:
//! `L = −Σ_k t_k · log p_k`, averaged over the batch. With a softmax output it is computed
//! from the scores `z` *before* the softmax, `log p = z − log Σ exp z`, which never
//! overflows or takes the log of 0, and its gradient is simply `dL/dz = p − t`.
//!
//! **Binary cross-entropy** is the same for one yes/no answer per output unit, read
//! through a sigmoid: `L = −t·log σ(z) − (1 − t)·log(1 − σ(z))`, with `dL/dz = σ(z) − t`.
//!
//! **Mean squared error** measures how far numbers are from target numbers, for a network
//! that predicts values rather than classes: `L = Σ_k (y_k − t_k)² / K`, `dL/dy = 2(y − t)/K`.
//!
//! These functions work on a batch's outputs on the host: a batch has a few hundred of them.

use crate::choice::choice_of;
use crate::{bail, Activation, Error, Result};
use std::fmt;
use std::str::FromStr;

/// A classification loss, by its Keras name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Labels are one-hot rows `(samples, classes)`.
    CategoricalCrossentropy,
    /// Labels are class numbers `(samples,)`.
    SparseCategoricalCrossentropy,
    /// Labels are 0 or 1 per output unit, `(samples,)` or `(samples, units)`; the model
    /// ends in `Dense(1, "sigmoid")` (or one sigmoid unit per yes/no question).
    BinaryCrossentropy,
    /// Targets are numbers, one per output unit: the model predicts values.
    MeanSquaredError,
}

choice_of!(Loss);

impl FromStr for Loss {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "categorical_crossentropy" | "CategoricalCrossentropy" => Ok(Loss::CategoricalCrossentropy),
            "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
                Ok(Loss::SparseCategoricalCrossentropy)
            }
            "binary_crossentropy" | "BinaryCrossentropy" => Ok(Loss::BinaryCrossentropy),
            "mean_squared_error" | "mse" | "MeanSquaredError" => Ok(Loss::MeanSquaredError),
            _ => bail!(
                Setting,
                "unknown loss '{s}'; hint: use \"categorical_crossentropy\" (one-hot labels), \"sparse_categorical_crossentropy\" (class numbers), \"binary_crossentropy\" (0/1 labels, one sigmoid output) or \"mean_squared_error\" (numbers)"
            ),
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Loss {
    /// The Keras name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
            Loss::BinaryCrossentropy => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
        }
    }

    /// Whether the loss compares classes (so accuracy means something).
    pub fn classifies(self) -> bool {
        self != Loss::MeanSquaredError
    }
}

/// How the loss reads the last layer's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Head {
    /// Softmax (or linear) output, cross-entropy from the scores before the softmax.
    SoftmaxScores,
    /// Another activation whose outputs are read as probabilities: normalized to sum to 1
    /// and clipped to `[1e-7, 1 − 1e-7]`, as Keras does.
    Probabilities,
    /// Sigmoid (or linear) units, binary cross-entropy from the scores before the sigmoid.
    SigmoidScores,
    /// The outputs themselves, squared differences from the targets.
    Values,
}

impl Head {
    /// The head for a model whose last layer has `activation` and `units` outputs, or the
    /// error that says why the combination cannot be right.
    pub(crate) fn choose(loss: Loss, activation: Activation, units: usize, last_layer: &str) -> Result<Head> {
        if loss == Loss::MeanSquaredError {
            return Ok(Head::Values);
        }
        let categorical = loss != Loss::BinaryCrossentropy;
        match (categorical, activation) {
            (true, _) if units == 1 => bail!(Shape,
                "{last_layer}: {loss} needs one output per class, and this model has 1 output — the loss would always be 0 (the softmax of one number is 1); hint: for two classes use Dense(1, \"sigmoid\") with \"binary_crossentropy\" and 0/1 labels, or Dense(2, \"softmax\") with {loss}"
            ),
            (true, Activation::Softmax | Activation::Linear) => Ok(Head::SoftmaxScores),
            (true, _) => Ok(Head::Probabilities),
            (false, Activation::Sigmoid | Activation::Linear) => Ok(Head::SigmoidScores),
            (false, other) => bail!(Shape,
                "{last_layer}: binary_crossentropy reads each output as the probability of a yes, through a sigmoid, and this model's output is {other}; hint: end the model with Dense(1, \"sigmoid\") for a yes/no question, or use categorical_crossentropy with a softmax output"
            ),
        }
    }

    /// Whether the last layer leaves its activation to the loss (its output are scores).
    pub(crate) fn takes_scores(self) -> bool {
        matches!(self, Head::SoftmaxScores | Head::SigmoidScores)
    }
}

/// A batch's loss and accuracy, and the gradient of the mean loss at the last layer's
/// output (scores or probabilities, see [`Head`]).
pub(crate) struct LossStep {
    /// Sum (not mean) of the samples' losses.
    pub sum: f64,
    /// Correct answers: samples for categorical losses, units for binary ones.
    pub correct: f64,
    pub gradient: Vec<f32>,
}

const CLIP: f32 = 1e-7;

/// The loss of `outputs` (rows of `width`) against `targets` (the same shape: one-hot
/// rows, or 0/1 per unit), and its gradient for a mean over `batch` samples.
pub(crate) fn loss_step(head: Head, outputs: &[f32], targets: &[f32], width: usize, batch: usize) -> LossStep {
    let mut gradient = vec![0f32; outputs.len()];
    let (mut sum, mut correct) = (0f64, 0f64);
    let per_sample = 1.0 / batch as f32;
    for ((z, t), g) in outputs
        .chunks(width)
        .zip(targets.chunks(width))
        .zip(gradient.chunks_mut(width))
    {
        match head {
            Head::SoftmaxScores => {
                let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let log_sum = max + z.iter().map(|v| (v - max).exp()).sum::<f32>().ln();
                let label_sum: f32 = t.iter().sum();
                for k in 0..width {
                    let log_p = z[k] - log_sum;
                    sum -= (t[k] * log_p) as f64;
                    g[k] = (log_p.exp() * label_sum - t[k]) * per_sample;
                }
                correct += f64::from(u8::from(argmax(z) == argmax(t)));
            }
            Head::Probabilities => {
                // p = y / Σy, clipped; dL/dy_j = (Σ_k t_k [p_k inside] − t_j / p_j [p_j inside]) / Σy.
                let total = z.iter().sum::<f32>().max(CLIP);
                let inside = |p: f32| (CLIP..=1.0 - CLIP).contains(&p);
                let mut weight = 0f32;
                for k in 0..width {
                    let p = z[k] / total;
                    sum -= (t[k] * p.clamp(CLIP, 1.0 - CLIP).ln()) as f64;
                    if inside(p) {
                        weight += t[k];
                    }
                }
                for k in 0..width {
                    let p = z[k] / total;
                    let own = if inside(p) { t[k] / p } else { 0.0 };
                    g[k] = (weight - own) / total * per_sample;
                }
                correct += f64::from(u8::from(argmax(z) == argmax(t)));
            }
            Head::Values => {
                for k in 0..width {
                    let difference = z[k] - t[k];
                    sum += (difference * difference / width as f32) as f64;
                    g[k] = 2.0 * difference / width as f32 * per_sample;
                }
            }
            Head::SigmoidScores => {
                for k in 0..width {
                    // max(z, 0) − z·t + log(1 + e^−|z|): exact, and never overflows.
                    let z = z[k];
                    sum += ((z.max(0.0) - z * t[k] + (-z.abs()).exp().ln_1p()) / width as f32) as f64;
                    g[k] = (1.0 / (1.0 + (-z).exp()) - t[k]) / width as f32 * per_sample;
                    correct += f64::from(u8::from((z > 0.0) == (t[k] > 0.5))) / width as f64;
                }
            }
        }
    }
    LossStep { sum, correct, gradient }
}

/// The index of the largest value (the first one on a tie).
pub(crate) fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_loss(head: Head, z: &[f32], t: &[f32], width: usize) -> f64 {
        let batch = z.len() / width;
        loss_step(head, z, t, width, batch).sum / batch as f64
    }

    #[test]
    fn matches_the_formula_and_stays_finite_for_huge_scores() {
        // p = softmax([1, 2, 3]) = [0.0900, 0.2447, 0.6652]; true class 2 → −log 0.6652.
        let loss = mean_loss(Head::SoftmaxScores, &[1.0, 2.0, 3.0], &[0.0, 0.0, 1.0], 3);
        assert!((loss - 0.407_606).abs() < 1e-5, "{loss}");
        // Scores of 1000 would overflow exp() in a naive softmax.
        let loss = mean_loss(Head::SoftmaxScores, &[1000.0, 0.0, -1000.0], &[0.0, 1.0, 0.0], 3);
        assert!((loss - 1000.0).abs() < 1e-2, "{loss}");
        // Probabilities (e.g. sigmoid outputs) are normalized to sum to 1.
        let loss = mean_loss(Head::Probabilities, &[0.5, 0.5, 0.5], &[1.0, 0.0, 0.0], 3);
        assert!((loss - 3f64.ln()).abs() < 1e-5);
        // Binary: a score of 0 is probability 0.5 whatever the label.
        let loss = mean_loss(Head::SigmoidScores, &[0.0, 0.0], &[1.0, 0.0], 1);
        assert!((loss - 2f64.ln()).abs() < 1e-6);
        let loss = mean_loss(Head::SigmoidScores, &[-500.0], &[1.0], 1);
        assert!((loss - 500.0).abs() < 1e-3, "{loss}");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let cases: [(Head, Vec<f32>, Vec<f32>, usize); 4] = [
            (Head::Values, vec![0.5, -1.0, 2.0, 0.0], vec![1.0, -1.0, 0.0, 0.3], 2),
            (
                Head::SoftmaxScores,
                vec![0.5, -1.0, 2.0, 0.0, 0.3, -0.2],
                vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
                3,
            ),
            (
                Head::Probabilities,
                vec![0.2, 0.5, 0.9, 0.6, 0.3, 0.1],
                vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
                3,
            ),
            (
                Head::SigmoidScores,
                vec![0.7, -1.3, 2.2, 0.1],
                vec![1.0, 0.0, 0.0, 1.0],
                2,
            ),
        ];
        for (head, z, t, width) in cases {
            let batch = z.len() / width;
            let analytic = loss_step(head, &z, &t, width, batch).gradient;
            for i in 0..z.len() {
                let (mut up, mut down) = (z.clone(), z.clone());
                up[i] += 1e-3;
                down[i] -= 1e-3;
                let numeric = (mean_loss(head, &up, &t, width) - mean_loss(head, &down, &t, width)) / 2e-3;
                assert!(
                    (numeric - analytic[i] as f64).abs() < 1e-3,
                    "{head:?}[{i}]: {numeric} vs {}",
                    analytic[i]
                );
            }
        }
    }

    #[test]
    fn counts_correct_answers() {
        let step = loss_step(
            Head::SoftmaxScores,
            &[0.1, 0.7, 0.2, 0.5, 0.3, 0.2],
            &[0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
            3,
            2,
        );
        assert_eq!(step.correct, 1.0);
        let step = loss_step(Head::SigmoidScores, &[2.0, -1.0, 0.5], &[1.0, 1.0, 1.0], 1, 3);
        assert_eq!(step.correct, 2.0);
    }

    #[test]
    fn impossible_heads_say_which_loss_to_use() {
        assert_eq!(
            Head::choose(Loss::CategoricalCrossentropy, Activation::Sigmoid, 1, "dense_1").unwrap_err().to_string(),
            "dense_1: categorical_crossentropy needs one output per class, and this model has 1 output — the loss would always be 0 (the softmax of one number is 1); hint: for two classes use Dense(1, \"sigmoid\") with \"binary_crossentropy\" and 0/1 labels, or Dense(2, \"softmax\") with categorical_crossentropy"
        );
        assert_eq!(
            Head::choose(Loss::BinaryCrossentropy, Activation::Softmax, 1, "dense").unwrap_err().to_string(),
            "dense: binary_crossentropy reads each output as the probability of a yes, through a sigmoid, and this model's output is softmax; hint: end the model with Dense(1, \"sigmoid\") for a yes/no question, or use categorical_crossentropy with a softmax output"
        );
        assert_eq!(
            Head::choose(Loss::BinaryCrossentropy, Activation::Sigmoid, 1, "d").unwrap(),
            Head::SigmoidScores
        );
    }

    #[test]
    fn an_unknown_loss_names_the_choices() {
        assert_eq!(
            "l2".parse::<Loss>().unwrap_err().to_string(),
            "unknown loss 'l2'; hint: use \"categorical_crossentropy\" (one-hot labels), \"sparse_categorical_crossentropy\" (class numbers), \"binary_crossentropy\" (0/1 labels, one sigmoid output) or \"mean_squared_error\" (numbers)"
        );
    }
}
