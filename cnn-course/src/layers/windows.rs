//! Cutting an image batch into the windows a pooling layer looks at.
//!
//! For a window of `kh × kw` pixels moving by `(sh, sw)`, [`gather_windows`] returns a
//! tensor `(batch, channels, out_rows, out_cols, kh·kw)` whose last axis lists the pixels
//! of each window. Pooling is then a reduction over that axis. Built from candle's
//! differentiable `narrow`, `pad` and `index_select`, so gradients flow back to exactly the
//! pixels each window read, on any device.

use super::Size2;
use crate::padding::AxisWindows;
use crate::Result;
use candle_core::{Tensor, D};

/// Drop the pixels no window reaches and add `pad_value` borders, along tensor axis `dim`.
pub(crate) fn crop_and_pad(x: &Tensor, dim: usize, plan: &AxisWindows, pad_value: f32) -> Result<Tensor> {
    let len = x.dim(dim)?;
    let mut x = x.narrow(dim, 0, len - plan.unused)?;
    if plan.pad_before + plan.pad_after > 0 {
        let border = |count: usize| -> Result<Tensor> {
            let mut dims = x.dims().to_vec();
            dims[dim] = count;
            Ok(Tensor::full(pad_value, dims, x.device())?.to_dtype(x.dtype())?)
        };
        let mut parts = Vec::with_capacity(3);
        if plan.pad_before > 0 {
            parts.push(border(plan.pad_before)?);
        }
        parts.push(x.clone());
        if plan.pad_after > 0 {
            parts.push(border(plan.pad_after)?);
        }
        x = Tensor::cat(&parts, dim)?;
    }
    Ok(x)
}

/// Indices `start, start + step, …` (`count` of them), as a tensor for `index_select`.
pub(crate) fn strided_indices(start: usize, step: usize, count: usize, x: &Tensor) -> Result<Tensor> {
    let ids: Vec<u32> = (0..count).map(|i| (start + i * step) as u32).collect();
    Ok(Tensor::new(ids, x.device())?)
}

/// `(batch, channels, rows, cols)` → `(batch, channels, out_rows, out_cols, kh·kw)`.
pub(crate) fn gather_windows(
    x: &Tensor,
    pool: Size2,
    strides: Size2,
    rows: &AxisWindows,
    cols: &AxisWindows,
    pad_value: f32,
) -> Result<Tensor> {
    let x = crop_and_pad(x, 2, rows, pad_value)?;
    // index_select reads contiguous tensors only; cropping may leave a strided view.
    let x = crop_and_pad(&x, 3, cols, pad_value)?.contiguous()?;
    let mut pieces = Vec::with_capacity(pool.rows * pool.cols);
    for dr in 0..pool.rows {
        let row_ids = strided_indices(dr, strides.rows, rows.output, &x)?;
        let picked_rows = x.index_select(&row_ids, 2)?;
        for dc in 0..pool.cols {
            let col_ids = strided_indices(dc, strides.cols, cols.output, &x)?;
            pieces.push(picked_rows.index_select(&col_ids, 3)?);
        }
    }
    Ok(Tensor::stack(&pieces, D::Minus1)?)
}
