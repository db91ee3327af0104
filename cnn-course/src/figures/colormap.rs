//! Colormaps: how a number becomes a colour.
//!
//! - `viridis` (default): dark purple → blue → green → yellow, even in brightness steps,
//!   readable by colour-blind viewers;
//! - `gray`: black → white, the natural choice for greyscale photos;
//! - `diverging`: blue for negative, white for 0, red for positive — for kernels, whose
//!   weights have a sign. Its range is symmetric around 0.

use crate::{bail, Result};

/// How values become colours (the module's documentation shows each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Colormap {
    /// Dark purple → blue → green → yellow (the default).
    #[default]
    Viridis,
    /// Black → white.
    Gray,
    /// Blue (negative) → white (0) → red (positive).
    Diverging,
}

impl std::str::FromStr for Colormap {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "viridis" => Ok(Colormap::Viridis),
            "gray" | "grey" | "greys" => Ok(Colormap::Gray),
            "diverging" | "rdbu" | "bwr" | "seismic" => Ok(Colormap::Diverging),
            _ => bail!(
                Setting,
                "unknown colormap '{s}'; hint: use \"viridis\", \"gray\" or \"diverging\""
            ),
        }
    }
}

/// Viridis sampled at 9 evenly spaced points (from matplotlib's table).
const VIRIDIS: [[f32; 3]; 9] = [
    [0.267, 0.005, 0.329],
    [0.279, 0.175, 0.483],
    [0.230, 0.322, 0.546],
    [0.173, 0.449, 0.558],
    [0.128, 0.567, 0.551],
    [0.154, 0.680, 0.504],
    [0.363, 0.787, 0.386],
    [0.679, 0.864, 0.190],
    [0.993, 0.906, 0.144],
];

const DIVERGING: [[f32; 3]; 5] = [
    [0.129, 0.400, 0.675],
    [0.573, 0.773, 0.871],
    [0.969, 0.969, 0.969],
    [0.957, 0.647, 0.510],
    [0.698, 0.094, 0.169],
];

fn interpolate(stops: &[[f32; 3]], t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f32;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f32;
    let mix = |c: usize| ((stops[i][c] * (1.0 - f) + stops[i + 1][c] * f) * 255.0).round() as u8;
    [mix(0), mix(1), mix(2)]
}

impl Colormap {
    /// The colour of `t` in 0..1 (the position within the value range).
    pub fn color(self, t: f32) -> [u8; 3] {
        match self {
            Colormap::Viridis => interpolate(&VIRIDIS, t),
            Colormap::Gray => {
                let v = (t.clamp(0.0, 1.0) * 255.0).round() as u8;
                [v, v, v]
            }
            Colormap::Diverging => interpolate(&DIVERGING, t),
        }
    }
}

/// The colour NaN pixels are drawn in: a magenta no colormap produces.
pub const NAN_COLOR: [u8; 3] = [255, 0, 255];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_middles() {
        assert_eq!(Colormap::Gray.color(0.0), [0, 0, 0]);
        assert_eq!(Colormap::Gray.color(1.0), [255, 255, 255]);
        assert_eq!(Colormap::Viridis.color(0.0), [68, 1, 84]);
        assert_eq!(Colormap::Viridis.color(1.0), [253, 231, 37]);
        assert_eq!(Colormap::Diverging.color(0.5), [247, 247, 247]);
        let blue = Colormap::Diverging.color(0.0);
        assert!(blue[2] > blue[0]);
    }
}
