//! Colour pictures for chapter 1: a stop sign on a street, and a brick wall.

use crate::canvas::inside_polygon;
use rand::rngs::StdRng;
use rand::Rng;

pub type Rgb = [f32; 3];

/// The sign's red: the pixel a learner reads is about [0.73, 0.08, 0.15].
pub const SIGN_RED: Rgb = [0.73, 0.08, 0.15];

fn octagon(cx: f32, cy: f32, r: f32) -> Vec<(f32, f32)> {
    (0..8)
        .map(|i| {
            let a = (22.5 + 45.0 * i as f32).to_radians();
            (cx + r * a.cos(), cy + r * a.sin())
        })
        .collect()
}

/// Block letters S, T, O, P as rectangles (x0, y0, x1, y1) in a 4 × 5 grid per letter.
fn stop_letters() -> Vec<(f32, f32, f32, f32)> {
    let glyphs: [&[(f32, f32, f32, f32)]; 4] = [
        // S
        &[
            (0.0, 0.0, 4.0, 1.0),
            (0.0, 0.0, 1.0, 3.0),
            (0.0, 2.0, 4.0, 3.0),
            (3.0, 2.0, 4.0, 5.0),
            (0.0, 4.0, 4.0, 5.0),
        ],
        // T
        &[(0.0, 0.0, 4.0, 1.0), (1.5, 0.0, 2.5, 5.0)],
        // O
        &[
            (0.0, 0.0, 4.0, 1.0),
            (0.0, 4.0, 4.0, 5.0),
            (0.0, 0.0, 1.0, 5.0),
            (3.0, 0.0, 4.0, 5.0),
        ],
        // P
        &[
            (0.0, 0.0, 4.0, 1.0),
            (0.0, 0.0, 1.0, 5.0),
            (3.0, 0.0, 4.0, 3.0),
            (0.0, 2.0, 4.0, 3.0),
        ],
    ];
    let mut rects = Vec::new();
    for (i, glyph) in glyphs.iter().enumerate() {
        let x0 = i as f32 * 5.2;
        rects.extend(glyph.iter().map(|&(a, b, c, d)| (x0 + a, b, x0 + c, d)));
    }
    rects
}

/// A 480×360 street scene with a stop sign, values 0..1, row-major RGB.
pub fn stop_sign(rng: &mut StdRng) -> (usize, usize, Vec<Rgb>) {
    let (w, h) = (480usize, 360usize);
    let sign = octagon(300.0, 130.0, 78.0);
    let border = octagon(300.0, 130.0, 70.0);
    let letters = stop_letters();
    let (lx, ly, unit) = (300.0 - 20.6 * 5.2 / 2.0, 130.0 - 12.5, 5.0);
    let buildings: Vec<(f32, f32, f32, Rgb)> = (0..6)
        .map(|i| {
            let x0 = i as f32 * 80.0 + rng.random_range(-10.0..10.0);
            let top = rng.random_range(60.0..170.0);
            let g = rng.random_range(0.35..0.65);
            (x0, x0 + rng.random_range(60.0..95.0), top, [g + 0.08, g, g - 0.05])
        })
        .collect();
    let mut pixels = Vec::with_capacity(w * h);
    for row in 0..h {
        for col in 0..w {
            let (x, y) = (col as f32 + 0.5, row as f32 + 0.5);
            let t = y / h as f32;
            // Sky, buildings, pavement, road with lane marks.
            let mut c: Rgb = [0.55 + 0.35 * t, 0.7 + 0.2 * t, 0.95];
            for &(x0, x1, top, colour) in &buildings {
                if x >= x0 && x < x1 && y >= top && y < 250.0 {
                    c = colour;
                    let (wx, wy) = ((x - x0) % 18.0, (y - top) % 22.0);
                    if wx > 5.0 && wx < 13.0 && wy > 6.0 && wy < 15.0 {
                        c = [0.25, 0.3, 0.38];
                    }
                }
            }
            if y >= 250.0 {
                c = if y < 268.0 {
                    [0.62, 0.6, 0.57]
                } else {
                    [0.28, 0.28, 0.3]
                };
                if y > 300.0 && y < 308.0 && (x as i32 / 40) % 2 == 0 {
                    c = [0.92, 0.9, 0.75];
                }
            }
            // The pole, the sign's white rim, red face and white letters.
            if x > 294.0 && x < 306.0 && y > 200.0 && y < 300.0 {
                c = [0.55, 0.56, 0.58];
            }
            if inside_polygon(&sign, x, y) {
                c = [0.95, 0.95, 0.95];
            }
            if inside_polygon(&border, x, y) {
                c = SIGN_RED;
                let (u, v) = ((x - lx) / unit, (y - ly) / unit);
                if letters.iter().any(|&(a, b, cc, d)| u >= a && u < cc && v >= b && v < d) {
                    c = [0.97, 0.97, 0.97];
                }
            }
            // Sensor noise everywhere but on the sign's flat red face, so its pixel reads
            // exactly [0.73, 0.08, 0.15] to two decimals.
            let noise = if c == SIGN_RED { 0.0 } else { 0.015 };
            pixels.push(c.map(|v| {
                (v + if noise > 0.0 {
                    rng.random_range(-noise..noise)
                } else {
                    0.0
                })
                .clamp(0.0, 1.0)
            }));
        }
    }
    (w, h, pixels)
}

/// A 256×256 brick wall, values 0..1, row-major RGB.
pub fn bricks(rng: &mut StdRng) -> (usize, usize, Vec<Rgb>) {
    let size = 256usize;
    let (bw, bh, mortar) = (64usize, 32usize, 4usize);
    let shades: Vec<f32> = (0..64).map(|_| rng.random_range(0.8..1.15)).collect();
    let mut pixels = Vec::with_capacity(size * size);
    for row in 0..size {
        for col in 0..size {
            let course = row / bh;
            let offset = if course % 2 == 1 { bw / 2 } else { 0 };
            let brick = (col + offset) / bw;
            let in_mortar = row % bh < mortar || (col + offset) % bw < mortar;
            let c: Rgb = if in_mortar {
                [0.78, 0.76, 0.72]
            } else {
                let s = shades[(course * 5 + brick) % shades.len()];
                [0.62 * s, 0.27 * s, 0.2 * s]
            };
            let grain = rng.random_range(-0.05..0.05);
            pixels.push(c.map(|v| (v + grain).clamp(0.0, 1.0)));
        }
    }
    (size, size, pixels)
}

/// A handwritten 7 on a sheet of paper, 240 × 240, as a phone photo of it would look: warm
/// paper lit unevenly, dark blue ink of varying width. The course's example of "your own
/// digit" (chapter 4).
pub fn handwritten_seven(rng: &mut StdRng) -> (usize, usize, Vec<Rgb>) {
    let size = 240;
    let mut ink = crate::canvas::Canvas::new(size);
    let bar = [(0.3, 0.25), (0.5, 0.23), (0.7, 0.22)];
    ink.stroke(&bar, 0.08, 1.0);
    let mut stem = vec![(0.7, 0.22)];
    for i in 1..=8 {
        let t = i as f32 / 8.0;
        stem.push((0.7 - 0.24 * t + 0.02 * (t * 3.0).sin(), 0.22 + 0.6 * t));
    }
    ink.stroke(&stem, 0.08, 1.0);
    let mut pixels = Vec::with_capacity(size * size);
    for row in 0..size {
        for col in 0..size {
            let light = 0.93 - 0.1 * (row as f32 / size as f32) - 0.05 * (col as f32 / size as f32);
            let grain = rng.random_range(-0.015..0.015);
            let paper = [light + 0.02 + grain, light + grain, light - 0.04 + grain];
            let a = ink.pixels[row * size + col];
            let pen = [0.12, 0.14, 0.32];
            pixels.push([0, 1, 2].map(|c| (paper[c] * (1.0 - a) + pen[c] * a).clamp(0.0, 1.0)));
        }
    }
    (size, size, pixels)
}
