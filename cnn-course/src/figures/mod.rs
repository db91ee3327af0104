//! Figures that show inline in a JupyterLab notebook (evcxr) and save to PNG or SVG.
//!
//! - [`imshow`]: one image — a colour photo, or a 2-D array through a colormap;
//! - [`image_grid`], [`samples`], [`predictions`], [`kernels`], [`feature_maps`]: many
//!   images with titles;
//! - [`plot_history`], [`compare_histories`]: learning curves;
//! - [`confusion_matrix`], [`probabilities`]: how a classifier answers.
//!
//! Every function returns a [`Figure`]. In a notebook, a cell ending in a figure shows it;
//! `figure.save("name.png")` or `.svg` writes it. Images are drawn as PNG, enlarged
//! without smoothing so a 28×28 digit stays crisp; charts as SVG. Text is drawn with the
//! DejaVu Sans font built into the crate, so nothing depends on the machine's fonts.

mod charts;
mod colormap;
mod images;
mod picture;
mod raster;

pub use charts::{compare_histories, confusion_matrix, plot_history, plot_steps, probabilities};
pub use colormap::Colormap;
pub use images::{feature_maps, image_grid, imshow, kernels, predictions, samples};
pub use picture::ImageSource;

use crate::{Error, Result};
use base64::Engine;
use std::path::Path;
use std::sync::Once;

/// Register the built-in font with plotters, once.
pub(crate) fn ensure_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        // The font is valid (it ships with the `dejavu` crate); ignore the impossible error.
        let _ = plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// What a figure shows.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Images(images::ImagesSpec),
    Chart(charts::ChartSpec),
}

/// A figure: shows itself in a notebook cell, saves to a file.
#[derive(Clone, Debug)]
pub struct Figure {
    pub(crate) kind: Kind,
    pub(crate) title: Option<String>,
}

impl Figure {
    /// A title above the figure.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The colormap for 2-D images (`Colormap::Viridis` by default, `Gray`, `Diverging`).
    pub fn cmap(mut self, colormap: Colormap) -> Self {
        if let Kind::Images(spec) = &mut self.kind {
            spec.colormap = colormap;
        }
        self
    }

    /// Show a colorbar beside 2-D images.
    pub fn colorbar(mut self, show: bool) -> Self {
        if let Kind::Images(spec) = &mut self.kind {
            spec.colorbar = show;
        }
        self
    }

    /// Number of columns of an image grid.
    pub fn cols(mut self, cols: usize) -> Self {
        if let Kind::Images(spec) = &mut self.kind {
            spec.cols = Some(cols.max(1));
        }
        self
    }

    /// The figure as PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        ensure_font();
        let image = match &self.kind {
            Kind::Images(spec) => spec.render(self.title.as_deref())?,
            Kind::Chart(spec) => spec.render_bitmap(self.title.as_deref())?,
        };
        let mut bytes = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
            .map_err(|e| Error::new(crate::error::Kind::Internal, format!("figure: cannot encode PNG: {e}")))?;
        Ok(bytes)
    }

    /// The figure as an SVG document (images are embedded as PNG).
    pub fn to_svg(&self) -> Result<String> {
        ensure_font();
        match &self.kind {
            Kind::Chart(spec) => spec.render_svg(self.title.as_deref()),
            Kind::Images(_) => {
                let png = self.to_png()?;
                let (w, h) = png_size(&png);
                let mut svg = format!(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">"
                );
                if let Some(title) = &self.title {
                    svg.push_str(&format!("<title>{}</title>", escape(title)));
                }
                svg.push_str(&format!(
                    "<image width=\"{w}\" height=\"{h}\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{}\"/></svg>",
                    base64::engine::general_purpose::STANDARD.encode(&png)
                ));
                Ok(svg)
            }
        }
    }

    /// The HTML a notebook shows: an `<img>` for image figures, inline SVG for charts.
    pub fn to_html(&self) -> Result<String> {
        match &self.kind {
            Kind::Images(_) => {
                let png = self.to_png()?;
                let (w, _) = png_size(&png);
                Ok(format!(
                    "<img width=\"{w}\" style=\"image-rendering:pixelated;max-width:none\" src=\"data:image/png;base64,{}\"/>",
                    base64::engine::general_purpose::STANDARD.encode(&png)
                ))
            }
            Kind::Chart(spec) => spec.render_svg(self.title.as_deref()),
        }
    }

    /// Save as PNG or SVG, chosen by the file's extension. Written atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("png") => self.to_png()?,
            Some("svg") => self.to_svg()?.into_bytes(),
            _ => {
                return Err(Error::file(
                    path,
                    "unknown figure format; hint: end the file name in .png or .svg",
                ))
            }
        };
        crate::files::write_atomically(path, |temporary| {
            std::fs::write(temporary, bytes).map_err(|e| Error::io(path, e))
        })
    }

    /// Show the figure in an evcxr notebook cell.
    pub fn evcxr_display(&self) {
        show_html(self.to_html());
    }
}

/// Several figures side by side, shown as one block (a notebook cell keeps only one
/// block per kind of output).
#[derive(Clone, Debug)]
pub struct FigureRow(pub Vec<Figure>);

impl FigureRow {
    /// The figures as one block of HTML, side by side.
    pub fn to_html(&self) -> Result<String> {
        let parts: Result<Vec<String>> = self
            .0
            .iter()
            .map(|f| {
                Ok(format!(
                    "<div style=\"display:inline-block;vertical-align:top;margin:4px\">{}</div>",
                    f.to_html()?
                ))
            })
            .collect();
        Ok(format!("<div>{}</div>", parts?.join("")))
    }

    /// Show the figures in an evcxr notebook cell.
    pub fn evcxr_display(&self) {
        show_html(self.to_html());
    }
}

/// Figures side by side in one notebook output.
pub fn row(figures: Vec<Figure>) -> FigureRow {
    FigureRow(figures)
}

fn show_html(html: Result<String>) {
    match html {
        Ok(html) => println!("EVCXR_BEGIN_CONTENT text/html\n{html}\nEVCXR_END_CONTENT"),
        // A display hook cannot return an error: say what went wrong, in red.
        Err(e) => eprintln!("figure: {e}"),
    }
}

/// Width and height from a PNG header.
fn png_size(png: &[u8]) -> (u32, u32) {
    let read = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    if png.len() >= 24 {
        (read(16), read(20))
    } else {
        (0, 0)
    }
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn drawing_error(e: impl std::fmt::Display) -> Error {
    Error::new(crate::error::Kind::Internal, format!("figure: drawing failed: {e}"))
}
