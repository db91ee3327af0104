//! Any built-in layer, as one concrete type.
//!
//! A model stores its layers in this enum rather than as trait objects. The reason is
//! evcxr: each notebook cell is compiled into its own library, with its own copy of this
//! crate and of candle. A trait object runs the code of the cell that created it, so a
//! training step in a later cell would mix tensors numbered by two copies of candle, and
//! candle's backward pass tells tensors apart by those numbers. With an enum, the code of
//! the cell that calls `fit` runs every layer.

use super::{AvgPool2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, Weight};
use crate::{Activation, Result};
use candle_core::{Device, Tensor};

/// One of the crate's layers.
#[derive(Clone)]
pub enum AnyLayer {
    Conv2D(Conv2D),
    MaxPool2D(MaxPool2D),
    AvgPool2D(AvgPool2D),
    Flatten(Flatten),
    Dense(Dense),
    Dropout(Dropout),
    BatchNormalization(BatchNormalization),
}

impl AnyLayer {
    fn inner(&self) -> &dyn Layer {
        match self {
            AnyLayer::Conv2D(l) => l,
            AnyLayer::MaxPool2D(l) => l,
            AnyLayer::AvgPool2D(l) => l,
            AnyLayer::Flatten(l) => l,
            AnyLayer::Dense(l) => l,
            AnyLayer::Dropout(l) => l,
            AnyLayer::BatchNormalization(l) => l,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Layer {
        match self {
            AnyLayer::Conv2D(l) => l,
            AnyLayer::MaxPool2D(l) => l,
            AnyLayer::AvgPool2D(l) => l,
            AnyLayer::Flatten(l) => l,
            AnyLayer::Dense(l) => l,
            AnyLayer::Dropout(l) => l,
            AnyLayer::BatchNormalization(l) => l,
        }
    }
}

impl Layer for AnyLayer {
    fn type_name(&self) -> &'static str {
        self.inner().type_name()
    }

    fn base_name(&self) -> &'static str {
        self.inner().base_name()
    }

    fn build(&mut self, name: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>> {
        self.inner_mut().build(name, input_shape, device)
    }

    fn pre_activation(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.inner().pre_activation(x, train)
    }

    fn activation(&self) -> Activation {
        self.inner().activation()
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.inner().forward(x, train)
    }

    fn weights(&self) -> Vec<Weight> {
        self.inner().weights()
    }

    fn config(&self) -> Vec<(&'static str, String)> {
        self.inner().config()
    }
}

macro_rules! any_layer_from {
    ($($kind:ident),*) => {$(
        impl From<$kind> for AnyLayer {
            fn from(layer: $kind) -> Self {
                AnyLayer::$kind(layer)
            }
        }
    )*};
}
any_layer_from!(
    Conv2D,
    MaxPool2D,
    AvgPool2D,
    Flatten,
    Dense,
    Dropout,
    BatchNormalization
);
