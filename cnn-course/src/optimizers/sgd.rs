//! Stochastic gradient descent, with optional (Nesterov) momentum.
//!
//! Without momentum: `w ← w − lr · g`. With momentum `m`, a velocity accumulates past
//! steps: `v ← m · v − lr · g`, then `w ← w + v`, or with Nesterov `w ← w + m · v − lr · g`
//! (Keras 3's formulation).

use super::{keras_settings, UpdateRule};

keras_settings! {
    /// SGD's settings.
    SGD "sgd" {
        learning_rate: f64 = 0.01, NonNegative;
        momentum: f64 = 0.0, UpToOne;
        nesterov: bool = false;
    }
}

impl UpdateRule for SGD {
    fn initial_state(&self) -> Vec<f32> {
        vec![0.0] // velocity
    }

    fn update(&self, w: &mut [f32], g: &[f32], state: &mut [&mut [f32]], _step: u64) {
        crate::backend::vectorized(
            #[inline(always)]
            || {
                let (lr, momentum) = (self.learning_rate as f32, self.momentum as f32);
                if self.momentum == 0.0 {
                    w.iter_mut().zip(g).for_each(|(w, g)| *w -= lr * g);
                    return;
                }
                for ((w, g), v) in w.iter_mut().zip(g).zip(state[0].iter_mut()) {
                    *v = momentum * *v - lr * g;
                    *w += match self.nesterov {
                        true => momentum * *v - lr * g,
                        false => *v,
                    };
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
    fn plain_momentum_and_nesterov_follow_the_rule() {
        // By hand: w = 1, g = 0.5, lr = 0.01 → 0.995.
        assert!((run(SGD::default())[0][0] - 0.995).abs() < 1e-7);
        for nesterov in [false, true] {
            let rule = SGD {
                learning_rate: 0.1,
                momentum: 0.9,
                nesterov,
            };
            assert_matches(&run(rule), |i| {
                let (mut w, mut v) = (W0[i] as f64, 0.0);
                GRADS
                    .iter()
                    .map(|g| {
                        let g = g[i] as f64;
                        v = 0.9 * v - 0.1 * g;
                        w += if nesterov { 0.9 * v - 0.1 * g } else { v };
                        w
                    })
                    .collect()
            });
        }
    }
}
