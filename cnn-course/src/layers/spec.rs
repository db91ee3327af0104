//! The small types used to describe layers: sizes, input shapes, and a layer waiting to be
//! added to a model.

use super::AnyLayer;
use std::fmt;

/// A size along rows and columns: `3` means 3×3, `(3, 2)` means 3 rows × 2 columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size2 {
    /// Rows (height).
    pub rows: usize,
    /// Columns (width).
    pub cols: usize,
}

impl From<usize> for Size2 {
    fn from(n: usize) -> Self {
        Size2 { rows: n, cols: n }
    }
}

impl From<(usize, usize)> for Size2 {
    fn from((rows, cols): (usize, usize)) -> Self {
        Size2 { rows, cols }
    }
}

impl fmt::Display for Size2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.rows, self.cols)
    }
}

/// The shape of one input sample, Keras-style: `(28, 28, 1)` for greyscale images,
/// `784` or `(784,)` for flat vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputShape(pub Vec<usize>);

impl From<usize> for InputShape {
    fn from(n: usize) -> Self {
        InputShape(vec![n])
    }
}

impl From<(usize,)> for InputShape {
    fn from((n,): (usize,)) -> Self {
        InputShape(vec![n])
    }
}

impl From<(usize, usize, usize)> for InputShape {
    fn from((rows, cols, channels): (usize, usize, usize)) -> Self {
        InputShape(vec![rows, cols, channels])
    }
}

impl From<&[usize]> for InputShape {
    fn from(dims: &[usize]) -> Self {
        InputShape(dims.to_vec())
    }
}

impl From<Vec<usize>> for InputShape {
    fn from(dims: Vec<usize>) -> Self {
        InputShape(dims)
    }
}

/// A layer on its way into a model, with the optional input shape and name a learner gave.
pub struct LayerSpec {
    pub(crate) layer: AnyLayer,
    pub(crate) input_shape: Option<Vec<usize>>,
    pub(crate) name: Option<String>,
}

impl LayerSpec {
    /// The shape of one input sample; needed on the first layer of a model.
    pub fn input_shape(mut self, shape: impl Into<InputShape>) -> Self {
        self.input_shape = Some(shape.into().0);
        self
    }

    /// A name of your own instead of the automatic one (`conv2d_1`, …).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl<L: Into<AnyLayer>> From<L> for LayerSpec {
    fn from(layer: L) -> Self {
        LayerSpec {
            layer: layer.into(),
            input_shape: None,
            name: None,
        }
    }
}

/// `.input_shape(…)` and `.name(…)` on every layer, as Keras' `input_shape=` and `name=`.
///
/// ```
/// use cnn_course::prelude::*;
/// let first = Conv2D::new(32, 3).activation("relu").input_shape((28, 28, 1));
/// ```
pub trait WithInputShape: Into<AnyLayer> + Sized {
    /// The shape of one input sample; needed on the first layer of a model.
    fn input_shape(self, shape: impl Into<InputShape>) -> LayerSpec {
        LayerSpec::from(self).input_shape(shape)
    }

    /// A name of your own instead of the automatic one.
    fn name(self, name: impl Into<String>) -> LayerSpec {
        LayerSpec::from(self).name(name)
    }
}

impl<L: Into<AnyLayer>> WithInputShape for L {}
