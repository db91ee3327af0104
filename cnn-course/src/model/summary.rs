//! `summary()`: the table learners know from Keras.
//!
//! ```text
//! Model: "sequential"
//! _________________________________________________________________
//!  Layer (type)                Output Shape              Param #
//! =================================================================
//!  conv2d (Conv2D)             (None, 26, 26, 32)        320
//!  …
//! =================================================================
//! Total params: 93,322
//! Trainable params: 93,322
//! Non-trainable params: 0
//! _________________________________________________________________
//! ```
//! A layer's parameters are all its weights; batch norm's moving statistics and the weights
//! of frozen layers count as non-trainable.

use super::Sequential;
use crate::arrays::keras_shape;
use std::fmt;

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// The layer's name, e.g. `conv2d_1`.
    pub name: String,
    /// The layer's type, e.g. `Conv2D`.
    pub type_name: String,
    /// The shape of one sample's output, e.g. `[26, 26, 32]`.
    pub output_shape: Vec<usize>,
    /// The layer's weights, counted one by one.
    pub params: usize,
}

/// A model's summary. Prints as text; displays as a table in a notebook.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The model's name.
    pub model_name: String,
    /// One row per layer, in order.
    pub rows: Vec<SummaryRow>,
    /// Every weight of the model.
    pub total_params: usize,
    /// The weights training changes.
    pub trainable_params: usize,
    /// The weights training leaves alone: frozen layers and batch normalization's moving statistics.
    pub non_trainable_params: usize,
}

impl Summary {
    pub(crate) fn of(model: &Sequential) -> Summary {
        let mut rows = Vec::new();
        let (mut trainable, mut frozen) = (0, 0);
        for layer in model.layers() {
            for w in layer.weights() {
                match w.trainable && layer.trainable() {
                    true => trainable += w.param.elem_count(),
                    false => frozen += w.param.elem_count(),
                }
            }
            rows.push(SummaryRow {
                name: layer.name().to_string(),
                type_name: layer.type_name().to_string(),
                output_shape: layer.output_shape().to_vec(),
                params: layer.count_params(),
            });
        }
        Summary {
            model_name: model.name().to_string(),
            rows,
            total_params: trainable + frozen,
            trainable_params: trainable,
            non_trainable_params: frozen,
        }
    }

    /// Show the summary as an HTML table in an evcxr notebook cell.
    pub fn evcxr_display(&self) {
        let mut html = format!(
            "<div><b>Model: \"{}\"</b><table><thead><tr><th style=\"text-align:left\">Layer (type)</th><th style=\"text-align:left\">Output Shape</th><th style=\"text-align:right\">Param #</th></tr></thead><tbody>",
            self.model_name
        );
        for row in &self.rows {
            html.push_str(&format!(
                "<tr><td style=\"text-align:left\">{} ({})</td><td style=\"text-align:left\">{}</td><td style=\"text-align:right\">{}</td></tr>",
                row.name,
                row.type_name,
                keras_shape(&row.output_shape),
                thousands(row.params)
            ));
        }
        html.push_str(&format!(
            "</tbody></table><p>Total params: {}<br>Trainable params: {}<br>Non-trainable params: {}</p></div>",
            thousands(self.total_params),
            thousands(self.trainable_params),
            thousands(self.non_trainable_params)
        ));
        println!("EVCXR_BEGIN_CONTENT text/plain\n{self}\nEVCXR_END_CONTENT");
        println!("EVCXR_BEGIN_CONTENT text/html\n{html}\nEVCXR_END_CONTENT");
    }
}

/// `93322` → `93,322`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<[String; 3]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    format!("{} ({})", r.name, r.type_name),
                    keras_shape(&r.output_shape),
                    thousands(r.params),
                ]
            })
            .collect();
        let width = |i: usize, header: &str, min: usize| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([header.len(), min])
                .max()
                .unwrap_or(min)
                + 2
        };
        let (w0, w1, w2) = (
            width(0, "Layer (type)", 26),
            width(1, "Output Shape", 24),
            width(2, "Param #", 9),
        );
        let line = |c: char| c.to_string().repeat(w0 + w1 + w2 + 1);
        writeln!(f, "Model: \"{}\"", self.model_name)?;
        writeln!(f, "{}", line('_'))?;
        writeln!(f, " {:<w0$}{:<w1$}{:>w2$}", "Layer (type)", "Output Shape", "Param #")?;
        writeln!(f, "{}", line('='))?;
        for c in &cells {
            writeln!(f, " {:<w0$}{:<w1$}{:>w2$}", c[0], c[1], c[2])?;
        }
        writeln!(f, "{}", line('='))?;
        writeln!(f, "Total params: {}", thousands(self.total_params))?;
        writeln!(f, "Trainable params: {}", thousands(self.trainable_params))?;
        writeln!(f, "Non-trainable params: {}", thousands(self.non_trainable_params))?;
        write!(f, "{}", line('_'))
    }
}
