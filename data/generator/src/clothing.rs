//! Clothing in the style of Fashion-MNIST: t-shirts, dresses and sneakers as 28×28
//! greyscale images, centred and upright on a black background, each garment's shape,
//! proportions, shade and fabric drawn at random.
//!
//! A [`Style`] sets how far images stray from that: how far garments may be shifted and
//! rotated, how much sensor noise is added, how large they are. The default is close to
//! Fashion-MNIST; the course's lab cells turn the knobs (shifted test images, noise).

use crate::canvas::{Canvas, Placement, Point};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// The classes, in label order.
pub const CLASSES: [&str; 3] = ["t-shirt", "dress", "sneaker"];

/// How the images vary beyond the garments' own shapes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    /// Largest shift from the centre, in pixels, along each axis.
    pub shift: f32,
    /// Largest rotation, in degrees, either way.
    pub rotation: f32,
    /// Standard deviation of the noise added to every pixel (0..1 scale).
    pub noise: f32,
    /// Smallest and largest size, as a fraction of the frame.
    pub size: (f32, f32),
}

impl Default for Style {
    /// Close to Fashion-MNIST: centred within a pixel, upright within 4°, no noise.
    fn default() -> Self {
        Style {
            shift: 1.0,
            rotation: 4.0,
            noise: 0.0,
            size: (0.86, 1.0),
        }
    }
}

/// Points along a quadratic Bézier curve from `a` to `c` bent towards `b` (`a` left out).
fn curve(a: Point, b: Point, c: Point, steps: usize) -> Vec<Point> {
    (1..=steps)
        .map(|i| {
            let t = i as f32 / steps as f32;
            let u = 1.0 - t;
            (
                u * u * a.0 + 2.0 * u * t * b.0 + t * t * c.0,
                u * u * a.1 + 2.0 * u * t * b.1 + t * t * c.1,
            )
        })
        .collect()
}

/// A front view: shoulders, a round neckline, short sleeves out to the sides, a straight body
/// — and one in ten long and flared, as some tunics are, a little like a dress.
fn t_shirt(rng: &mut StdRng) -> Vec<Point> {
    let tunic = rng.random_bool(0.1);
    let half = rng.random_range(0.23..0.3); // half the body width
    let shoulder = rng.random_range(0.06..0.1);
    let neck = rng.random_range(0.09..0.13);
    let neck_depth = rng.random_range(0.04..0.1);
    let sleeve_out = rng.random_range(0.16..0.22);
    let sleeve_down = rng.random_range(0.22..0.32);
    let sleeve_width = rng.random_range(0.1..0.15);
    let armpit = shoulder + rng.random_range(0.2..0.26);
    let bottom = rng.random_range(0.92..0.98);
    let flare = match tunic {
        true => rng.random_range(0.04..0.1),
        false => rng.random_range(-0.02..0.03),
    };
    let half = if tunic { half * 0.8 } else { half };
    let (l, r) = (0.5 - half, 0.5 + half);
    let mut outline = vec![(0.5 - neck, shoulder)];
    outline.extend(curve(
        (0.5 - neck, shoulder),
        (0.5, shoulder + 2.0 * neck_depth),
        (0.5 + neck, shoulder),
        6,
    ));
    outline.extend([
        (r - 0.04, shoulder + 0.01),
        (r + sleeve_out, shoulder + sleeve_down),
        (
            r + sleeve_out - sleeve_width * 0.7,
            shoulder + sleeve_down + sleeve_width * 0.6,
        ),
        (r, armpit),
        (r + flare, bottom),
    ]);
    outline.extend(curve((r + flare, bottom), (0.5, bottom + 0.02), (l - flare, bottom), 4));
    outline.extend([
        (l, armpit),
        (
            l - sleeve_out + sleeve_width * 0.7,
            shoulder + sleeve_down + sleeve_width * 0.6,
        ),
        (l - sleeve_out, shoulder + sleeve_down),
        (l + 0.04, shoulder + 0.01),
    ]);
    outline
}

/// A front view: a fitted top (straps, short or no sleeves), a waist, a flared skirt — and
/// one in eight a straight t-shirt dress, a little like a long t-shirt.
fn dress(rng: &mut StdRng) -> Vec<Point> {
    let straight = rng.random_bool(0.125);
    let top = rng.random_range(0.03..0.08);
    let bodice = match straight {
        true => rng.random_range(0.17..0.22),
        false => rng.random_range(0.1..0.15),
    }; // half width of the top
    let waist_y = rng.random_range(0.3..0.42);
    let waist = if straight { bodice } else { rng.random_range(0.09..0.13) };
    let hem = if straight {
        bodice + rng.random_range(0.02..0.08)
    } else {
        rng.random_range(0.26..0.42)
    };
    let bottom = rng.random_range(0.95..0.99);
    let neck = rng.random_range(0.04..0.07);
    let sleeves = if straight { 1 } else { rng.random_range(0..3) }; // none, short, long
    let mut right = vec![(0.5 + neck, top)];
    right.push((0.5 + bodice, top + 0.02));
    match sleeves {
        1 => right.extend([(0.5 + bodice + 0.1, top + 0.1), (0.5 + bodice + 0.05, top + 0.17)]),
        2 => right.extend([
            (0.5 + bodice + 0.12, top + 0.1),
            (0.5 + bodice + 0.2, waist_y + 0.12),
            (0.5 + bodice + 0.14, waist_y + 0.14),
            (0.5 + bodice + 0.04, top + 0.2),
        ]),
        _ => {}
    }
    right.push((0.5 + bodice - 0.01, top + 0.14));
    right.push((0.5 + waist, waist_y));
    right.extend(curve(
        (0.5 + waist, waist_y),
        (0.5 + waist + hem * 0.2, (waist_y + bottom) / 2.0),
        (0.5 + hem, bottom),
        5,
    ));
    let mut outline: Vec<Point> = right.clone();
    outline.extend(curve((0.5 + hem, bottom), (0.5, bottom + 0.03), (0.5 - hem, bottom), 4));
    outline.extend(right.iter().rev().skip(1).map(|&(x, y)| (1.0 - x, y)));
    outline.extend(curve(
        (0.5 - neck, top),
        (0.5, top + rng.random_range(0.04..0.1)),
        (0.5 + neck, top),
        4,
    ));
    outline
}

/// A side view, toe to the right: a thick sole, a rounded toe, a low collar at the heel.
fn sneaker(rng: &mut StdRng) -> (Vec<Point>, Vec<Point>) {
    let sole_top = rng.random_range(0.66..0.72);
    let sole_bottom = sole_top + rng.random_range(0.08..0.13);
    let heel = rng.random_range(0.03..0.08);
    let toe = rng.random_range(0.93..0.98);
    let collar = rng.random_range(0.2..0.32);
    let tongue = collar - rng.random_range(0.03..0.08);
    let instep = rng.random_range(0.38..0.48);
    let mut upper = vec![(heel, sole_top), (heel - 0.01, collar + 0.08)];
    upper.extend(curve(
        (heel - 0.01, collar + 0.08),
        (heel + 0.04, collar - 0.02),
        (heel + 0.16, collar + 0.03),
        4,
    ));
    upper.extend(curve(
        (heel + 0.16, collar + 0.03),
        (heel + 0.26, tongue - 0.04),
        (heel + 0.34, tongue),
        3,
    ));
    upper.extend(curve(
        (heel + 0.34, tongue),
        (0.6, instep - 0.08),
        (0.78, instep + 0.08),
        4,
    ));
    upper.extend(curve(
        (0.78, instep + 0.08),
        (toe + 0.02, instep + 0.1),
        (toe, sole_top),
        5,
    ));
    let mut sole = vec![(heel - 0.02, sole_top), (toe + 0.02, sole_top)];
    sole.extend(curve(
        (toe + 0.02, sole_top),
        (toe + 0.02, sole_bottom),
        (toe - 0.06, sole_bottom),
        3,
    ));
    sole.push((heel + 0.02, sole_bottom));
    sole.extend(curve(
        (heel + 0.02, sole_bottom),
        (heel - 0.03, sole_bottom),
        (heel - 0.02, sole_top),
        3,
    ));
    (upper, sole)
}

/// One 28×28 image of class `class` (0 t-shirt, 1 dress, 2 sneaker) in `style`, values 0..1.
pub fn draw(class: usize, style: &Style, rng: &mut StdRng) -> Vec<f32> {
    let size = rng.random_range(style.size.0..=style.size.1);
    let place = Placement {
        scale: size,
        angle: rng.random_range(-style.rotation..=style.rotation).to_radians(),
        shear: 0.0,
        shift: (
            rng.random_range(-style.shift..=style.shift) / 28.0,
            rng.random_range(-style.shift..=style.shift) / 28.0,
        ),
        flip: class == 2 && rng.random_bool(0.5),
    };
    let mut canvas = Canvas::new(28);
    let shade: f32 = rng.random_range(0.45..1.0);
    match class {
        0 => canvas.polygon(&place.all(&t_shirt(rng)), shade),
        1 => canvas.polygon(&place.all(&dress(rng)), shade),
        _ => {
            let (upper, sole) = sneaker(rng);
            canvas.polygon(&place.all(&upper), shade);
            let sole_shade = (shade * rng.random_range(0.55..1.3)).clamp(0.25, 1.0);
            canvas.polygon(&place.all(&sole), sole_shade);
        }
    }
    shade_fabric(&mut canvas, class, rng);
    let noise = style.noise;
    if noise > 0.0 {
        for p in canvas.pixels.iter_mut() {
            let gauss: f32 = (0..4).map(|_| rng.random_range(-1.0f32..1.0)).sum::<f32>() * 0.87;
            *p = (*p + noise * gauss).clamp(0.0, 1.0);
        }
    }
    canvas.pixels
}

/// Light and fabric on the garment: a gentle gradient, a weave, sometimes stripes, a print
/// or laces; the background stays black.
fn shade_fabric(canvas: &mut Canvas, class: usize, rng: &mut StdRng) {
    let gradient = rng.random_range(-0.25..0.25);
    let weave = rng.random_range(0.0..0.12);
    let pattern = rng.random_range(0..5);
    let period = rng.random_range(2.2..4.0);
    let depth = rng.random_range(0.2..0.5);
    let print_row = rng.random_range(8..14);
    for row in 0..28 {
        for col in 0..28 {
            let p = &mut canvas.pixels[row * 28 + col];
            if *p <= 0.0 {
                continue;
            }
            let (y, x) = (row as f32 / 27.0, col as f32 / 27.0);
            let mut factor = 1.0 + gradient * (y - 0.5) - weave * rng.random_range(0.0..1.0);
            factor *= match (class, pattern) {
                // Horizontal stripes on shirts and dresses.
                (0 | 1, 0) => 1.0 - depth * (0.5 + 0.5 * (y * 27.0 / period * std::f32::consts::TAU).sin()),
                // A printed band across the chest.
                (0, 1) if (print_row..print_row + 4).contains(&row) && (0.35..0.65).contains(&x) => 1.0 - depth,
                // Laces: a row of dark dots along the top of a sneaker.
                (2, 1 | 2) if row % 2 == 0 && col % 3 == 0 && (0.35..0.6).contains(&y) => 1.0 - depth,
                _ => 1.0,
            };
            *p = (*p * factor).clamp(0.0, 1.0);
        }
    }
}

/// `count` images in `style`, a third of each class in a random order, from `seed`:
/// pixels as bytes (row by row) and labels.
pub fn dataset(count: usize, style: &Style, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut labels: Vec<u8> = (0..count).map(|i| (i % CLASSES.len()) as u8).collect();
    labels.shuffle(&mut rng);
    let images = labels
        .iter()
        .flat_map(|&class| draw(class as usize, style, &mut rng))
        .map(|v| (v * 255.0).round() as u8)
        .collect();
    (images, labels)
}
