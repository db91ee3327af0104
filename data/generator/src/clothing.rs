//! Clothing silhouettes: t-shirts, dresses and shoes, varied in shape, size, position,
//! brightness, texture and noise — small enough to learn, hard enough that a network must
//! look at shapes rather than single pixels.

use crate::canvas::{Canvas, Placement, Point};
use rand::rngs::StdRng;
use rand::Rng;

fn t_shirt(rng: &mut StdRng) -> Vec<Vec<Point>> {
    let half = rng.random_range(0.16..0.24); // half the body width
    let top = rng.random_range(0.12..0.2);
    let bottom = rng.random_range(0.78..0.92);
    let sleeve = rng.random_range(0.12..0.26); // how far sleeves reach out
    let sleeve_drop = rng.random_range(0.12..0.3);
    let neck = rng.random_range(0.05..0.09);
    let (l, r) = (0.5 - half, 0.5 + half);
    let body = vec![
        (l, top),
        (0.5 - neck, top),
        (0.5, top + rng.random_range(0.03..0.08)),
        (0.5 + neck, top),
        (r, top),
        (r + sleeve, top + sleeve_drop),
        (r + sleeve * 0.6, top + sleeve_drop + 0.1),
        (r, top + 0.22),
        (r + rng.random_range(-0.03..0.02), bottom),
        (l + rng.random_range(-0.02..0.03), bottom),
        (l, top + 0.22),
        (l - sleeve * 0.6, top + sleeve_drop + 0.1),
        (l - sleeve, top + sleeve_drop),
    ];
    vec![body]
}

fn dress(rng: &mut StdRng) -> Vec<Vec<Point>> {
    let top = rng.random_range(0.06..0.16);
    let shoulder = rng.random_range(0.08..0.14);
    let waist_y = rng.random_range(0.35..0.5);
    let waist = rng.random_range(0.08..0.13);
    let hem = rng.random_range(0.22..0.36);
    let bottom = rng.random_range(0.86..0.96);
    let mut outline = vec![
        (0.5 - shoulder, top),
        (0.5 - 0.04, top + 0.04),
        (0.5 + 0.04, top + 0.04),
        (0.5 + shoulder, top),
    ];
    if rng.random_bool(0.3) {
        // Short sleeves make some dresses look a little like t-shirts.
        outline.push((0.5 + shoulder + 0.1, top + 0.1));
        outline.push((0.5 + shoulder + 0.04, top + 0.16));
    }
    outline.extend([
        (0.5 + waist, waist_y),
        (0.5 + hem, bottom),
        (0.5 + hem * 0.3, bottom + rng.random_range(-0.02..0.02)),
        (0.5 - hem * 0.3, bottom + rng.random_range(-0.02..0.02)),
        (0.5 - hem, bottom),
        (0.5 - waist, waist_y),
    ]);
    if outline.len() == 12 {
        outline.push((0.5 - shoulder - 0.04, top + 0.16));
        outline.push((0.5 - shoulder - 0.1, top + 0.1));
    }
    vec![outline]
}

fn shoe(rng: &mut StdRng) -> Vec<Vec<Point>> {
    let sole = rng.random_range(0.66..0.76);
    let heel_x = rng.random_range(0.08..0.16);
    let toe_x = rng.random_range(0.86..0.94);
    let kind = rng.random_range(0..3);
    let shaft_top = match kind {
        0 => rng.random_range(0.35..0.48), // sneaker
        1 => rng.random_range(0.12..0.25), // ankle boot
        _ => rng.random_range(0.42..0.52), // sandal-like, low
    };
    let upper = vec![
        (heel_x, sole),
        (heel_x + 0.02, shaft_top),
        (heel_x + rng.random_range(0.22..0.32), shaft_top),
        (
            heel_x + rng.random_range(0.36..0.46),
            sole - rng.random_range(0.15..0.25),
        ),
        (toe_x - 0.08, sole - rng.random_range(0.1..0.16)),
        (toe_x, sole - 0.03),
        (toe_x, sole),
    ];
    let sole_shape = vec![
        (heel_x - 0.01, sole),
        (toe_x + 0.01, sole),
        (toe_x, sole + rng.random_range(0.04..0.08)),
        (heel_x, sole + rng.random_range(0.04..0.09)),
    ];
    vec![upper, sole_shape]
}

/// One 28×28 image of class `class` (0 t-shirt, 1 dress, 2 shoe), values 0..1.
pub fn draw(class: usize, rng: &mut StdRng) -> Vec<f32> {
    let shapes = match class {
        0 => t_shirt(rng),
        1 => dress(rng),
        _ => shoe(rng),
    };
    let place = Placement {
        scale: rng.random_range(0.5..0.95),
        angle: rng.random_range(-0.3..0.3),
        shear: rng.random_range(-0.1..0.1),
        shift: (rng.random_range(-0.22..0.22), rng.random_range(-0.18..0.18)),
        flip: class == 2 && rng.random_bool(0.5),
    };
    let mut canvas = Canvas::new(28);
    let brightness: f32 = rng.random_range(0.35..1.0);
    for (i, shape) in shapes.iter().enumerate() {
        let shade = if i == 0 {
            brightness
        } else {
            (brightness * rng.random_range(0.4..1.3)).min(1.0)
        };
        canvas.polygon(&place.all(shape), shade);
    }
    // Texture: stripes, checks or speckles on the garment.
    let texture = rng.random_range(0..4);
    let period = rng.random_range(2.5..6.0);
    let depth = rng.random_range(0.1..0.45);
    let phase = rng.random_range(0.0..6.3);
    for row in 0..28 {
        for col in 0..28 {
            let p = &mut canvas.pixels[row * 28 + col];
            if *p > 0.0 {
                let t = match texture {
                    0 => 1.0,
                    1 => 0.5 + 0.5 * ((row as f32 / period) * std::f32::consts::TAU + phase).sin(),
                    2 => 0.5 + 0.5 * ((col as f32 / period) * std::f32::consts::TAU + phase).sin(),
                    _ => rng.random_range(0.0..1.0),
                };
                *p *= 1.0 - depth * t;
            }
        }
    }
    // Sensor noise and a faint background.
    let noise = rng.random_range(0.0..0.12);
    let background = rng.random_range(0.0..0.15);
    for p in canvas.pixels.iter_mut() {
        *p = (*p + background * (1.0 - *p) + noise * rng.random_range(-1.0..1.0)).clamp(0.0, 1.0);
    }
    canvas.pixels
}
