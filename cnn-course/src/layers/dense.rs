//! `Dense`: every output unit is a weighted sum of every input, plus a bias.
//!
//! `y = activation(x · W + b)`. A Dense layer on a flattened 28×28 image has a weight for
//! every pixel and unit: 784 · 10 + 10 = 7,850 parameters for 10 units.
//!
//! # Shapes
//! - input: `(batch, features)`
//! - output: `(batch, units)`
//! - kernel `W`: `(features, units)` (Keras order); bias `b`: `(units,)`.

use super::Param;
use super::{not_built, Layer, Weight};
use crate::activation::ActivationName;
use crate::arrays::keras_shape;
use crate::initializers::{constant, glorot_uniform};
use crate::{bail, Activation, Result};
use candle_core::{Device, Tensor};

/// A fully connected layer, as Keras' `Dense`.
#[derive(Clone)]
pub struct Dense {
    units: usize,
    activation: ActivationName,
    use_bias: bool,
    built: Option<Built>,
}

#[derive(Clone)]
struct Built {
    kernel: Param,
    bias: Option<Param>,
    activation: Activation,
}

impl Dense {
    /// A layer of `units` outputs, linear activation, with bias.
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            activation: ActivationName::default(),
            use_bias: true,
            built: None,
        }
    }

    /// `"relu"`, `"softmax"`, `"sigmoid"`, `"tanh"` or `"linear"` (default).
    pub fn activation(mut self, activation: &str) -> Self {
        self.activation = ActivationName(activation.into());
        self
    }

    /// Whether to add a bias per unit (default true).
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    /// Kernel `(features, units)`, bias and activation, for the CPU training step
    /// (`crate::cpu`); `None` before the layer is built.
    pub(crate) fn parts(&self) -> Option<(Param, Option<Param>, Activation)> {
        let built = self.built.as_ref()?;
        Some((built.kernel.clone(), built.bias.clone(), built.activation))
    }
}

impl Layer for Dense {
    fn type_name(&self) -> &'static str {
        "Dense"
    }

    fn base_name(&self) -> &'static str {
        "dense"
    }

    fn build(&mut self, name: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>> {
        let &[features] = input_shape else {
            bail!(
                "{name}: Dense expects flat input of shape (features,), got input shape {}; hint: add Flatten() before this Dense layer",
                keras_shape(input_shape)
            );
        };
        if self.units == 0 {
            bail!("{name}: units must be at least 1, got 0; hint: Dense::new(10) makes 10 outputs");
        }
        let activation = self.activation.parse(name)?;
        let kernel = Param::new(glorot_uniform(&[features, self.units], features, self.units, device)?);
        let bias = match self.use_bias {
            true => Some(Param::new(constant(&[self.units], 0.0, device)?)),
            false => None,
        };
        self.built = Some(Built {
            kernel,
            bias,
            activation,
        });
        Ok(vec![self.units])
    }

    fn pre_activation(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let built = self.built.as_ref().ok_or_else(|| not_built("Dense"))?;
        let y = x.matmul(&built.kernel.tensor())?;
        match &built.bias {
            Some(bias) => Ok(y.broadcast_add(&bias.tensor())?),
            None => Ok(y),
        }
    }

    fn activation(&self) -> Activation {
        self.built.as_ref().map(|b| b.activation).unwrap_or_default()
    }

    fn weights(&self) -> Vec<Weight> {
        let Some(built) = &self.built else {
            return Vec::new();
        };
        let mut weights = vec![Weight::new("kernel", &built.kernel, true, None)];
        if let Some(bias) = &built.bias {
            weights.push(Weight::new("bias", bias, true, None));
        }
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::check_layer_gradients;

    #[test]
    fn computes_x_times_w_plus_b_and_its_gradients() {
        let _guard = crate::testing::seed_lock();
        crate::set_seed(5);
        let mut layer = Dense::new(3).activation("tanh");
        assert_eq!(layer.build("dense", &[4], &Device::Cpu).unwrap(), vec![3]);
        let x = Tensor::new(&[[1f32, 2.0, 3.0, 4.0]], &Device::Cpu).unwrap();
        let w = layer.weights()[0].var.as_tensor().to_vec2::<f32>().unwrap();
        let y = layer.pre_activation(&x, false).unwrap().to_vec2::<f32>().unwrap();
        for unit in 0..3 {
            let want: f32 = (0..4).map(|i| (i + 1) as f32 * w[i][unit]).sum();
            assert!((y[0][unit] - want).abs() < 1e-5);
        }
        check_layer_gradients(&layer, &[4]);
    }

    #[test]
    fn image_input_asks_for_flatten() {
        let mut layer = Dense::new(10);
        assert_eq!(
            layer.build("dense", &[26, 26, 32], &Device::Cpu).err().unwrap().to_string(),
            "dense: Dense expects flat input of shape (features,), got input shape (None, 26, 26, 32); hint: add Flatten() before this Dense layer"
        );
    }
}
