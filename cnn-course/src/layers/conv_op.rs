//! A stride-1 convolution with a faster backward pass than candle's.
//!
//! candle computes a convolution's input gradient with `conv_transpose2d`, whose CPU
//! version is a direct loop, and computes it even for the first layer, whose input (the
//! images) needs no gradient. Here, for stride 1 and no dilation:
//!
//! - the input gradient is the *full* convolution of the output gradient with the kernel
//!   flipped in both directions and with input and output channels swapped — an ordinary
//!   convolution of the gradient padded by `kernel − 1` on each side, which candle runs as
//!   im2col + matrix product;
//! - it is skipped when the input tracks no gradient (the first layer);
//! - the kernel gradient is the convolution of the input with the output gradient, batch
//!   and channels swapped (as candle does).
//!
//! Checked against candle's own convolution backward in the tests below.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

/// `x.conv2d(kernel, 0, 1, 1, 1)` with the backward pass described above.
pub(crate) fn conv2d_stride1(x: &Tensor, kernel: &Tensor) -> crate::Result<Tensor> {
    Ok(x.apply_op2(kernel, Conv2dStride1)?)
}

struct Conv2dStride1;

/// A contiguous f32 copy of a storage slice, as a tensor (the op's inputs may be views).
fn tensor_of(storage: &CpuStorage, layout: &Layout) -> Result<Tensor> {
    let data = match storage {
        CpuStorage::F32(v) => v,
        _ => candle_core::bail!("conv2d-stride1: only f32 is supported"),
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Tensor::from_slice(&data[start..end], layout.shape(), &candle_core::Device::Cpu),
        None => candle_core::bail!("conv2d-stride1: the input must be contiguous"),
    }
}

impl CustomOp2 for Conv2dStride1 {
    fn name(&self) -> &'static str {
        "conv2d-stride1"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let y = tensor_of(s1, l1)?.conv2d(&tensor_of(s2, l2)?, 0, 1, 1, 1)?;
        let shape = y.shape().clone();
        Ok((CpuStorage::F32(y.flatten_all()?.to_vec1::<f32>()?), shape))
    }

    fn bwd(&self, x: &Tensor, kernel: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // Whether the input needs a gradient at all (not for the images fed to the first layer).
        let input_needs_grad = x.track_op() || x.is_variable();
        let (x, kernel, grad) = (x.detach(), kernel.detach(), grad.detach());
        let (_, _, kh, kw) = kernel.dims4()?;
        let grad_kernel = x
            .transpose(0, 1)?
            .conv2d(&grad.transpose(0, 1)?.contiguous()?, 0, 1, 1, 1)?
            .transpose(0, 1)?;
        let grad_x = if input_needs_grad {
            let reversed = |n: usize| Tensor::new((0..n as u32).rev().collect::<Vec<_>>(), kernel.device());
            let flipped = kernel
                .index_select(&reversed(kh)?, 2)?
                .index_select(&reversed(kw)?, 3)?;
            let flipped = flipped.transpose(0, 1)?.contiguous()?;
            let padded = grad
                .pad_with_zeros(2, kh - 1, kh - 1)?
                .pad_with_zeros(3, kw - 1, kw - 1)?;
            Some(padded.conv2d(&flipped, 0, 1, 1, 1)?)
        } else {
            None
        };
        Ok((grad_x, Some(grad_kernel)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn gradients_equal_candles_own() {
        let x = Var::from_tensor(&crate::testing::random_batch(3, &[9, 8, 4])).unwrap();
        let k = Var::from_tensor(&crate::testing::random_batch(5, &[3, 2, 4]).affine(0.5, 0.1).unwrap()).unwrap();
        let r = crate::testing::random_batch(3, &[7, 7, 5]);
        let ours = conv2d_stride1(x.as_tensor(), k.as_tensor()).unwrap();
        let theirs = x.as_tensor().conv2d(k.as_tensor(), 0, 1, 1, 1).unwrap();
        crate::testing::assert_close(&ours, &theirs, 1e-5);
        let g1 = ours.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = theirs.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&x, &k] {
            crate::testing::assert_close(g1.get(v.as_tensor()).unwrap(), g2.get(v.as_tensor()).unwrap(), 1e-4);
        }
    }

    #[test]
    fn no_input_gradient_for_plain_inputs() {
        let x = crate::testing::random_batch(2, &[6, 6, 1]);
        let k = Var::new(&[[[[1f32, 0.5], [0.25, -1.0]]]], &Device::Cpu).unwrap();
        let grads = conv2d_stride1(&x, k.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(grads.get(&x).is_none());
        assert!(grads.get(k.as_tensor()).is_some());
    }
}
