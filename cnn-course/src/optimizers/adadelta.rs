//! Adadelta: steps sized by the ratio of recent update sizes to recent gradient sizes, so
//! the units of the step match the units of the weight.
//!
//! `a ← ρ·a + (1−ρ)·g²`, `Δ = sqrt(d + ε) / sqrt(a + ε) · g`, `d ← ρ·d + (1−ρ)·Δ²`,
//! `w ← w − lr · Δ` (Zeiler, 2012; Keras 3).

use super::{keras_settings, UpdateRule};

keras_settings! {
    /// Adadelta's settings.
    Adadelta "adadelta" {
        learning_rate: f64 = 0.001, NonNegative;
        rho: f64 = 0.95, Fraction;
        epsilon: f64 = 1e-7, Positive;
    }
}

impl UpdateRule for Adadelta {
    fn initial_state(&self) -> Vec<f32> {
        vec![0.0, 0.0] // accumulated squared gradients, accumulated squared updates
    }

    fn update(&self, w: &mut [f32], g: &[f32], state: &mut [&mut [f32]], _step: u64) {
        crate::backend::vectorized(
            #[inline(always)]
            || {
                let (lr, rho, eps) = (self.learning_rate as f32, self.rho as f32, self.epsilon as f32);
                let [gradients, updates] = state else { return };
                for (((w, &g), sg), su) in w.iter_mut().zip(g).zip(gradients.iter_mut()).zip(updates.iter_mut()) {
                    *sg = rho * *sg + (1.0 - rho) * g * g;
                    let delta = (*su + eps).sqrt() / (*sg + eps).sqrt() * g;
                    *su = rho * *su + (1.0 - rho) * delta * delta;
                    *w -= lr * delta;
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
