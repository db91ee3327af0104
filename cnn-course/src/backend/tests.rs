//! Both backends compute the same thing: each operation on the same inputs, on the CPU.

use super::{Backend, Host, OnDevice, Op};
use crate::padding::{AxisWindows, Geometry, Padding};
use crate::Activation;
use candle_core::Device;

fn values(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i + seed) * 7919 + 13) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}

fn geometry(input: (usize, usize, usize), kernel: usize, stride: usize, dilation: usize, padding: Padding) -> Geometry {
    let rows = AxisWindows::plan(input.0, kernel, stride, dilation, padding).unwrap();
    let cols = AxisWindows::plan(input.1, kernel, stride, dilation, padding).unwrap();
    Geometry::new(input, (kernel, kernel), (stride, stride), dilation, &rows, &cols)
}

/// Every operation of the trait, as one function generic over the backend.
fn exercise<B: Backend>(b: &B) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    let a = b.upload(&values(12, 1)).unwrap();
    let m = b.upload(&values(20, 2)).unwrap();
    for (a_op, b_op) in [
        (Op::Plain, Op::Plain),
        (Op::Transposed, Op::Plain),
        (Op::Plain, Op::Transposed),
    ] {
        out.push(b.download(&b.matmul((3, 4, 5), &a, a_op, &m, b_op).unwrap()).unwrap());
    }
    // Exact zeros included: relu's gradient at 0 is 0 on both.
    let mut z = values(15, 3);
    z[2] = 0.0;
    z[7] = 0.0;
    let bias = b.upload(&values(5, 4)).unwrap();
    for activation in [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
        Activation::Linear,
    ] {
        let y = b.bias_activation(b.upload(&z).unwrap(), None, 5, activation).unwrap();
        out.push(b.download(&y).unwrap());
        let y = b
            .bias_activation(b.upload(&z).unwrap(), Some(&bias), 5, activation)
            .unwrap();
        out.push(b.download(&y).unwrap());
        let dz = b
            .activation_backward(b.upload(&values(15, 5)).unwrap(), &y, 5, activation)
            .unwrap();
        out.push(b.download(&dz).unwrap());
    }
    let zeros = b.upload(&[0.0, 0.0, 1.0]).unwrap();
    out.push(
        b.download(
            &b.activation_backward(b.upload(&[1.0, 1.0, 1.0]).unwrap(), &zeros, 3, Activation::Relu)
                .unwrap(),
        )
        .unwrap(),
    );
    out.push(b.download(&b.column_sums(&m, 4).unwrap()).unwrap());
    out.push(b.download(&b.gather_rows(&m, 4, &[4, 0, 2]).unwrap()).unwrap());
    out.push(
        b.download(
            &b.sum(vec![b.copy(&a).unwrap(), b.copy(&a).unwrap(), b.copy(&a).unwrap()])
                .unwrap(),
        )
        .unwrap(),
    );
    out.push(b.download(&b.scale(&a, &values(12, 6)).unwrap()).unwrap());
    let (p, q, r) = (values(4, 7), values(4, 8), values(4, 9));
    out.push(
        b.download(&b.channel_mix(b.copy(&m).unwrap(), &m, 4, (&p, &q, &r)).unwrap())
            .unwrap(),
    );
    out.push(b.download(&b.channel_affine(&m, 4, (&p, &r)).unwrap()).unwrap());
    let (s1, s2) = b.channel_sums(&m, &m, 4).unwrap();
    out.push(s1.iter().chain(&s2).map(|v| *v as f32).collect());
    // Widths that fill a tile of at least 64 values with whole rows in several ways (3
    // channels in tiles of 96, 63 channels, the widest tiled, in tiles of 16 rows; 100 row
    // by row), over more than 64 tiles with a part-tile at the end (1,100 rows of 15
    // channels are 68.75 tiles of 240).
    for (width, rows) in [
        (1, 5_000),
        (3, 101),
        (5, 333),
        (15, 1_100),
        (16, 70),
        (17, 300),
        (63, 70),
        (100, 9),
    ] {
        let (a, c) = (values(width * rows, 12), values(width * rows, 13));
        let (a, c) = (b.upload(&a).unwrap(), b.upload(&c).unwrap());
        let (p, q, r) = (values(width, 14), values(width, 15), values(width, 16));
        out.push(
            b.download(&b.channel_mix(b.copy(&a).unwrap(), &c, width, (&p, &q, &r)).unwrap())
                .unwrap(),
        );
        out.push(b.download(&b.channel_affine(&a, width, (&p, &r)).unwrap()).unwrap());
        let (s1, s2) = b.channel_sums(&a, &c, width).unwrap();
        out.push(s1.iter().chain(&s2).map(|v| *v as f32).collect());
        out.push(b.download(&b.column_sums(&a, width).unwrap()).unwrap());
        let (z, bias) = (b.copy(&a).unwrap(), b.upload(&p).unwrap());
        let y = b.bias_activation(z, Some(&bias), width, Activation::Relu).unwrap();
        out.push(b.download(&y).unwrap());
    }
    for g in [
        geometry((5, 6, 2), 3, 1, 1, Padding::Valid),
        geometry((7, 7, 3), 3, 2, 1, Padding::Same),
        geometry((8, 7, 1), 2, 1, 2, Padding::Same),
        geometry((11, 11, 2), 2, 2, 1, Padding::Valid),
    ] {
        let n = 2;
        let x = b.upload(&values(n * g.input_len(), 10)).unwrap();
        let cols = b.im2col(&g, &x, n).unwrap();
        out.push(b.download(&cols).unwrap());
        out.push(b.download(&b.col2im(&g, &cols, n).unwrap()).unwrap());
        if g.dilation == 1 {
            let dy = b.upload(&values(n * g.out_pixels() * g.channels, 11)).unwrap();
            let (y, winners) = b.max_pool(&g, &x, n).unwrap();
            out.push(b.download(&y).unwrap());
            out.push(b.download(&b.max_pool_backward(&g, &winners, &dy, n).unwrap()).unwrap());
            out.push(b.download(&b.avg_pool(&g, &x, n).unwrap()).unwrap());
            out.push(b.download(&b.avg_pool_backward(&g, &dy, n).unwrap()).unwrap());
        }
    }
    out
}

#[test]
fn the_cpu_and_the_device_backend_agree_on_every_operation() {
    let host = exercise(&Host::new());
    let device = exercise(&OnDevice::new(&Device::Cpu));
    assert_eq!(host.len(), device.len());
    for (k, (h, d)) in host.iter().zip(&device).enumerate() {
        assert_eq!(h.len(), d.len(), "operation {k}: lengths");
        for (i, (a, b)) in h.iter().zip(d).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                "operation {k} [{i}]: host {a}, device {b}"
            );
        }
    }
}

#[test]
fn relu_passes_no_gradient_at_exactly_zero() {
    let host = Host::new();
    let y = host.upload(&[0.0, 2.0, 0.0]).unwrap();
    let dz = host
        .activation_backward(host.upload(&[5.0, 5.0, 5.0]).unwrap(), &y, 3, Activation::Relu)
        .unwrap();
    assert_eq!(host.download(&dz).unwrap(), vec![0.0, 5.0, 0.0]);
}

#[test]
fn a_sum_of_many_long_buffers_adds_each_value_in_the_order_of_the_parts() {
    // 17 parts of a length that ends in a part of a chunk, with values whose float sum
    // depends on the order: the chunks side by side must give a plain in-order sum's bits.
    let host = Host::new();
    let len = 5 * 2048 + 3;
    let part = |p: usize| -> Vec<f32> {
        (0..len)
            .map(|i| match (i + p) % 3 {
                0 => 1e8,
                1 => -1e8,
                _ => ((i * 31 + p * 17) % 97) as f32 / 7.0,
            })
            .collect()
    };
    let mut expected = part(0);
    for p in 1..17 {
        expected.iter_mut().zip(part(p)).for_each(|(e, v)| *e += v);
    }
    let parts: Vec<_> = (0..17).map(|p| host.upload(&part(p)).unwrap()).collect();
    let sum = host.download(&host.sum(parts).unwrap()).unwrap();
    assert_eq!(sum.len(), len);
    assert!(sum.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits()));
    // One part is its own sum; none is an error, not a panic.
    assert_eq!(
        host.download(&host.sum(vec![host.upload(&[2.5]).unwrap()]).unwrap())
            .unwrap(),
        [2.5]
    );
    assert!(host.sum(Vec::new()).is_err());
}
