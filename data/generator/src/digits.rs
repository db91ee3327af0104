//! Handwriting-like digits: each digit is a few strokes through control points, drawn with
//! a random slant, rotation, size, position, pen width and wobble.

use crate::canvas::{Canvas, Placement, Point};
use rand::rngs::StdRng;
use rand::Rng;

fn arc(cx: f32, cy: f32, rx: f32, ry: f32, from: f32, to: f32, steps: usize) -> Vec<Point> {
    (0..=steps)
        .map(|i| {
            let a = (from + (to - from) * i as f32 / steps as f32).to_radians();
            (cx + rx * a.cos(), cy + ry * a.sin())
        })
        .collect()
}

/// The strokes of `digit` in the unit square (angles in degrees, y downwards).
fn strokes(digit: usize) -> Vec<Vec<Point>> {
    match digit {
        0 => vec![arc(0.5, 0.5, 0.22, 0.34, 0.0, 360.0, 24)],
        1 => vec![vec![(0.36, 0.26), (0.52, 0.14), (0.52, 0.86)]],
        2 => {
            let mut s = arc(0.5, 0.34, 0.2, 0.18, 190.0, 380.0, 10);
            s.extend([(0.28, 0.84), (0.76, 0.84)]);
            vec![s]
        }
        3 => vec![
            arc(0.48, 0.32, 0.19, 0.17, 200.0, 450.0, 12),
            arc(0.48, 0.66, 0.22, 0.19, 270.0, 520.0, 12),
        ],
        4 => vec![vec![(0.62, 0.86), (0.62, 0.14), (0.24, 0.62), (0.8, 0.62)]],
        5 => {
            let mut s = vec![(0.72, 0.16), (0.34, 0.16), (0.31, 0.46)];
            s.extend(arc(0.48, 0.63, 0.22, 0.2, 230.0, 500.0, 12));
            vec![s]
        }
        6 => {
            let mut s = vec![(0.66, 0.14), (0.42, 0.36)];
            s.extend(arc(0.5, 0.64, 0.2, 0.2, 200.0, 560.0, 18));
            vec![s]
        }
        7 => vec![vec![(0.24, 0.16), (0.78, 0.16), (0.44, 0.86)]],
        8 => vec![
            arc(0.5, 0.31, 0.17, 0.16, 0.0, 360.0, 18),
            arc(0.5, 0.67, 0.21, 0.19, 0.0, 360.0, 20),
        ],
        _ => {
            let mut s = arc(0.5, 0.34, 0.19, 0.19, 0.0, 360.0, 18);
            s.extend([(0.69, 0.36), (0.62, 0.86)]);
            vec![s]
        }
    }
}

/// One 28×28 image of `digit`, values 0..1.
pub fn draw(digit: usize, rng: &mut StdRng) -> Vec<f32> {
    let place = Placement {
        scale: rng.random_range(0.7..1.0),
        angle: rng.random_range(-0.22..0.22),
        shear: rng.random_range(-0.35..0.25),
        shift: (rng.random_range(-0.08..0.08), rng.random_range(-0.06..0.06)),
        flip: false,
    };
    let width = rng.random_range(0.07..0.13);
    let ink = rng.random_range(0.75..1.0);
    let mut canvas = Canvas::new(28);
    for stroke in strokes(digit) {
        let wobbly: Vec<Point> = stroke
            .iter()
            .map(|&(x, y)| (x + rng.random_range(-0.035..0.035), y + rng.random_range(-0.035..0.035)))
            .collect();
        canvas.stroke(&place.all(&wobbly), width, ink);
    }
    canvas.pixels
}
