//! RMSprop: divide each step by a running root-mean-square of recent gradients.
//!
//! `v ← ρ · v + (1 − ρ) · g²`, then `w ← w − lr · g / sqrt(v + ε)` (Keras 3). Weights whose
//! gradients are large take smaller steps. With `centered`, the running mean of `g` is
//! subtracted (`sqrt(v − ḡ² + ε)`); with `momentum`, steps accumulate as in SGD.

use super::{mix, UpdateRule};
use crate::Result;
use candle_core::Tensor;

/// RMSprop settings. Keras defaults: learning rate 0.001, ρ 0.9, ε 1e-7.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RMSprop {
    pub learning_rate: f64,
    pub rho: f64,
    pub momentum: f64,
    pub epsilon: f64,
    pub centered: bool,
}

impl Default for RMSprop {
    fn default() -> Self {
        RMSprop {
            learning_rate: 0.001,
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
        }
    }
}

impl UpdateRule for RMSprop {
    fn name(&self) -> &'static str {
        "rmsprop"
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn initial_state(&self) -> Vec<f64> {
        vec![0.0, 0.0, 0.0] // mean square, mean gradient (centered), momentum
    }

    fn update(&self, w: &Tensor, g: &Tensor, state: &mut [Tensor], _step: u64) -> Result<Tensor> {
        state[0] = mix(self.rho, &state[0], 1.0 - self.rho, &g.sqr()?)?;
        let mut denominator = state[0].clone();
        if self.centered {
            state[1] = mix(self.rho, &state[1], 1.0 - self.rho, g)?;
            denominator = denominator.sub(&state[1].sqr()?)?;
        }
        let increment = g
            .div(&denominator.affine(1.0, self.epsilon)?.sqrt()?)?
            .affine(self.learning_rate, 0.0)?;
        if self.momentum > 0.0 {
            state[2] = mix(self.momentum, &state[2], 1.0, &increment)?;
            return Ok(w.sub(&state[2])?);
        }
        Ok(w.sub(&increment)?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::{assert_matches, run, GRADS, W0};
    use super::*;

    #[test]
    fn follows_the_keras_rule() {
        // By hand, first step: v = 0.1 · 0.25 = 0.025; w = 1 − 0.001 · 0.5 / sqrt(0.025) = 0.996838.
        assert!((run(RMSprop::default())[0][0] - 0.996_837_7).abs() < 1e-6);
        for (centered, momentum) in [(false, 0.0), (true, 0.0), (false, 0.5)] {
            let rule = RMSprop {
                centered,
                momentum,
                ..Default::default()
            };
            assert_matches(&run(rule), |i| {
                let (mut w, mut v, mut mg, mut m) = (W0[i] as f64, 0.0, 0.0, 0.0);
                GRADS
                    .iter()
                    .map(|g| {
                        let g = g[i] as f64;
                        v = 0.9 * v + 0.1 * g * g;
                        mg = 0.9 * mg + 0.1 * g;
                        let denominator = if centered { v - mg * mg } else { v };
                        let increment = 0.001 * g / (denominator + 1e-7).sqrt();
                        m = momentum * m + increment;
                        w -= if momentum > 0.0 { m } else { increment };
                        w
                    })
                    .collect()
            });
        }
    }
}
