//! Max pooling as one pass over memory on the CPU (the generic path in `max_pool2d.rs`
//! copies every window position into a stacked tensor first).
//!
//! Forward: each output is its window's largest value (padding never wins). Backward: the
//! gradient of each output goes to the first pixel that holds its window's maximum — the
//! same winner the generic path picks — found again from the input. Checked against the
//! generic path in `max_pool2d.rs`'s tests.

use super::Size2;
use crate::padding::AxisWindows;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

#[derive(Clone, Copy)]
pub(crate) struct MaxPoolCpu {
    pub pool: Size2,
    pub strides: Size2,
    pub rows: AxisWindows,
    pub cols: AxisWindows,
}

/// The forward pass, remembering each output's winner for the backward pass.
pub(crate) struct MaxPoolOp {
    pub window: MaxPoolCpu,
    pub winners: std::sync::Mutex<Vec<u32>>,
}

fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let data = match storage {
        CpuStorage::F32(v) => v,
        _ => candle_core::bail!("max-pool2d: only f32 is supported"),
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("max-pool2d: the input must be contiguous"),
    }
}

impl MaxPoolCpu {
    /// For every output position of one plane, the index (in the plane) of the winner.
    fn winners(&self, plane: &[f32], h: usize, w: usize, out: &mut [usize]) {
        let (oh, ow) = (self.rows.output, self.cols.output);
        for i in 0..oh {
            for j in 0..ow {
                let (mut best, mut at) = (f32::NEG_INFINITY, usize::MAX);
                for di in 0..self.pool.rows {
                    let r = (i * self.strides.rows + di) as isize - self.rows.pad_before as isize;
                    if r < 0 || r as usize >= h {
                        continue;
                    }
                    for dj in 0..self.pool.cols {
                        let c = (j * self.strides.cols + dj) as isize - self.cols.pad_before as isize;
                        if c < 0 || c as usize >= w {
                            continue;
                        }
                        let index = r as usize * w + c as usize;
                        if at == usize::MAX || plane[index] > best {
                            (best, at) = (plane[index], index);
                        }
                    }
                }
                out[i * ow + j] = at;
            }
        }
    }
}

impl CustomOp1 for MaxPoolOp {
    fn name(&self) -> &'static str {
        "max-pool2d-cpu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = layout.shape().dims4()?;
        let x = contiguous_f32(storage, layout)?;
        let (oh, ow) = (self.window.rows.output, self.window.cols.output);
        let mut out = vec![0f32; n * c * oh * ow];
        let mut remembered = vec![0u32; n * c * oh * ow];
        let mut at = vec![0usize; oh * ow];
        for p in 0..n * c {
            let plane = &x[p * h * w..(p + 1) * h * w];
            self.window.winners(plane, h, w, &mut at);
            for (k, &i) in at.iter().enumerate() {
                out[p * oh * ow + k] = plane[i];
                remembered[p * oh * ow + k] = i as u32;
            }
        }
        *self.winners.lock().unwrap_or_else(|e| e.into_inner()) = remembered;
        Ok((CpuStorage::F32(out), Shape::from((n, c, oh, ow))))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (n, c, h, w) = x.dims4()?;
        let (oh, ow) = (self.window.rows.output, self.window.cols.output);
        let grad = grad.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let winners = self.winners.lock().unwrap_or_else(|e| e.into_inner());
        if winners.len() != grad.len() {
            candle_core::bail!("max-pool2d: the backward pass has no matching forward pass");
        }
        let mut out = vec![0f32; n * c * h * w];
        for p in 0..n * c {
            let plane = &mut out[p * h * w..(p + 1) * h * w];
            for k in p * oh * ow..(p + 1) * oh * ow {
                plane[winners[k] as usize] += grad[k];
            }
        }
        Ok(Some(Tensor::from_vec(out, (n, c, h, w), x.device())?))
    }
}
