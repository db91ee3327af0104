//! RMSprop: divide each step by a running root-mean-square of recent gradients.
//!
//! `v ← ρ · v + (1 − ρ) · g²`, then `w ← w − lr · g / sqrt(v + ε)` (Keras 3). Weights whose
//! gradients are large take smaller steps. With `centered`, the running mean of `g` is
//! subtracted (`sqrt(v − ḡ² + ε)`); with `momentum`, steps accumulate as in SGD.

use super::{keras_settings, UpdateRule};

keras_settings! {
    /// RMSprop's settings.
    RMSprop "rmsprop" {
        learning_rate: f64 = 0.001, NonNegative;
        rho: f64 = 0.9, Fraction;
        momentum: f64 = 0.0, Fraction;
        epsilon: f64 = 1e-7, Positive;
        centered: bool = false;
    }
}

impl UpdateRule for RMSprop {
    fn initial_state(&self) -> Vec<f32> {
        vec![0.0, 0.0, 0.0] // mean square, mean gradient (centered), momentum
    }

    fn update(&self, w: &mut [f32], g: &[f32], state: &mut [&mut [f32]], _step: u64) {
        crate::backend::vectorized(
            #[inline(always)]
            || {
                let (lr, rho, eps, momentum) = (
                    self.learning_rate as f32,
                    self.rho as f32,
                    self.epsilon as f32,
                    self.momentum as f32,
                );
                let (centered, with_momentum) = (self.centered, self.momentum > 0.0);
                let [mean_square, mean, velocity] = state else { return };
                let slots = mean_square.iter_mut().zip(mean.iter_mut().zip(velocity.iter_mut()));
                for ((w, &g), (square, (mean, velocity))) in w.iter_mut().zip(g).zip(slots) {
                    *square = rho * *square + (1.0 - rho) * g * g;
                    let mut denominator = *square;
                    if centered {
                        *mean = rho * *mean + (1.0 - rho) * g;
                        denominator -= *mean * *mean;
                    }
                    let increment = lr * g / (denominator + eps).sqrt();
                    if with_momentum {
                        *velocity = momentum * *velocity + increment;
                        *w -= *velocity;
                    } else {
                        *w -= increment;
                    }
                }
            },
        )
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
