//! `Dense`: every output unit is a weighted sum of every input, plus a bias.
//!
//! `y = activation(x · W + b)`. A Dense layer on a flattened 28×28 image has a weight for
//! every pixel and unit: 784 · 10 + 10 = 7,850 parameters for 10 units.
//!
//! # Forward and backward
//! ```text
//! forward:   z  = x · W + b                (n, units)
//!            y  = activation(z)
//! backward:  dz = dy ⊙ activation'(z)      (from y)
//!            dW = xᵀ · dz                  (features, units): input × output gradient, summed over samples
//!            db = Σ_rows dz
//!            dx = dz · Wᵀ                  (n, features)
//! ```
//!
//! # Shapes
//! - input: `(batch, features)`
//! - output: `(batch, units)`
//! - kernel `W`: `(features, units)` (Keras order); bias `b`: `(units,)`.

use super::{activation_backward, kept_map, not_built, Gradients, Kept, Layer, Needs, Param, Pass, Reads, Weight};
use crate::arrays::keras_shape;
use crate::backend::{Backend, Op};
use crate::choice::Choice;
use crate::initializers::{check_size, constant, glorot_uniform};
use crate::{bail, Activation, Result};
use candle_core::Device;

/// A fully connected layer, as Keras' `Dense`.
#[derive(Clone)]
pub struct Dense {
    units: usize,
    activation: Choice<Activation>,
    use_bias: bool,
    built: Option<Built>,
}

#[derive(Clone)]
struct Built {
    features: usize,
    kernel: Param,
    bias: Option<Param>,
    activation: Activation,
}

impl Dense {
    /// A layer of `units` outputs, linear activation, with bias.
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            activation: Choice::Value(Activation::Linear),
            use_bias: true,
            built: None,
        }
    }

    /// `"relu"`, `"softmax"`, `"sigmoid"`, `"tanh"` or `"linear"` (default), or an
    /// [`Activation`].
    pub fn activation(mut self, activation: impl Into<Choice<Activation>>) -> Self {
        self.activation = activation.into();
        self
    }

    /// Whether to add a bias per unit (default true).
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    fn built(&self) -> Result<&Built> {
        self.built.as_ref().ok_or_else(|| not_built("Dense"))
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
            bail!(Shape,
                "{name}: Dense expects flat input of shape (features,), got input shape {}; hint: add Flatten() before this Dense layer",
                keras_shape(input_shape)
            );
        };
        if self.units == 0 {
            bail!(
                Setting,
                "{name}: units must be at least 1, got 0; hint: Dense::new(10) makes 10 outputs"
            );
        }
        let activation = self.activation.resolve(name)?;
        check_size(name, &[features, self.units], device)?;
        let kernel = Param::new(glorot_uniform(&[features, self.units], features, self.units, device)?);
        let bias = match self.use_bias {
            true => Some(Param::new(constant(&[self.units], 0.0, device)?)),
            false => None,
        };
        self.built = Some(Built {
            features,
            kernel,
            bias,
            activation,
        });
        Ok(vec![self.units])
    }

    fn weights(&self) -> Vec<Weight> {
        match &self.built {
            Some(built) => Weight::kernel_and_bias(&built.kernel, built.bias.as_ref()),
            None => Vec::new(),
        }
    }

    fn activation(&self) -> Activation {
        self.built.as_ref().map(|b| b.activation).unwrap_or_default()
    }

    fn work_per_sample(&self) -> usize {
        self.built.as_ref().map(|b| b.features * self.units).unwrap_or(0)
    }

    fn forward<B: Backend>(&self, pass: &Pass<B>, x: &B::Buf) -> Result<(B::Buf, Kept<B>)> {
        let built = self.built()?;
        let b = pass.backend;
        let z = b.matmul(
            (pass.n, built.features, self.units),
            x,
            Op::Plain,
            &pass.weights[0],
            Op::Plain,
        )?;
        let y = b.bias_activation(z, pass.weights.get(1), self.units, pass.activation(built.activation))?;
        Ok((y, Kept::Nothing))
    }

    /// `x` for the kernel's gradient, `y` for the activation's.
    fn backward_reads(&self) -> Reads {
        Reads {
            input: true,
            output: self.activation() != Activation::Linear,
        }
    }

    fn backward<B: Backend>(
        &self,
        pass: &Pass<B>,
        (x, y): (Option<&B::Buf>, Option<&B::Buf>),
        _kept: Kept<B>,
        dy: B::Buf,
        needs: Needs,
    ) -> Result<Gradients<B>> {
        let built = self.built()?;
        let (b, n, features) = (pass.backend, pass.n, built.features);
        let dz = activation_backward(pass, "Dense", (dy, y), self.units, built.activation)?;
        let mut weights = Vec::new();
        if needs.weights {
            let x = kept_map(x, "Dense", "input")?;
            weights.push(b.matmul((features, n, self.units), x, Op::Transposed, &dz, Op::Plain)?);
            if pass.weights.len() > 1 {
                weights.push(b.column_sums(&dz, self.units)?);
            }
        }
        let input = match needs.input {
            true => Some(b.matmul(
                (n, self.units, features),
                &dz,
                Op::Plain,
                &pass.weights[0],
                Op::Transposed,
            )?),
            false => None,
        };
        Ok(Gradients { input, weights })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer, outputs};

    #[test]
    fn computes_x_times_w_plus_b_and_its_gradients() {
        let _guard = crate::testing::seed_lock();
        crate::set_seed(5);
        let mut layer = Dense::new(3).activation("tanh");
        assert_eq!(layer.build("dense", &[4], &Device::Cpu).unwrap(), vec![3]);
        let w = layer.weights()[0].param.get().to_vec2::<f32>().unwrap();
        let y = outputs(&layer, &[1.0, 2.0, 3.0, 4.0], 1);
        for unit in 0..3 {
            let want: f32 = (0..4).map(|i| (i + 1) as f32 * w[i][unit]).sum::<f32>().tanh();
            assert!((y[unit] - want).abs() < 1e-5);
        }
        check_layer(&layer, &[4]);
        for activation in [Activation::Softmax, Activation::Sigmoid] {
            let mut layer = Dense::new(4).activation(activation).use_bias(false);
            layer.build("dense", &[5], &Device::Cpu).unwrap();
            check_layer(&layer, &[5]);
        }
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
