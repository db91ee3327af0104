//! Adam: momentum on the gradient and RMSprop-style scaling, both bias-corrected.
//!
//! `m ← β₁·m + (1−β₁)·g`, `v ← β₂·v + (1−β₂)·g²`, then
//! `w ← w − lr · sqrt(1−β₂ᵗ)/(1−β₁ᵗ) · m / (sqrt(v) + ε)` (Kingma & Ba, 2015; Keras 3).
//! No weight decay — unlike candle-nn's AdamW.

use super::{keras_settings, UpdateRule};

keras_settings! {
    /// Adam's settings.
    Adam "adam" {
        learning_rate: f64 = 0.001, NonNegative;
        beta_1: f64 = 0.9, Fraction;
        beta_2: f64 = 0.999, Fraction;
        epsilon: f64 = 1e-7, Positive;
    }
}

impl UpdateRule for Adam {
    fn initial_state(&self) -> Vec<f32> {
        vec![0.0, 0.0] // m, v
    }

    fn update(&self, w: &mut [f32], g: &[f32], state: &mut [&mut [f32]], step: u64) {
        crate::backend::vectorized(
            #[inline(always)]
            || {
                let t = step as i32;
                let alpha =
                    (self.learning_rate * (1.0 - self.beta_2.powi(t)).sqrt() / (1.0 - self.beta_1.powi(t))) as f32;
                let (b1, b2, eps) = (self.beta_1 as f32, self.beta_2 as f32, self.epsilon as f32);
                let [m, v] = state else { return };
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= alpha * *m / (v.sqrt() + eps);
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
        // The first Adam step moves every weight by lr against the sign of its gradient.
        let first = run(Adam::default())[0];
        assert!((first[0] - 0.999).abs() < 1e-6 && (first[1] + 1.999).abs() < 1e-6);
        assert_matches(&run(Adam::default()), |i| {
            let (mut w, mut m, mut v) = (W0[i] as f64, 0.0, 0.0);
            GRADS
                .iter()
                .enumerate()
                .map(|(s, g)| {
                    let (g, t) = (g[i] as f64, s as i32 + 1);
                    m = 0.9 * m + 0.1 * g;
                    v = 0.999 * v + 0.001 * g * g;
                    let m_hat = m / (1.0 - 0.9f64.powi(t));
                    let v_hat = v / (1.0 - 0.999f64.powi(t));
                    // Keras folds the bias corrections into the step size, which moves ε slightly.
                    w -= 0.001 * m_hat / (v_hat.sqrt() + 1e-7 / (1.0 - 0.999f64.powi(t)).sqrt());
                    w
                })
                .collect()
        });
    }
}
