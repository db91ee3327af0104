//! The `Sequential` model: a stack of layers, built, trained and inspected the Keras way.
//!
//! - [`sequential`]: adding layers (with shape inference) and running them;
//! - [`summary`]: the layer table with output shapes and parameter counts;
//! - [`model_layer`]: one layer of a built model, with its weights as ndarray arrays;
//! - [`weights_file`]: saving and loading all weights (safetensors);
//! - [`input_checks`]: the errors for data that does not fit the model.

pub mod input_checks;
pub mod model_layer;
pub mod sequential;
pub mod summary;
pub mod weights_file;

pub use model_layer::ModelLayer;
pub use sequential::Sequential;
pub use summary::Summary;
