//! Makes the generated data in `data/` that the course ships: run
//! `cargo run -p course-data --release`. The output is the same on every run (a fixed seed
//! per file). (The digits in `data/digits/` are real MNIST digits, copied, not generated.)

use course_data::{clothing, photo};
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An IDX file of unsigned bytes (the MNIST format), gzip-compressed.
fn write_idx(path: &Path, dims: &[u32], values: &[u8]) -> std::io::Result<()> {
    let mut bytes = vec![0u8, 0, 8, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(values);
    // A fixed header (no file name, no time) keeps the output byte-identical.
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&bytes)?;
    std::fs::write(path, gz.finish()?)
}

fn write_split(dir: &Path, prefix: &str, images: &[u8], labels: &[u8]) -> std::io::Result<()> {
    let n = labels.len() as u32;
    write_idx(
        &dir.join(format!("{prefix}-images-idx3-ubyte.gz")),
        &[n, 28, 28],
        images,
    )?;
    write_idx(&dir.join(format!("{prefix}-labels-idx1-ubyte.gz")), &[n], labels)
}

fn write_png(path: &Path, (w, h, pixels): (usize, usize, Vec<photo::Rgb>)) -> image::ImageResult<()> {
    let bytes: Vec<u8> = pixels
        .iter()
        .flat_map(|p| p.map(|v| (v * 255.0).round() as u8))
        .collect();
    image::save_buffer(path, &bytes, w as u32, h as u32, image::ColorType::Rgb8)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out: PathBuf = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(data_dir);
    generate(&out)
}

/// The `data/` folder beside this generator.
fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Clothing images shipped: for training (the course takes its validation images from
/// them) and for testing.
const TRAIN: usize = 2400;
const TEST: usize = 600;

/// Write every generated file under `out`.
fn generate(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let dir = out.join("clothing");
    std::fs::create_dir_all(&dir)?;
    for (prefix, count, seed) in [("train", TRAIN, 1), ("t10k", TEST, 101)] {
        let (images, labels) = clothing::dataset(count, &clothing::Style::default(), seed);
        write_split(&dir, prefix, &images, &labels)?;
    }
    println!("{}: {TRAIN} training and {TEST} test images, 3 classes", dir.display());
    let images = out.join("images");
    std::fs::create_dir_all(&images)?;
    write_png(
        &images.join("stop_sign.png"),
        photo::stop_sign(&mut StdRng::seed_from_u64(3)),
    )?;
    write_png(&images.join("bricks.png"), photo::bricks(&mut StdRng::seed_from_u64(4)))?;
    write_png(
        &images.join("my_digit.png"),
        photo::handwritten_seven(&mut StdRng::seed_from_u64(5)),
    )?;
    println!("{}: stop_sign.png, bricks.png, my_digit.png", images.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed files are exactly what this code makes: nobody edited them by hand,
    /// and the generator is deterministic.
    #[test]
    fn regenerating_gives_the_committed_files() {
        let out = std::env::temp_dir().join(format!("course-data-{}", std::process::id()));
        generate(&out).unwrap();
        for file in [
            "clothing/train-images-idx3-ubyte.gz",
            "clothing/train-labels-idx1-ubyte.gz",
            "clothing/t10k-images-idx3-ubyte.gz",
            "clothing/t10k-labels-idx1-ubyte.gz",
            "images/stop_sign.png",
            "images/bricks.png",
            "images/my_digit.png",
        ] {
            let made = std::fs::read(out.join(file)).unwrap();
            let committed = std::fs::read(data_dir().join(file)).unwrap();
            assert!(
                made == committed,
                "{file} differs from what the generator makes; run `cargo run -p course-data --release`"
            );
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
