//! What a feature map responds to, in words: each map is compared with simple properties of
//! the image it came from — its brightness, its darkness, each colour, its vertical and
//! horizontal edges — and named after the one it follows most closely (the largest
//! correlation). A trained first layer's maps often copy a colour or the brightness; others
//! mark edges, or respond to a combination that no single property describes closely.

use crate::convolution::kernel_similarity;
use crate::{bail, Result};
use ndarray::{s, Array2, Array3, ArrayD, Axis};

/// The Pearson correlation of two equally shaped arrays: the cosine similarity of the two
/// minus their means (0 when either is constant).
fn correlation(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    let centred = |m: &Array2<f32>| m - m.mean().unwrap_or(0.0);
    kernel_similarity(&centred(a), &centred(b))
}

/// Correlations closer than this to the best one count as equally good.
const TIED: f32 = 1e-3;

/// `names` as a list in words, each after `article`: "the red", "the red and the blue".
fn listed(names: &[&str], article: &str) -> String {
    let words: Vec<String> = names.iter().map(|n| format!("{article}{n}")).collect();
    match words.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "nothing".to_string(),
    }
}

/// `values` averaged over `factor × factor` blocks (to a deeper layer's smaller maps).
fn shrink(values: &Array2<f32>, factor: usize, rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(r, c)| {
        let block = values.slice(s![r * factor..(r + 1) * factor, c * factor..(c + 1) * factor]);
        block.mean().unwrap_or(0.0)
    })
}

/// The properties a map is compared with, each as a map of the image's size.
fn properties(image: &Array3<f32>) -> Vec<(&'static str, Array2<f32>)> {
    let brightness = image.mean_axis(Axis(2)).unwrap_or_default();
    let (rows, cols) = brightness.dim();
    let vertical_edges = Array2::from_shape_fn((rows, cols), |(r, c)| {
        (brightness[[r, (c + 1).min(cols - 1)]] - brightness[[r, c.saturating_sub(1)]]).abs()
    });
    let horizontal_edges = Array2::from_shape_fn((rows, cols), |(r, c)| {
        (brightness[[(r + 1).min(rows - 1), c]] - brightness[[r.saturating_sub(1), c]]).abs()
    });
    let mut all = vec![("darkness", -&brightness), ("brightness", brightness)];
    if image.dim().2 == 3 {
        for (c, name) in ["red", "green", "blue"].into_iter().enumerate() {
            all.push((name, image.slice(s![.., .., c]).to_owned()));
        }
    }
    all.push(("vertical edges", vertical_edges));
    all.push(("horizontal edges", horizontal_edges));
    all
}

/// One line per feature map: what in `image` (rows, cols, channels) it follows most
/// closely, with the correlation, or that it stayed 0 on this image.
///
/// # Shapes
/// `maps`: one image's maps, `(map_rows, map_cols, maps)`, or a batch of one,
/// `(1, map_rows, map_cols, maps)`; `map_rows` divides `rows` (pooling halves).
pub fn describe_feature_maps(image: &Array3<f32>, maps: &ArrayD<f32>) -> Result<Vec<String>> {
    let maps = match maps.shape() {
        [1, _, _, _] => maps.index_axis(Axis(0), 0).to_owned(),
        [_, _, _] => maps.clone(),
        other => bail!(Shape, "describe_feature_maps: maps of shape {other:?}; hint: give one image's maps, (rows, cols, maps), e.g. model.layer_outputs(&one_image)?[0]"),
    };
    let (rows, cols) = (maps.shape()[0], maps.shape()[1]);
    let (height, width, _) = image.dim();
    if rows == 0 || cols == 0 || height % rows != 0 || height / rows != width / cols.max(1) {
        bail!(Shape, "describe_feature_maps: {rows}×{cols} maps do not come from a {height}×{width} image; hint: pass the image the maps were computed from");
    }
    let factor = height / rows;
    let properties: Vec<(&str, Array2<f32>)> = properties(image)
        .into_iter()
        .map(|(name, values)| (name, shrink(&values, factor, rows, cols)))
        .collect();
    let mut lines = Vec::new();
    for (i, map) in maps.axis_iter(Axis(2)).enumerate() {
        let map = map.to_owned().into_dimensionality().unwrap_or_default();
        if map.iter().all(|&v| v == 0.0) {
            lines.push(format!("map {i:>2}: stays 0 on this image"));
            continue;
        }
        let scores: Vec<(&str, f32)> = properties
            .iter()
            .map(|(name, values)| (*name, correlation(&map, values)))
            .collect();
        let r = scores.iter().map(|s| s.1).fold(f32::NEG_INFINITY, f32::max);
        // Every property as close as the best: on an image whose colours are one shape in
        // two tints (ink on paper), the brightness and a colour are the same map up to
        // scale, and rounding alone would pick one of them.
        let best: Vec<&str> = scores.iter().filter(|s| s.1 >= r - TIED).map(|s| s.0).collect();
        let alike = if best.len() > 1 { "; alike on this image" } else { "" };
        lines.push(match r >= 0.5 {
            true => format!("map {i:>2}: follows {} ({r:.2}{alike})", listed(&best, "the ")),
            false => format!("map {i:>2}: follows none closely (best: {}, {r:.2})", listed(&best, "")),
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_named_after_what_they_follow() {
        // A bright square with a reddish tint on black.
        let mut image = Array3::<f32>::zeros((8, 8, 3));
        image
            .slice_mut(s![2..6, 2..6, ..])
            .assign(&ndarray::array![0.9, 0.5, 0.5]);
        let props = properties(&image);
        let pick = |name: &str| props.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap();
        let mut maps = Array3::<f32>::zeros((8, 8, 4));
        maps.slice_mut(s![.., .., 0]).assign(&pick("brightness"));
        maps.slice_mut(s![.., .., 1]).assign(&pick("vertical edges"));
        maps.slice_mut(s![.., .., 2])
            .assign(&pick("darkness").mapv(|v| v + 1.0));
        let lines = describe_feature_maps(&image, &maps.into_dyn()).unwrap();
        // On a square of one colour on black, the brightness and every colour are alike.
        let alike = "the brightness, the red, the green and the blue (1.00; alike on this image)";
        assert_eq!(lines[0], format!("map  0: follows {alike}"));
        assert!(lines[1].contains("vertical edges"), "{lines:?}");
        assert!(lines[2].contains("darkness"), "{lines:?}");
        assert_eq!(lines[3], "map  3: stays 0 on this image");
        // Pooled maps are compared with the image averaged over 2×2 blocks.
        let pooled = shrink(&pick("brightness"), 2, 4, 4).insert_axis(Axis(2)).into_dyn();
        let lines = describe_feature_maps(&image, &pooled).unwrap();
        assert_eq!(lines[0], format!("map  0: follows {alike}"));
        assert!(describe_feature_maps(&image, &ArrayD::zeros(vec![3, 3, 1])).is_err());
    }

    #[test]
    fn properties_alike_on_the_image_are_named_together() {
        // A digit-like stroke in blue ink on dark red paper: every colour, the brightness
        // and the darkness are the stroke up to scale and sign.
        let (ink, paper) = ([0.1, 0.2, 0.9], [0.3, 0.05, 0.1]);
        let stroke = Array2::from_shape_fn((8, 8), |(r, c)| {
            if (2..6).contains(&r) && c == 3 {
                1.0
            } else {
                0.1 * (r % 2) as f32
            }
        });
        let image = Array3::from_shape_fn((8, 8, 3), |(r, c, ch)| {
            stroke[[r, c]] * ink[ch] + (1.0 - stroke[[r, c]]) * paper[ch]
        });
        let maps = stroke.mapv(|v| 2.0 * v).insert_axis(Axis(2)).into_dyn();
        let lines = describe_feature_maps(&image, &maps).unwrap();
        // Ink minus paper is positive in green and blue and in the mean, negative in red.
        assert_eq!(
            lines[0],
            "map  0: follows the brightness, the green and the blue (1.00; alike on this image)"
        );
        assert_eq!(listed(&["red"], ""), "red");
    }
}
