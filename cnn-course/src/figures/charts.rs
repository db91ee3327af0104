//! Charts: learning curves, a confusion matrix, class probabilities. Drawn by plotters
//! into SVG (for the notebook and `.svg` files) or a bitmap (for `.png` files) from the
//! same code.

use super::{drawing_error, Figure, Kind};
use crate::training::History;
use crate::{bail, Result};
use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::*;

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One line of a learning-curve panel.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub label: String,
    pub values: Vec<f64>,
    pub color: usize,
    pub dashed: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Panel {
    pub title: String,
    pub series: Vec<Series>,
    /// What the horizontal axis counts: epochs, or steps.
    pub x_axis: &'static str,
}

#[derive(Clone, Debug)]
pub(crate) enum ChartSpec {
    Curves(Vec<Panel>),
    Confusion {
        counts: Vec<Vec<usize>>,
        names: Vec<String>,
    },
    Bars {
        values: Vec<f32>,
        names: Vec<String>,
    },
}

impl ChartSpec {
    fn size(&self) -> (u32, u32) {
        match self {
            ChartSpec::Curves(panels) => (430 * panels.len() as u32, 340),
            ChartSpec::Confusion { names, .. } => {
                let side = (names.len() as u32 * 48).clamp(260, 640) + 130;
                (side, side)
            }
            ChartSpec::Bars { names, .. } => ((names.len() as u32 * 56).max(320) + 80, 320),
        }
    }

    pub fn render_svg(&self, title: Option<&str>) -> Result<String> {
        super::ensure_font();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size()).into_drawing_area();
            self.draw(&root, title)?;
            root.present().map_err(drawing_error)?;
        }
        Ok(svg)
    }

    pub fn render_bitmap(&self, title: Option<&str>) -> Result<RgbImage> {
        super::ensure_font();
        let (w, h) = self.size();
        let mut buffer = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
            self.draw(&root, title)?;
            root.present().map_err(drawing_error)?;
        }
        RgbImage::from_raw(w, h, buffer)
            .ok_or_else(|| crate::Error::new(crate::error::Kind::Internal, "figure: buffer size mismatch"))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: Option<&str>) -> Result<()> {
        root.fill(&WHITE).map_err(drawing_error)?;
        let root = match title {
            Some(t) => root.titled(t, ("sans-serif", 18)).map_err(drawing_error)?,
            None => root.clone(),
        };
        match self {
            ChartSpec::Curves(panels) => {
                let areas = root.split_evenly((1, panels.len()));
                for (panel, area) in panels.iter().zip(areas.iter()) {
                    draw_curves(panel, area)?;
                }
                Ok(())
            }
            ChartSpec::Confusion { counts, names } => draw_confusion(counts, names, &root),
            ChartSpec::Bars { values, names } => draw_bars(values, names, &root),
        }
    }
}

fn draw_curves<DB: DrawingBackend>(panel: &Panel, area: &DrawingArea<DB, Shift>) -> Result<()> {
    let finite = || {
        panel
            .series
            .iter()
            .flat_map(|s| s.values.iter().cloned())
            .filter(|v| v.is_finite())
    };
    let epochs = panel.series.iter().map(|s| s.values.len()).max().unwrap_or(1).max(1);
    let (mut low, mut high) = finite().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if low > high {
        (low, high) = (0.0, 1.0);
    }
    let pad = ((high - low) * 0.08).max(0.02);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .build_cartesian_2d(0.5f64..epochs as f64 + 0.5, (low - pad)..(high + pad))
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .x_desc(panel.x_axis)
        .x_labels(epochs.min(10) + 1)
        .x_label_formatter(&|x| {
            if x.fract().abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.3}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(drawing_error)?;
    for s in &panel.series {
        let color = PALETTE[s.color % PALETTE.len()];
        let points: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (i as f64 + 1.0, v))
            .collect();
        let style = color.stroke_width(2);
        let line = if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(points.clone(), 6, 4, style))
                .map_err(drawing_error)?
        } else {
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .map_err(drawing_error)?
        };
        line.label(&s.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        // Markers, so that a single epoch still shows.
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(drawing_error)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        // Losses fall and accuracies rise: keep the legend out of the curves' way.
        .position(if panel.title.contains("accuracy") {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        })
        .draw()
        .map_err(drawing_error)?;
    Ok(())
}

/// Axis ticks fall at every half unit; cells span whole units. Write a class's name at the
/// centre of its cell and nothing at the edges.
fn centre_label(names: &[String], v: f64) -> String {
    match (v.fract() - 0.5).abs() < 1e-6 {
        true => names.get(v.floor() as usize).cloned().unwrap_or_default(),
        false => String::new(),
    }
}

fn draw_confusion<DB: DrawingBackend>(
    counts: &[Vec<usize>],
    names: &[String],
    area: &DrawingArea<DB, Shift>,
) -> Result<()> {
    let n = names.len();
    let max = counts.iter().flatten().cloned().max().unwrap_or(0).max(1);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..n as f64, n as f64..0f64)
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("predicted")
        .y_desc("true")
        .x_labels(2 * n + 1)
        .y_labels(2 * n + 1)
        .x_label_formatter(&|v| centre_label(names, *v))
        .y_label_formatter(&|v| centre_label(names, *v))
        .draw()
        .map_err(drawing_error)?;
    for (t, row) in counts.iter().enumerate() {
        for (p, &count) in row.iter().enumerate() {
            let shade = count as f64 / max as f64;
            let fill = RGBColor(
                (247.0 - 239.0 * shade) as u8,
                (251.0 - 203.0 * shade) as u8,
                (255.0 - 148.0 * shade) as u8,
            );
            let cell = [(p as f64, t as f64), (p as f64 + 1.0, t as f64 + 1.0)];
            chart
                .draw_series([Rectangle::new(cell, fill.filled())])
                .map_err(drawing_error)?;
            let text_color = if shade > 0.5 { WHITE } else { BLACK };
            let style = ("sans-serif", 14)
                .into_font()
                .color(&text_color)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ));
            chart
                .draw_series([Text::new(count.to_string(), (p as f64 + 0.5, t as f64 + 0.5), style)])
                .map_err(drawing_error)?;
        }
    }
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(values: &[f32], names: &[String], area: &DrawingArea<DB, Shift>) -> Result<()> {
    let n = names.len();
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..n as f64, 0f64..1.05f64)
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc("probability")
        .x_labels(2 * n + 1)
        .x_label_formatter(&|v| centre_label(names, *v))
        .draw()
        .map_err(drawing_error)?;
    let best = values
        .iter()
        .enumerate()
        .fold(0, |b, (i, &v)| if v > values[b] { i } else { b });
    for (i, &v) in values.iter().enumerate() {
        let color = if i == best { PALETTE[3] } else { PALETTE[0] };
        let v = if v.is_finite() { v as f64 } else { 0.0 };
        chart
            .draw_series([Rectangle::new(
                [(i as f64 + 0.15, 0.0), (i as f64 + 0.85, v)],
                color.filled(),
            )])
            .map_err(drawing_error)?;
        chart
            .draw_series([Text::new(
                format!("{v:.2}"),
                (i as f64 + 0.3, (v + 0.05).min(1.04)),
                ("sans-serif", 12),
            )])
            .map_err(drawing_error)?;
    }
    Ok(())
}

fn chart(spec: ChartSpec) -> Figure {
    Figure {
        kind: Kind::Chart(spec),
        title: None,
    }
}

/// The largest value a chart draws: a loss beyond it means training diverged, and the
/// drawing library cannot lay out an axis that long.
const LARGEST: f64 = 1e15;

/// An error unless every value of a series can be drawn (NaN and infinite values are
/// left out of the curve; finite values too large for an axis are refused).
fn check_values(what: &str, series: &str, values: impl IntoIterator<Item = f64>) -> Result<()> {
    for (i, v) in values.into_iter().enumerate() {
        if v.is_finite() && v.abs() > LARGEST {
            bail!(
                Data,
                "{what}: {series} holds {v:e} at position {}, which cannot be drawn; hint: training diverged there — lower the learning rate, or plot only the values before it",
                i + 1
            );
        }
    }
    Ok(())
}

fn check_history(history: &History, what: &str) -> Result<()> {
    if history.loss.is_empty() {
        bail!(
            Data,
            "{what}: the history has no epochs; hint: plot what model.fit(...) returned after at least one epoch"
        );
    }
    for (name, values) in [
        ("loss", &history.loss),
        ("accuracy", &history.accuracy),
        ("val_loss", &history.val_loss),
        ("val_accuracy", &history.val_accuracy),
    ] {
        check_values(what, &format!("history.{name}"), values.iter().copied())?;
    }
    Ok(())
}

/// Learning curves of one training run: loss and validation loss per epoch, and accuracy
/// and validation accuracy beside them. Training falling while validation rises is
/// overfitting.
///
/// ```
/// // A chart is the first figure of this process: it brings the built-in font itself.
/// let history = cnn_course::History { epoch: vec![1, 2], loss: vec![0.9, 0.5], accuracy: vec![0.6, 0.8], ..Default::default() };
/// let html = cnn_course::figures::plot_history(&history).unwrap().to_html().unwrap();
/// assert!(html.contains("<svg") && html.contains("loss"));
/// ```
pub fn plot_history(history: &History) -> Result<Figure> {
    check_history(history, "plot_history")?;
    let panel = |title: &str, train: &[f64], val: &[f64], name: &str| Panel {
        x_axis: "epoch",
        title: title.into(),
        series: [
            Some(Series {
                label: name.into(),
                values: train.to_vec(),
                color: 0,
                dashed: false,
            }),
            (!val.is_empty()).then(|| Series {
                label: format!("val_{name}"),
                values: val.to_vec(),
                color: 1,
                dashed: false,
            }),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    let mut panels = vec![panel("loss", &history.loss, &history.val_loss, "loss")];
    if !history.accuracy.is_empty() {
        panels.push(panel("accuracy", &history.accuracy, &history.val_accuracy, "accuracy"));
    }
    Ok(chart(ChartSpec::Curves(panels)))
}

/// The loss after each step of a training loop you wrote yourself (chapter 2's gradient
/// descent): one point per step.
pub fn plot_steps(losses: &[f64]) -> Result<Figure> {
    if losses.is_empty() {
        bail!(
            Data,
            "plot_steps: no losses given; hint: push each step's loss into a Vec"
        );
    }
    check_values("plot_steps", "the losses", losses.iter().copied())?;
    Ok(chart(ChartSpec::Curves(vec![Panel {
        x_axis: "step",
        title: "loss after each step".into(),
        series: vec![Series {
            label: "loss".into(),
            values: losses.to_vec(),
            color: 0,
            dashed: false,
        }],
    }])))
}

/// Several training runs side by side (e.g. no regularization / dropout / batch norm /
/// both): validation loss and accuracy per epoch, training loss dashed.
pub fn compare_histories(runs: &[(&str, &History)]) -> Result<Figure> {
    if runs.is_empty() {
        bail!(
            Data,
            "compare_histories: no histories given; hint: pass &[(\"dropout\", &history_dropout), …]"
        );
    }
    let (mut loss, mut accuracy) = (Vec::new(), Vec::new());
    for (i, (name, history)) in runs.iter().enumerate() {
        check_history(history, "compare_histories")?;
        let has_val = !history.val_loss.is_empty();
        loss.push(Series {
            label: if has_val {
                format!("{name} (val)")
            } else {
                name.to_string()
            },
            values: if has_val {
                history.val_loss.clone()
            } else {
                history.loss.clone()
            },
            color: i,
            dashed: false,
        });
        if has_val {
            loss.push(Series {
                label: format!("{name} (train)"),
                values: history.loss.clone(),
                color: i,
                dashed: true,
            });
        }
        accuracy.push(Series {
            label: name.to_string(),
            values: if has_val {
                history.val_accuracy.clone()
            } else {
                history.accuracy.clone()
            },
            color: i,
            dashed: false,
        });
    }
    Ok(chart(ChartSpec::Curves(vec![
        Panel {
            x_axis: "epoch",
            title: "loss (validation solid, training dashed)".into(),
            series: loss,
        },
        Panel {
            x_axis: "epoch",
            title: "validation accuracy".into(),
            series: accuracy,
        },
    ])))
}

/// Counts of (true class, predicted class) pairs: the diagonal holds the right answers.
pub fn confusion_matrix<T, P>(truth: &[T], predicted: &[P], class_names: &[impl AsRef<str>]) -> Result<Figure>
where
    T: crate::labels::ClassNumber,
    P: crate::labels::ClassNumber,
{
    let n = class_names.len();
    if truth.len() != predicted.len() || truth.is_empty() || n == 0 {
        bail!(Shape,
            "confusion_matrix: {} true labels, {} predictions and {n} class names; hint: pass the same non-empty number of labels and predictions, and the class names",
            truth.len(),
            predicted.len()
        );
    }
    let mut counts = vec![vec![0; n]; n];
    for (i, (t, p)) in truth.iter().zip(predicted).enumerate() {
        match (t.class(), p.class()) {
            (Some(t), Some(p)) if t < n && p < n => counts[t][p] += 1,
            (t, _) => {
                let (which, class) = if t.is_some_and(|t| t < n) {
                    ("prediction", p.class())
                } else {
                    ("true label", t)
                };
                let class = class.map_or("negative".to_string(), |c| c.to_string());
                bail!(Data,
                    "confusion_matrix: {which} {i} is {class}, and with {n} class names the classes are 0 to {}; hint: give one name per class, and class numbers (predict_classes), not one-hot rows",
                    n - 1
                )
            }
        }
    }
    Ok(chart(ChartSpec::Confusion {
        counts,
        names: class_names.iter().map(|s| s.as_ref().to_string()).collect(),
    }))
}

/// One prediction's class probabilities as bars, the most likely class in red.
pub fn probabilities(values: &[f32], class_names: &[impl AsRef<str>]) -> Result<Figure> {
    if let Some(v) = values.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        bail!(
            Data,
            "probabilities: a probability is between 0 and 1, found {v}; hint: pass one row of model.predict(...) from a model that ends in softmax"
        );
    }
    if values.len() != class_names.len() || values.is_empty() {
        bail!(
            Shape,
            "probabilities: {} values for {} class names; hint: pass one row of model.predict(...) and the class names",
            values.len(),
            class_names.len()
        );
    }
    Ok(chart(ChartSpec::Bars {
        values: values.to_vec(),
        names: class_names.iter().map(|s| s.as_ref().to_string()).collect(),
    }))
}
