//! Drawing image figures into an RGB buffer: plotters draws the text and frames, then the
//! pictures are copied in pixel by pixel, each source pixel a `scale × scale` block.

use super::drawing_error;
use super::picture::Picture;
use crate::Result;
use image::RgbImage;
use plotters::prelude::*;

/// A picture placed at `(x, y)` in the figure, enlarged `scale` times.
pub(crate) struct Placed {
    pub picture: Picture,
    pub x: u32,
    pub y: u32,
    pub scale: u32,
}

/// Text at `(x, y)` (top-left), in `color`.
pub(crate) struct Label {
    pub text: String,
    pub x: i32,
    pub y: i32,
    pub size: u32,
    pub color: RGBColor,
}

/// A filled rectangle (frames, colorbar cells).
pub(crate) struct Block {
    pub from: (i32, i32),
    pub to: (i32, i32),
    pub color: RGBColor,
}

pub(crate) fn draw(width: u32, height: u32, labels: &[Label], blocks: &[Block], placed: &[Placed]) -> Result<RgbImage> {
    let mut buffer = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        for block in blocks {
            root.draw(&Rectangle::new([block.from, block.to], block.color.filled()))
                .map_err(drawing_error)?;
        }
        for label in labels {
            let style = ("sans-serif", label.size).into_font().color(&label.color);
            root.draw(&Text::new(label.text.clone(), (label.x, label.y), style))
                .map_err(drawing_error)?;
        }
        root.present().map_err(drawing_error)?;
    }
    for p in placed {
        for row in 0..p.picture.rows {
            for col in 0..p.picture.cols {
                let color = p.picture.pixels[row * p.picture.cols + col];
                for dy in 0..p.scale {
                    let y = p.y + row as u32 * p.scale + dy;
                    let start = ((y * width + p.x + col as u32 * p.scale) * 3) as usize;
                    for dx in 0..p.scale as usize {
                        if start + dx * 3 + 2 < buffer.len() {
                            buffer[start + dx * 3..start + dx * 3 + 3].copy_from_slice(&color);
                        }
                    }
                }
            }
        }
    }
    RgbImage::from_raw(width, height, buffer)
        .ok_or_else(|| crate::Error::new(crate::error::Kind::Internal, "figure: buffer size mismatch"))
}

/// Text width estimate for layout (DejaVu Sans averages ~0.6 em per character).
pub(crate) fn text_width(text: &str, size: u32) -> u32 {
    (text.chars().count() as f32 * size as f32 * 0.6).ceil() as u32
}
