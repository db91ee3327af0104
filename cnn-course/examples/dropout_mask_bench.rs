//! Time to draw a dropout mask, per value: the mask of chapter 5's `Dropout(0.2)` after
//! `Conv2D(15, 2)` on 28×28 images, batch 32 (349,920 values).
//!
//! ```text
//! cargo run --release --example dropout_mask_bench                        # every core
//! RAYON_NUM_THREADS=1 cargo run --release --example dropout_mask_bench    # one core
//! ```
//! Prints `ns_per_value=<median of 7 runs of 100 masks>`.

use std::time::Instant;

fn main() {
    cnn_course::set_seed(1);
    let n = 32 * 27 * 27 * 15;
    let mut kept = 0.0f32;
    let mut times = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        for _ in 0..100 {
            kept += cnn_course::rng::bernoulli(n, 0.8)[0];
        }
        times.push(started.elapsed().as_secs_f64() / 100.0 / n as f64 * 1e9);
    }
    times.sort_by(f64::total_cmp);
    println!("{kept} of 700 first values kept");
    println!("ns_per_value={:.2}", times[3]);
}
