//! Matrix products through the `gemm` crate (the one candle uses), on row-major slices.
//!
//! `C (m×n) = op(A) · op(B)`, where `op(A)` is `m×k` and is either `A` stored `m×k` or
//! the transpose of `A` stored `k×m` (likewise `B`). A product runs on the calling
//! thread: the trainer runs pieces of a batch side by side instead, which keeps every
//! core busy without handing each product's blocks from thread to thread.

use gemm::{gemm, Parallelism};

/// Whether a stored matrix is used as is or transposed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    Plain,
    Transposed,
}

/// `c = op(a) · op(b)`, or `c += op(a) · op(b)` when `accumulate`.
///
/// # Shapes
/// - `a`: `m×k` (`Op::Plain`) or `k×m` (`Op::Transposed`), row-major
/// - `b`: `k×n` (`Op::Plain`) or `n×k` (`Op::Transposed`), row-major
/// - `c`: `m×n`, row-major
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    a_op: Op,
    b: &[f32],
    b_op: Op,
    c: &mut [f32],
    accumulate: bool,
) {
    assert_eq!(a.len(), m * k, "matmul: A has {} values, expected {m}×{k}", a.len());
    assert_eq!(b.len(), k * n, "matmul: B has {} values, expected {k}×{n}", b.len());
    assert_eq!(c.len(), m * n, "matmul: C has {} values, expected {m}×{n}", c.len());
    if m == 0 || n == 0 {
        return;
    }
    // (column stride, row stride) of op(A) and op(B) in their stored data.
    let (a_cs, a_rs) = match a_op {
        Op::Plain => (1, k as isize),
        Op::Transposed => (m as isize, 1),
    };
    let (b_cs, b_rs) = match b_op {
        Op::Plain => (1, n as isize),
        Op::Transposed => (k as isize, 1),
    };
    // SAFETY: the asserts above check that every index gemm computes from these sizes
    // and strides lies inside the slices; `c` is borrowed mutably, so it aliases nothing.
    unsafe {
        gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook triple loop.
    fn reference(m: usize, k: usize, n: usize, a: &[f32], a_op: Op, b: &[f32], b_op: Op) -> Vec<f32> {
        let at = |i: usize, l: usize| if a_op == Op::Plain { a[i * k + l] } else { a[l * m + i] };
        let bt = |l: usize, j: usize| if b_op == Op::Plain { b[l * n + j] } else { b[j * k + l] };
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| at(i, l) * bt(l, j)).sum();
            }
        }
        c
    }

    #[test]
    fn every_transpose_combination_matches_the_triple_loop() {
        // Small, and large with odd sizes.
        for (m, k, n) in [(3, 5, 4), (517, 129, 131)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0).collect();
            for a_op in [Op::Plain, Op::Transposed] {
                for b_op in [Op::Plain, Op::Transposed] {
                    let want = reference(m, k, n, &a, a_op, &b, b_op);
                    let mut c = vec![1f32; m * n];
                    matmul((m, k, n), &a, a_op, &b, b_op, &mut c, false);
                    for (x, y) in c.iter().zip(&want) {
                        assert!((x - y).abs() < 1e-3 * (1.0 + y.abs()), "{a_op:?} {b_op:?}: {x} vs {y}");
                    }
                    matmul((m, k, n), &a, a_op, &b, b_op, &mut c, true);
                    for (x, y) in c.iter().zip(&want) {
                        assert!(
                            (x - 2.0 * y).abs() < 2e-3 * (1.0 + y.abs()),
                            "accumulate: {x} vs {}",
                            2.0 * y
                        );
                    }
                }
            }
        }
    }
}
