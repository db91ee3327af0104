//! Image figures: one image, or a grid of them with titles.

use super::colormap::Colormap;
use super::picture::{finite_range, symmetric_if_diverging, ImageSource, Picture};
use super::raster::{draw, text_width, Block, Label, Placed};
use super::{Figure, Kind};
use crate::model::ModelLayer;
use crate::{bail, Result};
use image::RgbImage;
use ndarray::{s, ArrayD, Axis};
use plotters::style::RGBColor;

const BLACK: RGBColor = RGBColor(20, 20, 20);
const RED: RGBColor = RGBColor(214, 39, 40);

/// Images to draw, with their titles and settings.
#[derive(Clone, Debug)]
pub(crate) struct ImagesSpec {
    pub images: Vec<ArrayD<f32>>,
    pub titles: Vec<String>,
    /// Images to frame in red (wrong predictions).
    pub marked: Vec<bool>,
    pub cols: Option<usize>,
    pub colormap: Colormap,
    pub colorbar: bool,
    /// One value range for all images (so their colours compare), or one each.
    pub shared_range: bool,
    pub what: &'static str,
}

impl ImagesSpec {
    fn new(images: Vec<ArrayD<f32>>, what: &'static str) -> Result<Self> {
        if images.is_empty() {
            bail!(
                Data,
                "{what}: there are no images to show; hint: check the slice or the number of images asked for"
            );
        }
        let spec = ImagesSpec {
            titles: Vec::new(),
            marked: vec![false; images.len()],
            images,
            cols: None,
            colormap: Colormap::Viridis,
            colorbar: false,
            shared_range: false,
            what,
        };
        // Check every image now, so a bad one is reported where it was given.
        spec.pictures()?;
        Ok(spec)
    }

    /// The finite range of every image's values together.
    fn overall_range(&self) -> (f32, f32) {
        let all: Vec<f32> = self.images.iter().flat_map(|a| a.iter().cloned()).collect();
        finite_range(&all)
    }

    fn pictures(&self) -> Result<Vec<Picture>> {
        let shared = self.shared_range.then(|| self.overall_range());
        self.images
            .iter()
            .map(|a| Picture::new(a, self.colormap, shared, self.what))
            .collect()
    }

    pub fn render(&self, title: Option<&str>) -> Result<RgbImage> {
        let pictures = self.pictures()?;
        let n = pictures.len();
        let cols = self
            .cols
            .unwrap_or(if n <= 8 { n } else { (n as f64).sqrt().ceil() as usize })
            .min(n)
            .max(1);
        let rows = n.div_ceil(cols);
        let max_rows = pictures.iter().map(|p| p.rows).max().unwrap_or(1) as u32;
        let max_cols = pictures.iter().map(|p| p.cols).max().unwrap_or(1) as u32;
        // Enlarge small images by a whole factor: a 28×28 image becomes 168×168 or so.
        let target = if n == 1 { 224 } else { 112 };
        let scale = (target / max_rows.max(max_cols)).max(1);
        let (cell_w, cell_h) = (max_cols * scale, max_rows * scale);
        let caption_h = if self.titles.is_empty() { 0 } else { 18 };
        let title_h = if title.is_some() { 26 } else { 0 };
        let gap = 10;
        let colorbar_w = if self.colorbar && pictures.iter().any(|p| p.range.is_some()) {
            70
        } else {
            0
        };
        let longest_caption = self.titles.iter().map(|t| text_width(t, 12)).max().unwrap_or(0);
        let col_w = cell_w.max(longest_caption);
        let grid_w = cols as u32 * (col_w + gap) + gap;
        let width = (grid_w + colorbar_w).max(title.map(|t| text_width(t, 16) + 2 * gap).unwrap_or(0));
        let height = title_h + rows as u32 * (cell_h + caption_h + gap) + gap;

        let (mut labels, mut blocks, mut placed) = (Vec::new(), Vec::new(), Vec::new());
        if let Some(title) = title {
            labels.push(Label {
                text: title.to_string(),
                x: gap as i32,
                y: 5,
                size: 16,
                color: BLACK,
            });
        }
        for (i, picture) in pictures.into_iter().enumerate() {
            let x = gap + (i % cols) as u32 * (col_w + gap);
            let y = title_h + gap + (i / cols) as u32 * (cell_h + caption_h + gap);
            let marked = self.marked.get(i).copied().unwrap_or(false);
            if let Some(caption) = self.titles.get(i) {
                labels.push(Label {
                    text: caption.clone(),
                    x: x as i32,
                    y: y as i32,
                    size: 12,
                    color: if marked { RED } else { BLACK },
                });
            }
            let top = y + caption_h;
            if marked {
                let (w, h) = (picture.cols as i32 * scale as i32, picture.rows as i32 * scale as i32);
                blocks.push(Block {
                    from: (x as i32 - 3, top as i32 - 3),
                    to: (x as i32 + w + 3, top as i32 + h + 3),
                    color: RED,
                });
            }
            placed.push(Placed {
                picture,
                x,
                y: top,
                scale,
            });
        }
        if colorbar_w > 0 {
            self.colorbar_parts(
                grid_w,
                title_h + gap + caption_h,
                cell_h.max(120),
                &mut labels,
                &mut placed,
            );
        }
        draw(
            width,
            height.max(title_h + gap + caption_h + cell_h.max(120) + gap),
            &labels,
            &blocks,
            &placed,
        )
    }

    /// A vertical gradient with the range's ends and middle written beside it.
    fn colorbar_parts(&self, x: u32, y: u32, height: u32, labels: &mut Vec<Label>, placed: &mut Vec<Placed>) {
        let (low, high) = symmetric_if_diverging(self.overall_range(), self.colormap);
        let (steps, bar_width) = (height as usize, 14);
        let pixels = (0..steps)
            .flat_map(|i| {
                let color = self.colormap.color(1.0 - i as f32 / (steps - 1).max(1) as f32);
                std::iter::repeat_n(color, bar_width)
            })
            .collect();
        placed.push(Placed {
            picture: Picture {
                rows: steps,
                cols: bar_width,
                pixels,
                range: None,
            },
            x,
            y,
            scale: 1,
        });
        for (fraction, value) in [(0.0, high), (0.5, (low + high) / 2.0), (1.0, low)] {
            labels.push(Label {
                text: format!("{value:.3}"),
                x: (x + 18) as i32,
                y: (y as f32 + fraction * (height as f32 - 12.0)) as i32,
                size: 11,
                color: BLACK,
            });
        }
    }
}

fn figure(spec: ImagesSpec) -> Figure {
    Figure {
        kind: Kind::Images(spec),
        title: None,
    }
}

/// Show one image: a colour image `(rows, cols, 3)` as it is, a 2-D array (or
/// `(rows, cols, 1)`) through a colormap — viridis unless `.cmap(…)` says otherwise.
///
/// ```
/// use cnn_course::prelude::*;
/// let photo = cnn_course::images::stop_sign().unwrap();
/// let figure = imshow(&photo).unwrap().title("A stop sign");
/// let kernel = array![[-1.0f32, 1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, 1.0, -1.0]];
/// let figure = imshow(&kernel).unwrap().cmap(Colormap::Diverging).colorbar(true);
/// ```
pub fn imshow(image: impl ImageSource) -> Result<Figure> {
    Ok(figure(ImagesSpec::new(vec![image.to_image_array()?], "imshow")?))
}

/// Show several images in a grid, with optional titles (one per image).
pub fn image_grid<I: ImageSource>(images: &[I], titles: &[&str]) -> Result<Figure> {
    let arrays = images.iter().map(|i| i.to_image_array()).collect::<Result<Vec<_>>>()?;
    let mut spec = ImagesSpec::new(arrays, "image_grid")?;
    if !titles.is_empty() && titles.len() != spec.images.len() {
        bail!(
            Shape,
            "image_grid: {} images but {} titles; hint: give one title per image, or none",
            spec.images.len(),
            titles.len()
        );
    }
    spec.titles = titles.iter().map(|t| t.to_string()).collect();
    Ok(figure(spec))
}

/// The images of a batch `(samples, rows, cols, channels)`, first `count` of them.
fn batch_images(x: &ArrayD<f32>, count: usize, what: &'static str) -> Result<Vec<ArrayD<f32>>> {
    if x.ndim() != 4 {
        bail!(
            Shape,
            "{what}: expected a batch of images (samples, rows, cols, channels), got shape {:?}",
            x.shape()
        );
    }
    let n = count.min(x.shape()[0]);
    Ok((0..n).map(|i| x.index_axis(Axis(0), i).to_owned()).collect())
}

/// The first `count` images of a dataset, titled with their class names.
pub fn samples<L: crate::labels::ClassNumber + Copy>(
    x: &impl ImageSource,
    labels: &[L],
    class_names: &[impl AsRef<str>],
    count: usize,
) -> Result<Figure> {
    let images = batch_images(&x.to_image_array()?, count, "samples")?;
    if labels.len() < images.len() {
        bail!(
            Shape,
            "samples: {} images but {} labels; hint: pass the labels of the same samples, e.g. &data.y_train.to_vec()",
            images.len(),
            labels.len()
        );
    }
    let titles = (0..images.len())
        .map(|i| class_name(labels.get(i).and_then(|l| l.class()), class_names))
        .collect();
    let mut spec = ImagesSpec::new(images, "samples")?;
    spec.titles = titles;
    spec.colormap = Colormap::Gray;
    Ok(figure(spec))
}

fn class_name(class: Option<usize>, names: &[impl AsRef<str>]) -> String {
    match class {
        Some(c) => names
            .get(c)
            .map(|n| n.as_ref().to_string())
            .unwrap_or_else(|| c.to_string()),
        None => "?".into(),
    }
}

/// Predictions on the first `count` images: each titled "predicted (true)", wrong ones
/// framed and titled in red.
pub fn predictions<P: crate::labels::ClassNumber + Copy, T: crate::labels::ClassNumber + Copy>(
    x: &impl ImageSource,
    predicted: &[P],
    truth: &[T],
    class_names: &[impl AsRef<str>],
    count: usize,
) -> Result<Figure> {
    let images = batch_images(&x.to_image_array()?, count, "predictions")?;
    if predicted.len() < images.len() || truth.len() < images.len() {
        bail!(Shape,
            "predictions: {} images but {} predictions and {} true labels; hint: pass predictions and labels for the same samples",
            images.len(),
            predicted.len(),
            truth.len()
        );
    }
    let mut spec = ImagesSpec::new(images, "predictions")?;
    for i in 0..spec.images.len() {
        let (p, t) = (predicted[i].class(), truth[i].class());
        spec.marked[i] = p != t;
        spec.titles.push(format!(
            "{} ({})",
            class_name(p, class_names),
            class_name(t, class_names)
        ));
    }
    spec.colormap = Colormap::Gray;
    Ok(figure(spec))
}

/// Every kernel of a Conv2D layer, for its first input channel, on one diverging scale
/// (blue negative, white 0, red positive) with a colorbar.
pub fn kernels(layer: &ModelLayer) -> Result<Figure> {
    let weights = layer.get_weights()?;
    let Some(kernel) = weights.first().filter(|k| k.ndim() == 4) else {
        bail!(Usage,
            "kernels: layer '{}' ({}) has no convolution kernels; hint: pass a Conv2D layer, e.g. model.get_layer(\"conv2d\")?",
            layer.name(),
            layer.type_name()
        );
    };
    let filters = kernel.shape()[3];
    let images: Vec<ArrayD<f32>> = (0..filters)
        .map(|f| kernel.slice(s![.., .., 0, f]).to_owned().into_dyn())
        .collect();
    let mut spec = ImagesSpec::new(images, "kernels")?;
    spec.titles = (0..filters).map(|f| format!("kernel {f}")).collect();
    spec.colormap = Colormap::Diverging;
    spec.shared_range = true;
    spec.colorbar = true;
    Ok(figure(spec).title(format!("{}: kernels (input channel 0)", layer.name())))
}

/// Every feature map of one sample in a layer's output `(samples, rows, cols, maps)`
/// (from `model.layer_outputs(…)`).
pub fn feature_maps(output: &ArrayD<f32>, sample: usize) -> Result<Figure> {
    if output.ndim() != 4 || sample >= output.shape()[0] {
        bail!(Shape,
            "feature_maps: expected a layer output of shape (samples, rows, cols, maps) with more than {sample} samples, got {:?}; hint: pass one of model.layer_outputs(&x)?, for a Conv2D or pooling layer",
            output.shape()
        );
    }
    let maps = output.shape()[3];
    let images = (0..maps)
        .map(|m| output.slice(s![sample, .., .., m]).to_owned().into_dyn())
        .collect();
    let mut spec = ImagesSpec::new(images, "feature_maps")?;
    spec.titles = (0..maps).map(|m| format!("map {m}")).collect();
    Ok(figure(spec))
}
