//! A greyscale drawing surface with anti-aliased polygons and strokes (4×4 supersampling).

/// A point in the unit square: x to the right, y downwards.
pub type Point = (f32, f32);

pub struct Canvas {
    pub size: usize,
    pub pixels: Vec<f32>,
}

impl Canvas {
    pub fn new(size: usize) -> Self {
        Canvas {
            size,
            pixels: vec![0.0; size * size],
        }
    }

    /// Paint `value` over the area where `inside(x, y)` holds (unit coordinates), with
    /// coverage-weighted blending.
    pub fn fill(&mut self, value: f32, inside: impl Fn(f32, f32) -> bool) {
        const SUB: usize = 4;
        let n = self.size as f32;
        for row in 0..self.size {
            for col in 0..self.size {
                let mut hits = 0;
                for sy in 0..SUB {
                    for sx in 0..SUB {
                        let x = (col as f32 + (sx as f32 + 0.5) / SUB as f32) / n;
                        let y = (row as f32 + (sy as f32 + 0.5) / SUB as f32) / n;
                        if inside(x, y) {
                            hits += 1;
                        }
                    }
                }
                if hits > 0 {
                    let coverage = hits as f32 / (SUB * SUB) as f32;
                    let p = &mut self.pixels[row * self.size + col];
                    *p = *p * (1.0 - coverage) + value * coverage;
                }
            }
        }
    }

    pub fn polygon(&mut self, points: &[Point], value: f32) {
        self.fill(value, |x, y| inside_polygon(points, x, y));
    }

    /// A polyline of thickness `width` (unit coordinates), with round joints.
    pub fn stroke(&mut self, points: &[Point], width: f32, value: f32) {
        let r = width / 2.0;
        self.fill(value, |x, y| {
            points.windows(2).any(|s| distance_to_segment((x, y), s[0], s[1]) <= r)
        });
    }
}

pub fn inside_polygon(points: &[Point], x: f32, y: f32) -> bool {
    let mut inside = false;
    let mut j = points.len() - 1;
    for i in 0..points.len() {
        let (xi, yi) = points[i];
        let (xj, yj) = points[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

pub fn distance_to_segment(p: Point, a: Point, b: Point) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

/// A random similarity transform around the centre: scale, rotation, shift, optional flip.
#[derive(Clone, Copy)]
pub struct Placement {
    pub scale: f32,
    pub angle: f32,
    pub shear: f32,
    pub shift: Point,
    pub flip: bool,
}

impl Placement {
    pub fn apply(&self, (x, y): Point) -> Point {
        let (mut x, y) = (x - 0.5, y - 0.5);
        if self.flip {
            x = -x;
        }
        let x = x + self.shear * y;
        let (s, c) = self.angle.sin_cos();
        let (rx, ry) = (c * x - s * y, s * x + c * y);
        (
            0.5 + self.scale * rx + self.shift.0,
            0.5 + self.scale * ry + self.shift.1,
        )
    }

    pub fn all(&self, points: &[Point]) -> Vec<Point> {
        points.iter().map(|&p| self.apply(p)).collect()
    }
}
