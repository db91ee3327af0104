//! The device-generic backend: every operation through candle's tensor operations, so it
//! runs wherever candle runs (a CUDA GPU with the `cuda` feature, or the CPU).
//!
//! Windows are gathered by index: [`Geometry::window_map`] lists, for each output pixel
//! and window position, the input pixel it reads, with one extra pixel standing for the
//! padding. `im2col` is then one `index_select` over the pixels of each image, and its
//! transpose `col2im` one `index_add`; pooling reduces the gathered windows.

use super::{Backend, Op};
use crate::padding::Geometry;
use crate::{bail, Activation, Result};
use candle_core::{DType, Device, Tensor, D};
use std::collections::HashMap;
use std::sync::Mutex;

/// Candle's operations on one device; see the module documentation.
pub(crate) struct OnDevice {
    device: Device,
    /// Per geometry: the window map, and each output pixel's count of real pixels.
    maps: Mutex<HashMap<Geometry, (Tensor, Tensor)>>,
}

impl OnDevice {
    pub(crate) fn new(device: &Device) -> Self {
        OnDevice {
            device: device.clone(),
            maps: Mutex::new(HashMap::new()),
        }
    }

    /// The window map of `g` on the device, and `(1, out pixels, 1)` real-pixel counts.
    fn map(&self, g: &Geometry) -> Result<(Tensor, Tensor)> {
        let mut maps = self.maps.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = maps.get(g) {
            return Ok(found.clone());
        }
        let map = g.window_map();
        let counts: Vec<f32> = map
            .chunks(g.window_pixels())
            .map(|window| window.iter().filter(|&&p| p as usize != g.in_pixels()).count() as f32)
            .collect();
        let made = (
            Tensor::from_vec(map, g.out_pixels() * g.window_pixels(), &self.device)?,
            Tensor::from_vec(counts, (1, g.out_pixels(), 1), &self.device)?,
        );
        maps.insert(*g, made.clone());
        Ok(made)
    }

    /// `(n, out pixels, window pixels, channels)`: every window of `n` images, padding
    /// read as `pad`.
    fn windows(&self, g: &Geometry, x: &Tensor, n: usize, pad: f32) -> Result<Tensor> {
        let (map, _) = self.map(g)?;
        let x = x.reshape((n, g.in_pixels(), g.channels))?;
        let padding = Tensor::full(pad, (n, 1, g.channels), &self.device)?;
        let padded = Tensor::cat(&[&x, &padding], 1)?;
        Ok(padded
            .index_select(&map, 1)?
            .reshape((n, g.out_pixels(), g.window_pixels(), g.channels))?)
    }

    /// Add window entries `(n, out pixels, window pixels, channels)` back to their pixels.
    fn scatter_windows(&self, g: &Geometry, windows: &Tensor, n: usize) -> Result<Tensor> {
        let (map, _) = self.map(g)?;
        let windows = windows.reshape((n, g.out_pixels() * g.window_pixels(), g.channels))?;
        let zeros = Tensor::zeros((n, g.in_pixels() + 1, g.channels), DType::F32, &self.device)?;
        Ok(zeros
            .index_add(&map, &windows, 1)?
            .narrow(1, 0, g.in_pixels())?
            .flatten_all()?)
    }

    fn vector(&self, values: &[f32]) -> Result<Tensor> {
        Ok(Tensor::from_slice(values, (1, values.len()), &self.device)?)
    }
}

/// A flat buffer as a matrix with rows of `width` values.
fn rows(x: &Tensor, width: usize) -> Result<Tensor> {
    Ok(x.reshape((x.elem_count() / width.max(1), width))?)
}

impl Backend for OnDevice {
    type Buf = Tensor;
    type Index = Tensor;

    fn device(&self) -> Device {
        self.device.clone()
    }

    fn load(&self, t: &Tensor) -> Result<Tensor> {
        Ok(t.to_device(&self.device)?.to_dtype(DType::F32)?.flatten_all()?)
    }

    fn upload(&self, values: &[f32]) -> Result<Tensor> {
        Ok(Tensor::from_slice(values, values.len(), &self.device)?)
    }

    fn download(&self, x: &Tensor) -> Result<Vec<f32>> {
        Ok(x.flatten_all()?.to_device(&Device::Cpu)?.to_vec1::<f32>()?)
    }

    fn to_tensor(&self, x: &Tensor, shape: &[usize]) -> Result<Tensor> {
        Ok(x.reshape(shape)?)
    }

    fn gather_rows(&self, data: &Tensor, width: usize, ids: &[usize]) -> Result<Tensor> {
        let ids: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
        let ids = Tensor::new(ids, &self.device)?;
        Ok(rows(data, width)?.index_select(&ids, 0)?.flatten_all()?)
    }

    fn copy(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.clone())
    }

    fn sum(&self, parts: Vec<Tensor>) -> Result<Tensor> {
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            bail!(Internal, "backend: a sum of no buffers");
        };
        parts.try_fold(first, |total, part| Ok(total.add(&part)?))
    }

    fn matmul(&self, (m, k, n): (usize, usize, usize), a: &Tensor, a_op: Op, b: &Tensor, b_op: Op) -> Result<Tensor> {
        let a = match a_op {
            Op::Plain => a.reshape((m, k))?,
            Op::Transposed => a.reshape((k, m))?.t()?,
        };
        let b = match b_op {
            Op::Plain => b.reshape((k, n))?,
            Op::Transposed => b.reshape((n, k))?.t()?,
        };
        Ok(a.matmul(&b)?.flatten_all()?)
    }

    fn bias_activation(
        &self,
        z: Tensor,
        bias: Option<&Tensor>,
        width: usize,
        activation: Activation,
    ) -> Result<Tensor> {
        let mut z = rows(&z, width)?;
        if let Some(bias) = bias {
            z = z.broadcast_add(&bias.reshape((1, width))?)?;
        }
        let y = match activation {
            Activation::Relu => z.relu()?,
            Activation::Sigmoid => candle_nn::ops::sigmoid(&z)?,
            Activation::Tanh => z.tanh()?,
            Activation::Softmax => candle_nn::ops::softmax_last_dim(&z)?,
            Activation::Linear => z,
        };
        Ok(y.flatten_all()?)
    }

    fn activation_backward(&self, dy: Tensor, y: &Tensor, width: usize, activation: Activation) -> Result<Tensor> {
        Ok(match activation {
            Activation::Relu => dy.mul(&y.gt(0f32)?.to_dtype(DType::F32)?)?,
            Activation::Sigmoid => dy.mul(&y.mul(&y.affine(-1.0, 1.0)?)?)?,
            Activation::Tanh => dy.mul(&y.sqr()?.affine(-1.0, 1.0)?)?,
            Activation::Softmax => {
                let (dy, y) = (rows(&dy, width)?, rows(y, width)?);
                let dot = dy.mul(&y)?.sum_keepdim(D::Minus1)?;
                y.mul(&dy.broadcast_sub(&dot)?)?.flatten_all()?
            }
            Activation::Linear => dy,
        })
    }

    fn column_sums(&self, m: &Tensor, width: usize) -> Result<Tensor> {
        Ok(rows(m, width)?.sum(0)?)
    }

    fn im2col(&self, g: &Geometry, x: &Tensor, n: usize) -> Result<Tensor> {
        Ok(self.windows(g, x, n, 0.0)?.flatten_all()?)
    }

    fn col2im(&self, g: &Geometry, cols: &Tensor, n: usize) -> Result<Tensor> {
        self.scatter_windows(g, cols, n)
    }

    fn max_pool(&self, g: &Geometry, x: &Tensor, n: usize) -> Result<(Tensor, Tensor)> {
        let windows = self.windows(g, x, n, f32::NEG_INFINITY)?;
        let winners = windows.argmax_keepdim(2)?;
        Ok((windows.max(2)?.flatten_all()?, winners))
    }

    fn max_pool_backward(&self, g: &Geometry, winners: &Tensor, dy: &Tensor, n: usize) -> Result<Tensor> {
        // A one-hot mask of each window's winner, times the output's gradient.
        let positions = Tensor::arange(0u32, g.window_pixels() as u32, &self.device)?.reshape((1, 1, (), 1))?;
        let mask = winners.broadcast_eq(&positions)?.to_dtype(DType::F32)?;
        let dy = dy.reshape((n, g.out_pixels(), 1, g.channels))?;
        self.scatter_windows(g, &mask.broadcast_mul(&dy)?, n)
    }

    fn avg_pool(&self, g: &Geometry, x: &Tensor, n: usize) -> Result<Tensor> {
        let (_, counts) = self.map(g)?;
        let sums = self.windows(g, x, n, 0.0)?.sum(2)?;
        Ok(sums.broadcast_div(&counts)?.flatten_all()?)
    }

    fn avg_pool_backward(&self, g: &Geometry, dy: &Tensor, n: usize) -> Result<Tensor> {
        let (_, counts) = self.map(g)?;
        let share = dy
            .reshape((n, g.out_pixels(), g.channels))?
            .broadcast_div(&counts)?
            .unsqueeze(2)?
            .broadcast_as((n, g.out_pixels(), g.window_pixels(), g.channels))?
            .contiguous()?;
        self.scatter_windows(g, &share, n)
    }

    fn scale(&self, x: &Tensor, factors: &[f32]) -> Result<Tensor> {
        Ok(x.mul(&self.upload(factors)?)?)
    }

    fn channel_affine(&self, x: &Tensor, width: usize, (p, r): (&[f32], &[f32])) -> Result<Tensor> {
        let scaled = rows(x, width)?.broadcast_mul(&self.vector(p)?)?;
        Ok(scaled.broadcast_add(&self.vector(r)?)?.flatten_all()?)
    }

    fn channel_mix(&self, a: Tensor, b: &Tensor, width: usize, (p, q, r): (&[f32], &[f32], &[f32])) -> Result<Tensor> {
        let b = rows(b, width)?.broadcast_mul(&self.vector(q)?)?;
        let mixed = rows(&a, width)?.broadcast_mul(&self.vector(p)?)?.add(&b)?;
        Ok(mixed.broadcast_add(&self.vector(r)?)?.flatten_all()?)
    }

    fn channel_sums(&self, a: &Tensor, b: &Tensor, width: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        let (a, b) = (rows(a, width)?, rows(b, width)?);
        let as_f64 = |t: Tensor| -> Result<Vec<f64>> {
            Ok(t.to_device(&Device::Cpu)?
                .to_vec1::<f32>()?
                .into_iter()
                .map(f64::from)
                .collect())
        };
        Ok((as_f64(a.sum(0)?)?, as_f64(a.mul(&b)?.sum(0)?)?))
    }
}
