//! `MaxPool2D`: keep the largest value of each window.
//!
//! Pooling shrinks feature maps (2×2 windows halve rows and columns), which cuts the
//! computation of later layers and makes the network tolerate small shifts. It has no
//! weights.
//!
//! # Forward and backward
//! ```text
//! forward:   y[window, c] = max over the window's pixels p of x[p, c]   (remember the winner p*)
//! backward:  dx[p*, c] += dy[window, c]; every other pixel of the window gets 0
//! ```
//! Only the winner influenced the output, so only the winner gets its gradient — the
//! whole gradient. (candle's own `max_pool2d` is not used: its gradient divides by the
//! window size and misplaces gradients when the size does not divide, e.g. 11×11 → 5×5.)
//!
//! # Shapes
//! - input: `(batch, rows, cols, channels)`
//! - output: `(batch, out_rows, out_cols, channels)`, with `valid` padding
//!   `out = floor((in − pool) / stride) + 1`, with `same` padding `out = ceil(in / stride)`.
//!
//! ```
//! use cnn_course::prelude::*;
//! let mut model = Sequential::new();
//! model.add(MaxPool2D::new(2).input_shape((100, 100, 15))).unwrap();
//! assert_eq!(model.output_shape(), vec![50, 50, 15]);
//! ```

use super::{expect_images, expect_positive, Gradients, Kept, Layer, Needs, Pass, Size2};
use crate::backend::Backend;
use crate::choice::Choice;
use crate::padding::{AxisWindows, Geometry, Padding};
use crate::{bail, Result};
use candle_core::Device;

/// Max pooling, as Keras' `MaxPooling2D` / `MaxPool2D`.
#[derive(Clone)]
pub struct MaxPool2D {
    pub(super) window: PoolWindow,
}

/// What pooling layers share: window size, strides, padding, and the geometry planned at build.
#[derive(Clone)]
pub(super) struct PoolWindow {
    pub pool_size: Size2,
    pub strides: Option<Size2>,
    pub padding: Choice<Padding>,
    pub geometry: Option<Geometry>,
}

impl PoolWindow {
    pub fn new(pool_size: Size2) -> Self {
        PoolWindow {
            pool_size,
            strides: None,
            padding: Choice::Value(Padding::Valid),
            geometry: None,
        }
    }

    /// Strides default to the pool size, as in Keras.
    pub fn strides(&self) -> Size2 {
        self.strides.unwrap_or(self.pool_size)
    }

    pub fn build(&mut self, name: &str, kind: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>> {
        let (rows, cols, channels) = expect_images(name, kind, input_shape)?;
        expect_positive(name, "pool size", self.pool_size)?;
        expect_positive(name, "strides", self.strides())?;
        let padding = self.padding.resolve(name)?;
        let (p, s) = (self.pool_size, self.strides());
        let row_plan = AxisWindows::plan(rows, p.rows, s.rows, 1, padding);
        let col_plan = AxisWindows::plan(cols, p.cols, s.cols, 1, padding);
        let (Some(row_plan), Some(col_plan)) = (row_plan, col_plan) else {
            if padding == Padding::Same {
                // With `same` padding any window fits; only sizes past counting fail.
                bail!(Setting,
                    "{name}: pool {p} with strides {s} covers more pixels than can be counted; hint: pools and strides are a few pixels, e.g. {kind}::new(2)"
                );
            }
            bail!(Shape,
                "{name}: pool {p} is larger than its input {rows}×{cols}; hint: use a smaller pool size, .padding(\"same\"), or remove a pooling layer before this one"
            );
        };
        let geometry = Geometry::new(
            (rows, cols, channels),
            (p.rows, p.cols),
            (s.rows, s.cols),
            1,
            &row_plan,
            &col_plan,
        );
        geometry.check_memory(name, device)?;
        self.geometry = Some(geometry);
        Ok(vec![row_plan.output, col_plan.output, channels])
    }

    pub fn geometry(&self, kind: &str) -> Result<&Geometry> {
        self.geometry.as_ref().ok_or_else(|| super::not_built(kind))
    }
}

impl MaxPool2D {
    /// Windows of `pool_size` (`2` for 2×2), moving by the pool size, `valid` padding.
    pub fn new(pool_size: impl Into<Size2>) -> Self {
        MaxPool2D {
            window: PoolWindow::new(pool_size.into()),
        }
    }

    /// How far the window moves (default: the pool size, so windows do not overlap).
    pub fn strides(mut self, strides: impl Into<Size2>) -> Self {
        self.window.strides = Some(strides.into());
        self
    }

    /// `"valid"` (default) or `"same"` (or a [`Padding`]); padded pixels never win a window.
    pub fn padding(mut self, padding: impl Into<Choice<Padding>>) -> Self {
        self.window.padding = padding.into();
        self
    }
}

impl Layer for MaxPool2D {
    fn type_name(&self) -> &'static str {
        "MaxPool2D"
    }

    fn base_name(&self) -> &'static str {
        "max_pool2d"
    }

    fn build(&mut self, name: &str, input_shape: &[usize], device: &Device) -> Result<Vec<usize>> {
        self.window.build(name, "MaxPool2D", input_shape, device)
    }

    fn forward<B: Backend>(&self, pass: &Pass<B>, x: &B::Buf) -> Result<(B::Buf, Kept<B>)> {
        let g = self.window.geometry("MaxPool2D")?;
        let (y, winners) = pass.backend.max_pool(g, x, pass.n)?;
        Ok((y, Kept::Winners(winners)))
    }

    fn backward<B: Backend>(
        &self,
        pass: &Pass<B>,
        _io: (Option<&B::Buf>, Option<&B::Buf>),
        kept: Kept<B>,
        dy: B::Buf,
        needs: Needs,
    ) -> Result<Gradients<B>> {
        let g = self.window.geometry("MaxPool2D")?;
        let Kept::Winners(winners) = kept else {
            bail!(
                Internal,
                "MaxPool2D: the backward pass needs the winners kept by the forward pass"
            );
        };
        let dx = match needs.input {
            true => Some(pass.backend.max_pool_backward(g, &winners, &dy, pass.n)?),
            false => None,
        };
        Ok(Gradients::input_only(dx))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layers::gradient_check::{check_layer, keras_batch, outputs};

    /// Pooling written as loops over the definition: the largest (or mean) real pixel of each window.
    pub(crate) fn reference_pool(g: &Geometry, x: &[f32], n: usize, average: bool) -> Vec<f32> {
        let mut out = Vec::new();
        for s in 0..n {
            for i in 0..g.out_rows {
                for j in 0..g.out_cols {
                    for c in 0..g.channels {
                        let values: Vec<f32> = (0..g.kernel_rows)
                            .flat_map(|u| (0..g.kernel_cols).map(move |v| (u, v)))
                            .filter_map(|(u, v)| g.input_pixel(i, j, u, v))
                            .map(|p| x[(s * g.in_pixels() + p) * g.channels + c])
                            .collect();
                        out.push(match average {
                            true => values.iter().sum::<f32>() / values.len() as f32,
                            false => values.iter().cloned().fold(f32::MIN, f32::max),
                        });
                    }
                }
            }
        }
        out
    }

    pub(crate) fn pool_settings() -> Vec<(PoolWindow, Vec<usize>)> {
        let window = |pool: usize, strides: Option<usize>, padding: Padding| PoolWindow {
            pool_size: pool.into(),
            strides: strides.map(Size2::from),
            padding: Choice::Value(padding),
            geometry: None,
        };
        vec![
            (window(2, None, Padding::Valid), vec![11, 11, 3]),
            (window(3, Some(2), Padding::Same), vec![7, 8, 2]),
            (window(2, Some(1), Padding::Valid), vec![5, 6, 1]),
            (window(2, None, Padding::Same), vec![5, 5, 2]),
            // 25 channels: the CPU compares 16, then 8, then 1 at a time.
            (window(3, Some(2), Padding::Same), vec![5, 4, 25]),
            // Windows larger than the input: the CPU reads only the pixels under them.
            (window(6, Some(1), Padding::Same), vec![3, 4, 2]),
        ]
    }

    #[test]
    fn output_matches_a_plain_loop() {
        for (window, input) in pool_settings() {
            let mut layer = MaxPool2D { window };
            let out = layer.build("max_pool2d", &input, &Device::Cpu).unwrap();
            let x = keras_batch(2, &input);
            let got = outputs(&layer, &x, 2);
            assert_eq!(got.len(), 2 * out.iter().product::<usize>());
            let want = reference_pool(layer.window.geometry.as_ref().unwrap(), &x, 2, false);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn gradients_go_to_the_winner_even_when_the_size_does_not_divide() {
        // 11×11 → 5×5 as in the seed convnet: the last row and column get no gradient,
        // each window's winner gets the whole gradient (not a quarter of it).
        for (window, input) in pool_settings() {
            let mut layer = MaxPool2D { window };
            layer.build("max_pool2d", &input, &Device::Cpu).unwrap();
            check_layer(&layer, &input);
        }
        let mut layer = MaxPool2D::new(2);
        assert_eq!(
            layer.build("max_pool2d", &[11, 11, 1], &Device::Cpu).unwrap(),
            vec![5, 5, 1]
        );
        let x = keras_batch(1, &[11, 11, 1]);
        let (_, dx, _) = crate::layers::gradient_check::host_gradients(&layer, &x, 1, &[1.0; 25]);
        assert_eq!(dx.iter().filter(|&&d| d == 1.0).count(), 25);
        assert!(dx[110..].iter().all(|&d| d == 0.0), "the last row reaches no window");
    }

    #[test]
    fn a_pool_larger_than_the_input_is_refused() {
        let mut layer = MaxPool2D::new(2);
        assert_eq!(
            layer.build("max_pool2d_2", &[1, 1, 64], &Device::Cpu).err().unwrap().to_string(),
            "max_pool2d_2: pool 2×2 is larger than its input 1×1; hint: use a smaller pool size, .padding(\"same\"), or remove a pooling layer before this one"
        );
        let mut layer = MaxPool2D::new(0);
        assert_eq!(
            layer
                .build("max_pool2d", &[8, 8, 1], &Device::Cpu)
                .err()
                .unwrap()
                .to_string(),
            "max_pool2d: pool size must be at least 1, got 0×0; hint: use a positive size such as 2"
        );
    }
}
