//! Finite-difference gradient checks, and plain-loop reference implementations that the
//! layers' tensor code is compared against.
//!
//! The check: for a fixed random tensor `R`, the loss `L = Σ forward(x) · R` has gradients
//! `∂L/∂x` and `∂L/∂w` computed by candle's backward pass; each is compared with the
//! central difference `(L(v + h) − L(v − h)) / 2h` on a sample of coordinates.

use super::Layer;
use crate::padding::Padding;
use candle_core::{Tensor, Var};

const STEP: f32 = 1e-3;

fn loss(layer: &dyn Layer, x: &Tensor, r: &Tensor) -> f64 {
    let y = layer.forward(x, true).unwrap();
    y.mul(r).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64
}

fn weights_for(dims: &[usize]) -> Tensor {
    let count: usize = dims.iter().product();
    let values: Vec<f32> = (0..count).map(|i| ((i * 37 + 11) % 17) as f32 / 8.0 - 1.0).collect();
    Tensor::from_vec(values, dims, &candle_core::Device::Cpu).unwrap()
}

/// Which coordinates of a tensor of `count` values to check: all of them, or 50 spread out.
fn coordinates(count: usize) -> Vec<usize> {
    if count <= 120 {
        (0..count).collect()
    } else {
        (0..50)
            .map(|i| i * count / 50 + (i % 3))
            .filter(|&i| i < count)
            .collect()
    }
}

fn compare(what: &str, analytic: &Tensor, mut loss_at: impl FnMut(usize, f32) -> f64) {
    let analytic = analytic.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for i in coordinates(analytic.len()) {
        let numeric = (loss_at(i, STEP) - loss_at(i, -STEP)) / (2.0 * STEP as f64);
        let a = analytic[i] as f64;
        assert!(
            (numeric - a).abs() <= 2e-3 + 1e-2 * a.abs().max(numeric.abs()),
            "{what}[{i}]: backward gives {a}, finite differences give {numeric}"
        );
    }
}

/// Check the gradients of `layer` (already built for `input_shape`) with respect to its
/// input and every trainable weight.
pub fn check_layer_gradients(layer: &dyn Layer, input_shape: &[usize]) {
    let x = crate::testing::random_batch(2, input_shape);
    let out_dims = layer.forward(&x, true).unwrap().dims().to_vec();
    let r = weights_for(&out_dims);
    let x_var = Var::from_tensor(&x).unwrap();
    let y = layer.forward(x_var.as_tensor(), true).unwrap();
    let grads = y.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();

    let x_values = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let x_grad = grads.get(x_var.as_tensor()).expect("no gradient reaches the input");
    compare("input", x_grad, |i, h| {
        let mut v = x_values.clone();
        v[i] += h;
        loss(layer, &Tensor::from_vec(v, x.dims(), x.device()).unwrap(), &r)
    });

    for weight in layer.weights().into_iter().filter(|w| w.trainable) {
        let original = weight.var.as_tensor().copy().unwrap();
        let values = original.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let grad = grads.get(weight.var.as_tensor()).expect("no gradient reaches a weight");
        compare(weight.name, grad, |i, h| {
            let mut v = values.clone();
            v[i] += h;
            weight
                .var
                .set(&Tensor::from_vec(v, original.dims(), original.device()).unwrap())
                .unwrap();
            let l = loss(layer, &x, &r);
            weight.var.set(&original).unwrap();
            l
        });
    }
}

/// Keras' padding before the first pixel, computed straight from its definition.
fn keras_pad_before(input: usize, kernel: usize, stride: usize, dilation: usize, padding: Padding) -> (usize, usize) {
    let covered = (kernel - 1) * dilation + 1;
    match padding {
        Padding::Valid => (0, (input - covered) / stride + 1),
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out - 1) * stride + covered).saturating_sub(input);
            (total / 2, out)
        }
    }
}

/// A convolution written as four nested loops over a plain `Vec`, for comparison.
pub fn reference_conv2d(layer: &super::Conv2D, x: &Tensor) -> Tensor {
    let weights = layer.weights();
    let kernel = weights[0].var.as_tensor();
    let (filters, channels, kr, kc) = kernel.dims4().unwrap();
    let k = kernel.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let bias = match weights.get(1) {
        Some(b) => b.var.as_tensor().to_vec1::<f32>().unwrap(),
        None => vec![0.0; filters],
    };
    let (n, _, rows, cols) = x.dims4().unwrap();
    let xs = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let (stride, dilation, padding) = layer_settings(layer);
    let (pr, out_r) = keras_pad_before(rows, kr, stride.0, dilation, padding);
    let (pc, out_c) = keras_pad_before(cols, kc, stride.1, dilation, padding);
    let mut out = vec![0f32; n * filters * out_r * out_c];
    for b in 0..n {
        for f in 0..filters {
            for i in 0..out_r {
                for j in 0..out_c {
                    let mut sum = bias[f];
                    for c in 0..channels {
                        for u in 0..kr {
                            for v in 0..kc {
                                let r = (i * stride.0 + u * dilation) as isize - pr as isize;
                                let s = (j * stride.1 + v * dilation) as isize - pc as isize;
                                if r >= 0 && s >= 0 && (r as usize) < rows && (s as usize) < cols {
                                    let xv = xs[((b * channels + c) * rows + r as usize) * cols + s as usize];
                                    sum += xv * k[((f * channels + c) * kr + u) * kc + v];
                                }
                            }
                        }
                    }
                    out[((b * filters + f) * out_r + i) * out_c + j] = sum;
                }
            }
        }
    }
    Tensor::from_vec(out, (n, filters, out_r, out_c), x.device()).unwrap()
}

fn layer_settings(layer: &super::Conv2D) -> ((usize, usize), usize, Padding) {
    let s = layer.settings();
    ((s.0.rows, s.0.cols), s.1.rows, s.2)
}

/// Max pooling written as loops: the largest value of each window (padding never wins).
pub fn reference_pool(
    x: &Tensor,
    pool: (usize, usize),
    stride: (usize, usize),
    padding: Padding,
    average: bool,
) -> Tensor {
    let (n, channels, rows, cols) = x.dims4().unwrap();
    let xs = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let (pr, out_r) = keras_pad_before(rows, pool.0, stride.0, 1, padding);
    let (pc, out_c) = keras_pad_before(cols, pool.1, stride.1, 1, padding);
    let mut out = Vec::with_capacity(n * channels * out_r * out_c);
    for b in 0..n {
        for c in 0..channels {
            for i in 0..out_r {
                for j in 0..out_c {
                    let mut values = Vec::new();
                    for u in 0..pool.0 {
                        for v in 0..pool.1 {
                            let r = (i * stride.0 + u) as isize - pr as isize;
                            let s = (j * stride.1 + v) as isize - pc as isize;
                            if r >= 0 && s >= 0 && (r as usize) < rows && (s as usize) < cols {
                                values.push(xs[((b * channels + c) * rows + r as usize) * cols + s as usize]);
                            }
                        }
                    }
                    out.push(match average {
                        true => values.iter().sum::<f32>() / values.len() as f32,
                        false => values.iter().cloned().fold(f32::MIN, f32::max),
                    });
                }
            }
        }
    }
    Tensor::from_vec(out, (n, channels, out_r, out_c), x.device()).unwrap()
}
