//! Nadam: Adam with Nesterov momentum — the step looks ahead along the momentum.
//!
//! Keras 3's formulation, with a momentum schedule `μₜ = β₁ · (1 − 0.5 · 0.96^(0.004·t))`:
//! `m ← β₁·m + (1−β₁)·g`, `v ← β₂·v + (1−β₂)·g²`,
//! `m̂ = μₜ₊₁·m / (1 − Πμ₁..ₜ₊₁) + (1 − μₜ)·g / (1 − Πμ₁..ₜ)`, `v̂ = v / (1 − β₂ᵗ)`,
//! `w ← w − lr · m̂ / (sqrt(v̂) + ε)` (Dozat, 2016).

use super::{keras_settings, UpdateRule};

keras_settings! {
    /// Nadam's settings.
    Nadam "nadam" {
        learning_rate: f64 = 0.001, NonNegative;
        beta_1: f64 = 0.9, Fraction;
        beta_2: f64 = 0.999, Fraction;
        epsilon: f64 = 1e-7, Positive;
    }
}

impl Nadam {
    fn momentum_at(&self, step: u64) -> f64 {
        self.beta_1 * (1.0 - 0.5 * 0.96f64.powf(0.004 * step as f64))
    }

    /// The product of the momentum schedule from step 1 to `step`.
    fn momentum_product(&self, step: u64) -> f64 {
        (1..=step).map(|t| self.momentum_at(t)).product()
    }
}

impl UpdateRule for Nadam {
    fn initial_state(&self) -> Vec<f32> {
        vec![0.0, 0.0] // m, v
    }

    fn update(&self, w: &mut [f32], g: &[f32], state: &mut [&mut [f32]], step: u64) {
        crate::backend::vectorized(
            #[inline(always)]
            || {
                let (u_t, u_next) = (self.momentum_at(step), self.momentum_at(step + 1));
                let product = self.momentum_product(step);
                let product_next = product * u_next;
                let (m_scale, g_scale) = (
                    (u_next / (1.0 - product_next)) as f32,
                    ((1.0 - u_t) / (1.0 - product)) as f32,
                );
                let v_scale = (1.0 / (1.0 - self.beta_2.powi(step as i32))) as f32;
                let (b1, b2, eps, lr) = (
                    self.beta_1 as f32,
                    self.beta_2 as f32,
                    self.epsilon as f32,
                    self.learning_rate as f32,
                );
                let [m, v] = state else { return };
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    let m_hat = m_scale * *m + g_scale * g;
                    *w -= lr * m_hat / ((v_scale * *v).sqrt() + eps);
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
        assert_matches(&run(Nadam::default()), |i| {
            let (mut w, mut m, mut v, mut product) = (W0[i] as f64, 0.0, 0.0, 1.0);
            let mu = |t: f64| 0.9 * (1.0 - 0.5 * 0.96f64.powf(0.004 * t));
            GRADS
                .iter()
                .enumerate()
                .map(|(s, g)| {
                    let (g, t) = (g[i] as f64, s as f64 + 1.0);
                    product *= mu(t);
                    let product_next = product * mu(t + 1.0);
                    m = 0.9 * m + 0.1 * g;
                    v = 0.999 * v + 0.001 * g * g;
                    let m_hat = mu(t + 1.0) * m / (1.0 - product_next) + (1.0 - mu(t)) * g / (1.0 - product);
                    let v_hat = v / (1.0 - 0.999f64.powf(t));
                    w -= 0.001 * m_hat / (v_hat.sqrt() + 1e-7);
                    w
                })
                .collect()
        });
    }
}
