//! A weight's storage: a shared slot holding a candle `Var`.
//!
//! Why a slot and not the `Var` itself: in an evcxr notebook every cell is a separate
//! library with its own copy of candle, and each copy numbers its tensors from 1. candle's
//! backward pass tells tensors apart by those numbers, so a training step must not mix
//! tensors numbered by different copies. Before training, `fit` re-creates every weight in
//! its own copy ([`Param::rehome`]) — same values, fresh number — and because the slot is
//! shared, every handle to the model (clones, layer handles) sees the new variable.

use crate::Result;
use candle_core::{Tensor, Var};
use std::sync::{Arc, RwLock};

/// A shared, replaceable weight variable.
#[derive(Clone, Debug)]
pub struct Param(Arc<RwLock<Var>>);

impl Param {
    pub fn new(var: Var) -> Self {
        Param(Arc::new(RwLock::new(var)))
    }

    /// The current variable.
    pub fn var(&self) -> Var {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The current values, as a tensor that tracks gradients.
    pub fn tensor(&self) -> Tensor {
        self.var().as_tensor().clone()
    }

    /// Replace the variable by a new one with the same values, created by the code that
    /// calls this (so by the notebook cell's own copy of candle).
    pub fn rehome(&self) -> Result<()> {
        let mut slot = self.0.write().unwrap_or_else(|p| p.into_inner());
        let fresh = Var::from_tensor(&slot.as_tensor().copy()?)?;
        *slot = fresh;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn rehoming_keeps_the_values_gives_a_new_tensor_and_every_handle_sees_it() {
        let param = Param::new(Var::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap());
        let handle = param.clone();
        let before = param.tensor().id();
        param.rehome().unwrap();
        assert_ne!(handle.tensor().id(), before);
        assert_eq!(handle.tensor().to_vec1::<f32>().unwrap(), vec![1.0, 2.0, 3.0]);
        // Gradients reach the new variable.
        let var = handle.var();
        let grads = var.as_tensor().sqr().unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(
            grads.get(var.as_tensor()).unwrap().to_vec1::<f32>().unwrap(),
            vec![2.0, 4.0, 6.0]
        );
    }
}
