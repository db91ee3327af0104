//! Image augmentation: new training images made from the ones you have — moved a few
//! pixels, mirrored — so that a network learns what stays the same when an object moves.
//! A network trained only on centred images has never seen a shifted one, and fails on
//! it; trained on shifted copies, it learns to look everywhere.
//!
//! All functions take and return batches `(samples, rows, cols, channels)`; what comes
//! into the frame is black (0).

use ndarray::{s, Array4, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Every image moved `down` rows and `right` columns (negative: up, left).
pub fn shift(images: &Array4<f32>, down: isize, right: isize) -> Array4<f32> {
    let mut out = Array4::zeros(images.raw_dim());
    for (mut to, from) in out.outer_iter_mut().zip(images.outer_iter()) {
        move_image(&mut to, &from, down, right);
    }
    out
}

/// Each image moved by its own random amount, up to `max` pixels each way along each
/// axis; the same `seed` gives the same moves.
pub fn random_shifts(images: &Array4<f32>, max: usize, seed: u64) -> Array4<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let max = max.min(1 << 20) as i64;
    let mut out = Array4::zeros(images.raw_dim());
    for (mut to, from) in out.outer_iter_mut().zip(images.outer_iter()) {
        let (down, right) = (rng.random_range(-max..=max), rng.random_range(-max..=max));
        move_image(&mut to, &from, down as isize, right as isize);
    }
    out
}

/// Every image mirrored left to right.
pub fn flip_horizontal(images: &Array4<f32>) -> Array4<f32> {
    images.slice(s![.., .., ..;-1, ..]).to_owned()
}

/// Each image mirrored left to right with probability ½; the same `seed` gives the same flips.
pub fn random_flips(images: &Array4<f32>, seed: u64) -> Array4<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = images.clone();
    for mut image in out.axis_iter_mut(Axis(0)) {
        if rng.random_bool(0.5) {
            let mirrored = image.slice(s![.., ..;-1, ..]).to_owned();
            image.assign(&mirrored);
        }
    }
    out
}

fn move_image(to: &mut ndarray::ArrayViewMut3<f32>, from: &ndarray::ArrayView3<f32>, down: isize, right: isize) {
    let (rows, cols) = (from.shape()[0] as isize, from.shape()[1] as isize);
    let (down, right) = (down.clamp(-rows, rows), right.clamp(-cols, cols));
    let span = |d: isize, n: isize| (d.max(0), (n + d.min(0)).max(d.max(0)));
    let ((r0, r1), (c0, c1)) = (span(down, rows), span(right, cols));
    let source = from.slice(s![r0 - down..r1 - down, c0 - right..c1 - right, ..]);
    to.slice_mut(s![r0..r1, c0..c1, ..]).assign(&source);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_move_pixels_and_bring_in_black() {
        let mut x = Array4::<f32>::zeros((1, 4, 5, 1));
        x[[0, 1, 1, 0]] = 1.0;
        let moved = shift(&x, 2, -1);
        assert_eq!(moved[[0, 3, 0, 0]], 1.0);
        assert_eq!(moved.sum(), 1.0);
        assert_eq!(shift(&x, 9, 0).sum(), 0.0, "moved out of the frame");
        let random = random_shifts(&x, 1, 3);
        assert!(random.sum() <= 1.0 && random == random_shifts(&x, 1, 3));
        assert_eq!(flip_horizontal(&x)[[0, 1, 3, 0]], 1.0);
        assert_eq!(random_flips(&x, 1).sum(), 1.0);
    }
}
