//! A tiny synthetic task for the integration tests: 8×8 greyscale images with a bright
//! 3×3 blob in one of three places (top-left, top-right, bottom) = the class, plus noise.
#![allow(dead_code)]

use cnn_course::prelude::*;
pub mod http;

pub fn blobs(n: usize, seed: u64) -> (Array4<f32>, Array2<f32>, Array1<usize>) {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32) / (1u64 << 31) as f32
    };
    let mut x = Array4::<f32>::zeros((n, 8, 8, 1));
    let mut y = Array2::<f32>::zeros((n, 3));
    let mut labels = Array1::<usize>::zeros(n);
    for i in 0..n {
        let class = i % 3;
        let (r0, c0) = match class {
            0 => (0, 0),
            1 => (0, 5),
            _ => (5, 2 + (next() * 3.0) as usize),
        };
        for r in 0..8 {
            for c in 0..8 {
                x[[i, r, c, 0]] = 0.3 * next();
            }
        }
        for r in r0..r0 + 3 {
            for c in c0..c0 + 3 {
                x[[i, r, c, 0]] = 0.7 + 0.3 * next();
            }
        }
        y[[i, class]] = 1.0;
        labels[i] = class;
    }
    (x, y, labels)
}

pub fn small_cnn() -> Result<Sequential> {
    let mut model = Sequential::new();
    model.add(Conv2D::new(4, 3).activation("relu").input_shape((8, 8, 1)))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(3).activation("softmax"))?;
    Ok(model)
}

/// Seed the crate's generator for one test, holding a lock so that tests running in
/// parallel in the same binary do not draw from each other's sequence. Building a model
/// draws from that generator: where a binary's tests compare two trainings, every test
/// that builds a model takes the lock, not only those.
pub fn seeded(seed: u64) -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    set_seed(seed);
    guard
}
