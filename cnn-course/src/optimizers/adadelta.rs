//! Adadelta: steps sized by the ratio of recent update sizes to recent gradient sizes, so
//! the units of the step match the units of the weight.
//!
//! `a ← ρ·a + (1−ρ)·g²`, `Δ = sqrt(d + ε) / sqrt(a + ε) · g`, `d ← ρ·d + (1−ρ)·Δ²`,
//! `w ← w − lr · Δ` (Zeiler, 2012; Keras 3).

use super::{mix, UpdateRule};
use crate::Result;
use candle_core::Tensor;

/// Adadelta settings. Keras defaults: learning rate 0.001, ρ 0.95, ε 1e-7.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adadelta {
    pub learning_rate: f64,
    pub rho: f64,
    pub epsilon: f64,
}

impl Default for Adadelta {
    fn default() -> Self {
        Adadelta {
            learning_rate: 0.001,
            rho: 0.95,
            epsilon: 1e-7,
        }
    }
}

impl UpdateRule for Adadelta {
    fn name(&self) -> &'static str {
        "adadelta"
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn initial_state(&self) -> Vec<f64> {
        vec![0.0, 0.0] // accumulated squared gradients, accumulated squared updates
    }

    fn update(&self, w: &Tensor, g: &Tensor, state: &mut [Tensor], _step: u64) -> Result<Tensor> {
        let rms = |t: &Tensor| -> Result<Tensor> { Ok(t.affine(1.0, self.epsilon)?.sqrt()?) };
        state[0] = mix(self.rho, &state[0], 1.0 - self.rho, &g.sqr()?)?;
        let delta = rms(&state[1])?.div(&rms(&state[0])?)?.mul(g)?;
        state[1] = mix(self.rho, &state[1], 1.0 - self.rho, &delta.sqr()?)?;
        Ok(w.sub(&delta.affine(self.learning_rate, 0.0)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::{assert_matches, run, GRADS, W0};
    use super::*;

    #[test]
    fn follows_the_published_rule() {
        assert_matches(
            &run(Adadelta {
                learning_rate: 1.0,
                ..Default::default()
            }),
            |i| {
                let (mut w, mut a, mut d) = (W0[i] as f64, 0.0, 0.0);
                GRADS
                    .iter()
                    .map(|g| {
                        let g = g[i] as f64;
                        a = 0.95 * a + 0.05 * g * g;
                        let delta = (d + 1e-7f64).sqrt() / (a + 1e-7f64).sqrt() * g;
                        d = 0.95 * d + 0.05 * delta * delta;
                        w -= delta;
                        w
                    })
                    .collect()
            },
        );
    }
}
