//! Moving data between ndarray arrays (what a learner holds) and candle tensors (what the
//! model computes with). Both use Keras' layout: images `(samples, rows, cols, channels)`.

use crate::{bail, Result};
use candle_core::{DType, Device, Tensor};
use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};

/// Element types that arrays may hold when they are given to the crate; all become `f32`.
pub trait Element: Copy {
    /// The value as an `f32` (`u8` 255 becomes 255.0: scaling is the learner's step).
    fn to_f32(self) -> f32;
}

macro_rules! element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            fn to_f32(self) -> f32 {
                self as f32
            }
        }
    )*};
}
element!(f32, f64, u8, u16, u32, u64, usize, i32, i64);

/// Anything that can be turned into a tensor: ndarray arrays of any rank and number type,
/// and candle tensors themselves.
pub trait IntoTensor {
    /// The tensor, as `f32` on `device`, in the array's own (Keras) layout.
    fn to_tensor_on(&self, device: &Device) -> Result<Tensor>;

    /// The tensor on the CPU.
    fn to_tensor(&self) -> Result<Tensor> {
        self.to_tensor_on(&Device::Cpu)
    }
}

impl<S, D, T> IntoTensor for ArrayBase<S, D>
where
    S: Data<Elem = T>,
    D: Dimension,
    T: Element,
{
    fn to_tensor_on(&self, device: &Device) -> Result<Tensor> {
        let values: Vec<f32> = self.iter().map(|v| v.to_f32()).collect();
        Ok(Tensor::from_vec(values, self.shape(), device)?)
    }
}

impl<T: IntoTensor + ?Sized> IntoTensor for &T {
    fn to_tensor_on(&self, device: &Device) -> Result<Tensor> {
        (*self).to_tensor_on(device)
    }
}

impl IntoTensor for Tensor {
    fn to_tensor_on(&self, device: &Device) -> Result<Tensor> {
        Ok(self.to_dtype(DType::F32)?.to_device(device)?)
    }
}

/// A tensor's values as an ndarray array of the same shape.
///
/// ```
/// use cnn_course::{arrays::to_array, candle::{Device, Tensor}};
/// let t = Tensor::new(&[[1f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap();
/// let a = to_array(&t).unwrap();
/// assert_eq!(a[[1, 0]], 3.0);
/// ```
pub fn to_array(tensor: &Tensor) -> Result<ArrayD<f32>> {
    let values = tensor
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_device(&Device::Cpu)?
        .to_vec1::<f32>()?;
    match ArrayD::from_shape_vec(IxDyn(tensor.dims()), values) {
        Ok(array) => Ok(array),
        Err(e) => bail!(Shape, "to_array: {e}"),
    }
}

/// The largest and smallest value of an array of floats.
///
/// Rust's floating-point numbers have no `max()` for iterators: a NaN is neither larger
/// nor smaller than anything, so there may be no answer. These methods leave NaN out.
///
/// ```
/// use cnn_course::prelude::*;
/// let image = array![[0.1f32, 0.9], [0.4, 0.0]];
/// assert_eq!((image.max_value(), image.min_value()), (0.9, 0.0));
/// ```
pub trait ArrayStats {
    /// The largest value (`f32::NEG_INFINITY` for an empty array).
    fn max_value(&self) -> f32;
    /// The smallest value (`f32::INFINITY` for an empty array).
    fn min_value(&self) -> f32;
}

impl<S: Data<Elem = f32>, D: Dimension> ArrayStats for ArrayBase<S, D> {
    fn max_value(&self) -> f32 {
        self.iter().fold(f32::NEG_INFINITY, |best, &v| best.max(v))
    }

    fn min_value(&self) -> f32 {
        self.iter().fold(f32::INFINITY, |best, &v| best.min(v))
    }
}

/// A shape as Keras prints it, with `None` for the batch: `(None, 26, 26, 32)`.
pub fn keras_shape(dims: &[usize]) -> String {
    let mut parts = vec!["None".to_string()];
    parts.extend(dims.iter().map(|d| d.to_string()));
    format!("({})", parts.join(", "))
}

/// A full shape, batch included: `(50, 28, 28, 1)`.
pub fn full_shape(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array4};

    #[test]
    fn arrays_and_tensors_round_trip_in_keras_layout() {
        let a = Array4::from_shape_fn((2, 3, 4, 5), |(n, r, c, ch)| (n * 1000 + r * 100 + c * 10 + ch) as f32);
        let t = a.to_tensor().unwrap();
        assert_eq!(t.dims(), &[2, 3, 4, 5]);
        assert_eq!(to_array(&t).unwrap(), a.into_dyn());
    }

    #[test]
    fn integer_arrays_become_f32() {
        let labels = Array1::from(vec![0u8, 2, 1]);
        assert_eq!(
            labels.to_tensor().unwrap().to_vec1::<f32>().unwrap(),
            vec![0.0, 2.0, 1.0]
        );
        // Views and non-standard layouts convert by logical order.
        let a = ndarray::arr2(&[[1f64, 2.0], [3.0, 4.0]]);
        let t = a.t().to_tensor().unwrap();
        assert_eq!(t.to_vec2::<f32>().unwrap(), vec![vec![1.0, 3.0], vec![2.0, 4.0]]);
    }

    #[test]
    fn shapes_print_as_keras_prints_them() {
        assert_eq!(keras_shape(&[26, 26, 32]), "(None, 26, 26, 32)");
        assert_eq!(full_shape(&[50]), "(50,)");
        assert_eq!(full_shape(&[50, 28, 28]), "(50, 28, 28)");
    }
}
