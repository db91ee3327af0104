//! Adamax: Adam with the infinity norm — the largest recent gradient — in place of the RMS.
//!
//! `m ← β₁·m + (1−β₁)·g`, `u ← max(β₂·u, |g|)`, `w ← w − lr/(1−β₁ᵗ) · m / (u + ε)`.

use super::{keras_settings, UpdateRule};

keras_settings! {
    /// Adamax's settings.
    Adamax "adamax" {
        learning_rate: f64 = 0.001, NonNegative;
        beta_1: f64 = 0.9, Fraction;
        beta_2: f64 = 0.999, Fraction;
        epsilon: f64 = 1e-7, Positive;
    }
}

impl UpdateRule for Adamax {
    fn initial_state(&self) -> Vec<f32> {
        vec![0.0, 0.0] // m, u
    }

    fn update(&self, w: &mut [f32], g: &[f32], state: &mut [&mut [f32]], step: u64) {
        crate::backend::vectorized(
            #[inline(always)]
            || {
                let rate = (self.learning_rate / (1.0 - self.beta_1.powi(step as i32))) as f32;
                let (b1, b2, eps) = (self.beta_1 as f32, self.beta_2 as f32, self.epsilon as f32);
                let [m, u] = state else { return };
                for (((w, &g), m), u) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(u.iter_mut()) {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *u = (b2 * *u).max(g.abs());
                    *w -= rate * *m / (*u + eps);
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
        assert_matches(&run(Adamax::default()), |i| {
            let (mut w, mut m, mut u) = (W0[i] as f64, 0.0f64, 0.0f64);
            GRADS
                .iter()
                .enumerate()
                .map(|(s, g)| {
                    let g = g[i] as f64;
                    m = 0.9 * m + 0.1 * g;
                    u = (0.999 * u).max(g.abs());
                    w -= 0.001 / (1.0 - 0.9f64.powi(s as i32 + 1)) * m / (u + 1e-7);
                    w
                })
                .collect()
        });
    }
}
