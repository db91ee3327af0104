//! `Dropout`: during training, ignore a random fraction of the inputs.
//!
//! In each training step every input is kept with probability `1 − rate` and set to 0
//! otherwise; kept values are scaled by `1 / (1 − rate)` so their expected sum stays the
//! same. Dropped units take part in neither the forward nor the backward pass of that step,
//! so no unit can rely on another always being there (Srivastava et al., 2014). At
//! prediction time the layer does nothing. Masks come from the crate's seeded generator.
//!
//! # Shapes
//! - output: the same as the input.

use super::Layer;
use crate::{bail, rng, Result};
use candle_core::{Device, Tensor};

/// Dropout, as Keras' `Dropout`.
#[derive(Clone)]
pub struct Dropout {
    rate: f64,
}

impl Dropout {
    /// Drop each input with probability `rate`, in `[0, 1)`.
    pub fn new(rate: f64) -> Self {
        Dropout { rate }
    }

    /// The fraction of inputs dropped.
    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }

    /// The training-time output for a given keep mask of 0s and 1s.
    fn apply_mask(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        Ok(x.mul(&mask.affine(1.0 / (1.0 - self.rate), 0.0)?)?)
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
            bail!(
                "{name}: rate must be in [0, 1), got {}; hint: the rate is the fraction of inputs dropped, e.g. Dropout::new(0.25)",
                self.rate
            );
        }
        Ok(input_shape.to_vec())
    }

    fn config(&self) -> Vec<(&'static str, String)> {
        vec![("rate", self.rate.to_string())]
    }

    fn pre_activation(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let keep = rng::bernoulli(x.elem_count(), 1.0 - self.rate);
        let mask = Tensor::from_vec(keep, x.dims(), x.device())?.to_dtype(x.dtype())?;
        self.apply_mask(x, &mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;

    #[test]
    fn drops_about_rate_and_rescales_the_rest() {
        let _guard = crate::testing::seed_lock();
        crate::set_seed(9);
        let mut layer = Dropout::new(0.25);
        layer.build("dropout", &[1000], &Device::Cpu).unwrap();
        let x = Tensor::ones((4, 1000), candle_core::DType::F32, &Device::Cpu).unwrap();
        let y = layer
            .forward(&x, true)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
        assert!((dropped - 0.25).abs() < 0.03, "dropped {dropped}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        // Inference leaves the input alone.
        let same = layer.forward(&x, false).unwrap();
        assert_eq!(same.sum_all().unwrap().to_scalar::<f32>().unwrap(), 4000.0);
    }

    #[test]
    fn the_gradient_with_a_fixed_mask_matches_finite_differences() {
        let layer = Dropout::new(0.5);
        let x_values = vec![0.3f32, -1.2, 2.0, 0.7];
        let mask = Tensor::new(&[1f32, 0.0, 1.0, 0.0], &Device::Cpu).unwrap();
        let r = Tensor::new(&[0.5f32, -2.0, 1.5, 3.0], &Device::Cpu).unwrap();
        let loss = |v: &[f32]| -> f32 {
            let x = Tensor::new(v, &Device::Cpu).unwrap();
            layer
                .apply_mask(&x, &mask)
                .unwrap()
                .mul(&r)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar()
                .unwrap()
        };
        let x = Var::new(x_values.as_slice(), &Device::Cpu).unwrap();
        let grads = layer
            .apply_mask(x.as_tensor(), &mask)
            .unwrap()
            .mul(&r)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let analytic = grads.get(x.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        for i in 0..4 {
            let (mut up, mut down) = (x_values.clone(), x_values.clone());
            up[i] += 1e-2;
            down[i] -= 1e-2;
            let numeric = (loss(&up) - loss(&down)) / 2e-2;
            assert!(
                (numeric - analytic[i]).abs() < 1e-3,
                "{i}: {numeric} vs {}",
                analytic[i]
            );
        }
        // Dropped inputs get no gradient; kept ones get r / (1 − rate).
        assert_eq!(analytic[1], 0.0);
        assert!((analytic[0] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_rate_outside_zero_to_one_is_refused() {
        for rate in [1.0, -0.1, 1.5] {
            let mut layer = Dropout::new(rate);
            assert_eq!(
                layer.build("dropout", &[10], &Device::Cpu).err().unwrap().to_string(),
                format!("dropout: rate must be in [0, 1), got {rate}; hint: the rate is the fraction of inputs dropped, e.g. Dropout::new(0.25)")
            );
        }
    }
}
