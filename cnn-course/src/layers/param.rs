//! A weight's storage: a shared slot holding a candle tensor, in Keras' layout.
//!
//! The slot is shared by every handle to the model (its clones, the layer handles that
//! `model.layers()` returns), as a Keras model's weights are: training through one
//! handle changes what all of them see. The optimizer replaces the tensor after each step.

use candle_core::Tensor;
use std::sync::{Arc, RwLock};

/// A shared, replaceable weight tensor.
#[derive(Clone, Debug)]
pub struct Param(Arc<RwLock<Tensor>>);

impl Param {
    /// A weight holding `values`.
    pub fn new(values: Tensor) -> Self {
        Param(Arc::new(RwLock::new(values)))
    }

    /// The current values.
    pub fn get(&self) -> Tensor {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replace the values (same shape, checked by the callers).
    pub fn set(&self, values: Tensor) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = values;
    }

    /// The shape, Keras order.
    pub fn dims(&self) -> Vec<usize> {
        self.get().dims().to_vec()
    }

    /// Number of values.
    pub fn elem_count(&self) -> usize {
        self.get().elem_count()
    }
}
