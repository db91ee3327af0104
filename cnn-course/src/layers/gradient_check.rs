//! Checks shared by the layers' tests: run one layer on a backend, forward and backward,
//! and compare its gradients with finite differences and with the other backend.
//!
//! The loss is `L = Σ y · R` for a fixed random `R`, so `dL/dy = R`; each analytic
//! gradient is compared with the central difference `(L(v + h) − L(v − h)) / 2h` on a
//! sample of coordinates.

use super::{Layer, Needs, Pass, SumsFor};
use crate::backend::{Backend, Host, OnDevice};
use candle_core::{Device, Tensor, Var};

const STEP: f32 = 1e-3;

/// A batch of `n` samples of Keras shape `shape`, channels-last, with distinct values
/// spread over [-1, 1) (no ties, so max pooling has a unique winner per window and small
/// finite-difference steps never change it).
pub fn keras_batch(n: usize, shape: &[usize]) -> Vec<f32> {
    let count = n * shape.iter().product::<usize>();
    // A fixed pseudo-random permutation (multiplicative hashing), independent of the seed.
    (0..count)
        .map(|i| ((i * 7919 + 13) % count) as f32 / count as f32 * 2.0 - 1.0)
        .collect()
}

/// What one run of a layer produced: its output, and with `dy` the input and weight gradients.
pub struct Run {
    pub y: Vec<f32>,
    pub dx: Vec<f32>,
    pub dw: Vec<Vec<f32>>,
}

/// Run `layer` on `backend` in training mode for `n` samples `x` (with `drawn` values for
/// dropout), and back from `dy` when given — with batch sums computed over these samples,
/// as the trainer would for a batch of one piece.
pub fn run<B: Backend>(
    backend: &B,
    layer: &impl Layer,
    x: &[f32],
    n: usize,
    drawn: Option<&[f32]>,
    dy: Option<&[f32]>,
) -> Run {
    let weights: Vec<B::Buf> = layer
        .weights()
        .iter()
        .map(|w| backend.load(&w.param.get()).unwrap())
        .collect();
    let xb = backend.upload(x).unwrap();
    let mut pass = Pass {
        backend,
        n,
        train: true,
        weights: &weights,
        drawn,
        sums: None,
        grad_sums: None,
        grad_share: None,
        scores_only: false,
    };
    let sums = layer
        .needs_sums(SumsFor::Forward, true)
        .then(|| layer.batch_sums(SumsFor::Forward, &pass, &xb, None).unwrap());
    pass.sums = sums.as_deref();
    let (y, kept) = layer.forward(&pass, &xb).unwrap();
    let y_values = backend.download(&y).unwrap();
    let Some(dy) = dy else {
        return Run {
            y: y_values,
            dx: Vec::new(),
            dw: Vec::new(),
        };
    };
    let dyb = backend.upload(dy).unwrap();
    let grad_sums = layer
        .needs_sums(SumsFor::Backward, true)
        .then(|| layer.batch_sums(SumsFor::Backward, &pass, &xb, Some(&dyb)).unwrap());
    pass.grad_sums = grad_sums.as_deref();
    pass.grad_share = grad_sums.as_deref();
    let needs = Needs {
        input: true,
        weights: true,
    };
    // Only the feature maps the layer says its backward pass reads, as in training.
    let reads = layer.backward_reads();
    let io = (reads.input.then_some(&xb), reads.output.then_some(&y));
    let grads = layer.backward(&pass, io, kept, dyb, needs).unwrap();
    Run {
        y: y_values,
        dx: backend
            .download(&grads.input.expect("the input gradient was asked for"))
            .unwrap(),
        dw: grads.weights.iter().map(|g| backend.download(g).unwrap()).collect(),
    }
}

/// The layer's inference output on the CPU.
pub fn outputs(layer: &impl Layer, x: &[f32], n: usize) -> Vec<f32> {
    let host = Host::new();
    let weights: Vec<_> = layer
        .weights()
        .iter()
        .map(|w| host.load(&w.param.get()).unwrap())
        .collect();
    let pass = Pass {
        backend: &host,
        n,
        train: false,
        weights: &weights,
        drawn: None,
        sums: None,
        grad_sums: None,
        grad_share: None,
        scores_only: false,
    };
    let (y, _) = layer.forward(&pass, &host.upload(x).unwrap()).unwrap();
    host.download(&y).unwrap()
}

/// Output, input gradient and weight gradients on the CPU backend for `dy = r`.
pub fn host_gradients(layer: &impl Layer, x: &[f32], n: usize, r: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<Vec<f32>>) {
    let run = run(&Host::new(), layer, x, n, None, Some(r));
    (run.y, run.dx, run.dw)
}

/// Assert that gradients of `L = Σ y · r` from a layer's backward pass (`ours`: name,
/// values, the candle variable they belong to) equal candle's automatic differentiation
/// of the same function `y`, within 1e-4.
pub fn assert_same_as_candle(y: &Tensor, r: &[f32], ours: &[(&str, &[f32], &Var)]) {
    let r = Tensor::from_slice(r, y.dims(), y.device()).unwrap();
    let grads = y.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
    for (what, ours, var) in ours {
        let theirs = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(ours.len(), theirs.len(), "{what}: lengths differ");
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() < 1e-4, "{what}: {a} vs {b}");
        }
    }
}

fn loss(layer: &impl Layer, x: &[f32], n: usize, drawn: Option<&[f32]>, r: &[f32]) -> f64 {
    let y = run(&Host::new(), layer, x, n, drawn, None).y;
    y.iter().zip(r).map(|(y, r)| (y * r) as f64).sum()
}

/// Which coordinates of `count` values to check: all of them, or 50 spread out.
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

fn compare(what: &str, analytic: &[f32], mut loss_at: impl FnMut(usize, f32) -> f64) {
    for i in coordinates(analytic.len()) {
        let numeric = (loss_at(i, STEP) - loss_at(i, -STEP)) / (2.0 * STEP as f64);
        let a = analytic[i] as f64;
        assert!(
            (numeric - a).abs() <= 2e-3 + 1e-2 * a.abs().max(numeric.abs()),
            "{what}[{i}]: backward gives {a}, finite differences give {numeric}"
        );
    }
}

fn assert_close(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-4 * scale, "{what}[{i}]: {x} vs {y}");
    }
}

/// Check a built layer for input shape `input_shape` on 3 samples: its gradients against
/// finite differences, and both backends against each other (the device backend on the CPU).
pub fn check_layer(layer: &impl Layer, input_shape: &[usize]) {
    check_layer_with(layer, input_shape, None)
}

/// [`check_layer`] with fixed `drawn` values (dropout's factors).
pub fn check_layer_with(layer: &impl Layer, input_shape: &[usize], drawn: Option<&[f32]>) {
    let n = 3;
    let x = keras_batch(n, input_shape);
    let host = run(&Host::new(), layer, &x, n, drawn, None);
    let r: Vec<f32> = (0..host.y.len())
        .map(|i| ((i * 37 + 11) % 17) as f32 / 8.0 - 1.0)
        .collect();
    let host = run(&Host::new(), layer, &x, n, drawn, Some(&r));

    compare("input", &host.dx, |i, h| {
        let mut v = x.clone();
        v[i] += h;
        loss(layer, &v, n, drawn, &r)
    });
    let trainable: Vec<_> = layer.weights().into_iter().filter(|w| w.trainable).collect();
    assert_eq!(host.dw.len(), trainable.len(), "one gradient per trainable weight");
    for (weight, analytic) in trainable.iter().zip(&host.dw) {
        let original = weight.param.get();
        let values = original.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        compare(weight.name, analytic, |i, h| {
            let mut v = values.clone();
            v[i] += h;
            weight
                .param
                .set(Tensor::from_vec(v, original.dims(), &Device::Cpu).unwrap());
            let l = loss(layer, &x, n, drawn, &r);
            weight.param.set(original.clone());
            l
        });
    }

    let device = run(&OnDevice::new(&Device::Cpu), layer, &x, n, drawn, Some(&r));
    assert_close("device backend: output", &device.y, &host.y);
    assert_close("device backend: input gradient", &device.dx, &host.dx);
    for (d, h) in device.dw.iter().zip(&host.dw) {
        assert_close("device backend: weight gradient", d, h);
    }
}
