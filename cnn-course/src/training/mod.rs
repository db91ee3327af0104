//! Training a model: `compile`, `fit`, `evaluate`, `predict`.
//!
//! - [`compile`]: choose the optimizer, loss and metrics;
//! - [`fit`]: the training loop, with its options ([`Fit`]) and per-epoch log;
//! - [`history`]: what `fit` returns, epoch by epoch;
//! - [`predict`]: `evaluate`, `predict`, `predict_classes`.

pub mod compile;
pub(crate) mod engine;
pub mod fit;
pub mod history;
mod phases;
pub mod predict;

pub use compile::{Metric, Metrics};
pub use fit::Fit;
pub use history::History;
pub use predict::Evaluation;
