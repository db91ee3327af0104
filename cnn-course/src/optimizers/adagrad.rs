//! Adagrad: each weight's step shrinks with the sum of all its past squared gradients.
//!
//! `a ← a + g²` (starting from 0.1), `w ← w − lr · g / sqrt(a + ε)`.

use super::{keras_settings, UpdateRule};

keras_settings! {
    /// Adagrad's settings.
    Adagrad "adagrad" {
        learning_rate: f64 = 0.001, NonNegative;
        initial_accumulator_value: f64 = 0.1, NonNegative;
        epsilon: f64 = 1e-7, Positive;
    }
}

impl UpdateRule for Adagrad {
    fn initial_state(&self) -> Vec<f32> {
        vec![self.initial_accumulator_value as f32]
    }

    fn update(&self, w: &mut [f32], g: &[f32], state: &mut [&mut [f32]], _step: u64) {
        crate::backend::vectorized(
            #[inline(always)]
            || {
                let (lr, eps) = (self.learning_rate as f32, self.epsilon as f32);
                for ((w, &g), sum) in w.iter_mut().zip(g).zip(state[0].iter_mut()) {
                    *sum += g * g;
                    *w -= lr * g / (*sum + eps).sqrt();
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
        // By hand: a = 0.1 + 0.25 = 0.35; w = 1 − 0.001 · 0.5 / sqrt(0.35) = 0.999155.
        assert!((run(Adagrad::default())[0][0] - 0.999_154_8).abs() < 1e-6);
        assert_matches(&run(Adagrad::default()), |i| {
            let (mut w, mut a) = (W0[i] as f64, 0.1);
            GRADS
                .iter()
                .map(|g| {
                    let g = g[i] as f64;
                    a += g * g;
                    w -= 0.001 * g / (a + 1e-7f64).sqrt();
                    w
                })
                .collect()
        });
    }
}
