//! `Dropout`: during training, ignore a random fraction of the inputs.
//!
//! In each training step every input is kept with probability `1 − rate` and set to 0
//! otherwise; kept values are scaled by `1 / (1 − rate)` so their expected sum stays the
//! same. Dropped units take part in neither the forward nor the backward pass of that step,
//! so no unit can rely on another always being there (Srivastava et al., 2014). At
//! prediction time the layer does nothing. Masks come from the model's seeded generator.
//!
//! # Forward and backward
//! ```text
//! training:   m  = 1 / (1 − rate) with probability 1 − rate, else 0   (one per value, per step)
//!             y  = x ⊙ m
//!             dx = dy ⊙ m          a dropped value passes no gradient back
//! inference:  y  = x
//! ```
//!
//! # Shapes
//! - output: the same as the input.

use super::{Gradients, Kept, Layer, Needs, Pass};
use crate::backend::Backend;
use crate::{bail, rng, Result};
use candle_core::Device;

/// Dropout, as Keras' `Dropout`.
#[derive(Clone)]
pub struct Dropout {
    rate: f64,
    /// Values of one sample (known once built).
    per_sample: usize,
}

impl Dropout {
    /// Drop each input with probability `rate`, in `[0, 1)`.
    pub fn new(rate: f64) -> Self {
        Dropout { rate, per_sample: 0 }
    }

    /// The fraction of inputs dropped.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

impl Layer for Dropout {
    fn type_name(&self) -> &'static str {
        "Dropout"
    }

    fn base_name(&self) -> &'static str {
        "dropout"
    }

    fn build(&mut self, name: &str, input_shape: &[usize], _device: &Device) -> Result<Vec<usize>> {
        if !(0.0..1.0).contains(&self.rate) {
            bail!(Setting,
                "{name}: rate must be in [0, 1), got {}; hint: the rate is the fraction of inputs dropped, e.g. Dropout::new(0.25)",
                self.rate
            );
        }
        if 1.0 - self.rate < rng::SMALLEST_PROBABILITY {
            bail!(Setting,
                "{name}: rate {} keeps a fraction {:e} of the inputs, too few to draw (the smallest is {:e}); hint: usual rates are 0.2 to 0.5",
                self.rate,
                1.0 - self.rate,
                rng::SMALLEST_PROBABILITY
            );
        }
        self.per_sample = input_shape.iter().product();
        Ok(input_shape.to_vec())
    }

    fn config(&self) -> Vec<(&'static str, String)> {
        vec![("rate", self.rate.to_string())]
    }

    fn draw(&self, batch: usize) -> Option<Vec<f32>> {
        if self.rate == 0.0 {
            return None;
        }
        let scale = (1.0 / (1.0 - self.rate)) as f32;
        Some(rng::scaled_bernoulli(batch * self.per_sample, 1.0 - self.rate, scale))
    }

    fn forward<B: Backend>(&self, pass: &Pass<B>, x: &B::Buf) -> Result<(B::Buf, Kept<B>)> {
        let b = pass.backend;
        let y = match (pass.train, pass.drawn) {
            (true, Some(mask)) => b.scale(x, mask)?,
            _ => b.copy(x)?,
        };
        Ok((y, Kept::Nothing))
    }

    fn backward<B: Backend>(
        &self,
        pass: &Pass<B>,
        _io: (Option<&B::Buf>, Option<&B::Buf>),
        _kept: Kept<B>,
        dy: B::Buf,
        needs: Needs,
    ) -> Result<Gradients<B>> {
        let dx = match (needs.input, pass.drawn) {
            (false, _) => None,
            (true, Some(mask)) => Some(pass.backend.scale(&dy, mask)?),
            (true, None) => Some(dy),
        };
        Ok(Gradients::input_only(dx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer_with, run};

    #[test]
    fn drops_about_rate_and_rescales_the_rest() {
        let _guard = crate::testing::seed_lock();
        crate::set_seed(9);
        let mut layer = Dropout::new(0.25);
        layer.build("dropout", &[1000], &Device::Cpu).unwrap();
        let mask = layer.draw(4).unwrap();
        let y = run(&crate::backend::Host::new(), &layer, &[1.0; 4000], 4, Some(&mask), None).y;
        let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
        assert!((dropped - 0.25).abs() < 0.03, "dropped {dropped}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        // Inference leaves the input alone.
        assert_eq!(
            crate::layers::gradient_check::outputs(&layer, &[1.0; 4000], 4),
            vec![1.0; 4000]
        );
    }

    #[test]
    fn the_gradient_with_a_fixed_mask_matches_finite_differences() {
        let mut layer = Dropout::new(0.5);
        layer.build("dropout", &[4], &Device::Cpu).unwrap();
        let mask: Vec<f32> = (0..12).map(|i| [2.0, 0.0, 2.0, 0.0][i % 4]).collect();
        check_layer_with(&layer, &[4], Some(&mask));
    }

    #[test]
    fn extreme_rates_drop_what_they_say() {
        let _guard = crate::testing::seed_lock();
        crate::set_seed(2);
        // 0.999999 keeps one value in a million: about 10 of 10 million, not none.
        let mut layer = Dropout::new(0.999_999);
        layer.build("dropout", &[10_000_000], &Device::Cpu).unwrap();
        let kept = layer.draw(1).unwrap().iter().filter(|&&m| m > 0.0).count();
        assert!((3..=25).contains(&kept), "kept {kept}");
    }

    #[test]
    fn a_rate_outside_zero_to_one_is_refused() {
        for rate in [1.0, -0.1, 1.5, f64::NAN] {
            let mut layer = Dropout::new(rate);
            assert_eq!(
                layer.build("dropout", &[10], &Device::Cpu).err().unwrap().to_string(),
                format!("dropout: rate must be in [0, 1), got {rate}; hint: the rate is the fraction of inputs dropped, e.g. Dropout::new(0.25)")
            );
        }
        let mut layer = Dropout::new(1.0 - 1e-12);
        assert!(layer
            .build("dropout", &[10], &Device::Cpu)
            .unwrap_err()
            .to_string()
            .contains("too few to draw"));
    }
}
