//! Saving and loading a model's weights as a safetensors file.
//!
//! Each weight is stored under `layer/weight` (e.g. `conv2d/kernel`) in Keras order, so the
//! file reads the same way `get_weights()` does. Saving writes a temporary file beside the
//! target, flushes it to disk and renames it over the target: a crash mid-save leaves the
//! previous file intact. Loading checks every name and shape before changing anything.

use super::Sequential;
use crate::arrays::full_shape;
use crate::layers::Weight;
use crate::{Error, Result};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// Write named tensors (and text `metadata`) as a safetensors file, atomically, with the
/// usual file permissions.
pub(crate) fn write_safetensors(
    path: &Path,
    tensors: Vec<(String, Tensor)>,
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), metadata)
        .map_err(|e| Error::file(path, format!("could not encode the weights: {e}")))?;
    crate::files::write_atomically(path, |temporary| {
        std::fs::write(temporary, bytes).map_err(|e| Error::io(path, e))
    })
}

/// File endings of other frameworks' weight files, with their format.
const OTHER_FORMATS: [(&str, &str); 6] = [
    ("h5", "HDF5, Keras' format"),
    ("hdf5", "HDF5, Keras' format"),
    ("keras", "a Keras model archive"),
    ("pt", "PyTorch's format"),
    ("pth", "PyTorch's format"),
    ("ckpt", "a TensorFlow checkpoint"),
];

/// An error for a path to save weights to whose ending names another framework's format
/// (a learner coming from Keras writes `best.h5`): the file would hold safetensors under a
/// name that tells every other tool it is something else.
pub(crate) fn check_weights_path(path: &Path) -> Result<()> {
    let ending = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    match OTHER_FORMATS
        .iter()
        .find(|(other, _)| ending.eq_ignore_ascii_case(other))
    {
        Some((_, format)) => Err(Error::file(
            path,
            format!(
                "a .{ending} file is {format}, but cnn-course saves weights as safetensors; hint: name it {}",
                path.with_extension("safetensors").display()
            ),
        )),
        None => Ok(()),
    }
}

impl Sequential {
    /// Every weight, keyed `layer/weight`, in the model's order.
    pub(crate) fn named_weights(&self) -> Vec<(String, Weight)> {
        self.layer_slice()
            .iter()
            .flat_map(|l| {
                l.weights()
                    .into_iter()
                    .map(move |w| (format!("{}/{}", l.name(), w.name), w))
            })
            .collect()
    }

    /// Save all weights to `path` (a `.safetensors` file), atomically. A path ending in
    /// another framework's format (`.h5`, `.keras`, `.pt`, …) is refused.
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        check_weights_path(path.as_ref())?;
        let mut tensors = Vec::new();
        for (name, w) in self.named_weights() {
            tensors.push((name, w.param.get().to_device(&Device::Cpu)?));
        }
        write_safetensors(path.as_ref(), tensors, None)
    }

    /// Load weights saved by [`Sequential::save_weights`] from a model with the same layers.
    /// Nothing changes unless every weight in the file matches this model by name and shape.
    pub fn load_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let stored = self.read_matching_weights(path.as_ref())?;
        for (name, w) in &self.named_weights() {
            let device = w.param.get().device().clone();
            w.param
                .set(stored[name].to_dtype(candle_core::DType::F32)?.to_device(&device)?);
        }
        Ok(())
    }

    /// Check that `path` holds weights that fit this model, without loading them.
    pub fn check_weights_file(&self, path: impl AsRef<Path>) -> Result<()> {
        self.read_matching_weights(path.as_ref()).map(|_| ())
    }

    /// Read a weights file and check every name and shape against this model.
    fn read_matching_weights(&self, path: &Path) -> Result<HashMap<String, Tensor>> {
        if path.is_dir() {
            return Err(Error::file(
                path,
                "is a folder, not a weights file; hint: give the file's path, e.g. best.safetensors inside it",
            ));
        }
        if !path.exists() {
            return Err(Error::file(
                path,
                "no such file; hint: check the path, or train with a ModelCheckpoint first",
            ));
        }
        let stored: HashMap<String, Tensor> = candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| {
            Error::file(path, format!("not a readable safetensors weights file ({e}); hint: the file may be truncated or of another format; save it again with model.save_weights"))
        })?;
        let expected = self.named_weights();
        let mut problems = Vec::new();
        for (name, w) in &expected {
            let want = w.param.dims();
            match stored.get(name) {
                None => problems.push(format!("  missing in the file: {name} {}", full_shape(&want))),
                Some(t) if t.dims() != want.as_slice() => problems.push(format!(
                    "  different shape: {name} is {} in the file, {} in this model",
                    full_shape(t.dims()),
                    full_shape(&want)
                )),
                Some(_) => {}
            }
        }
        let mut unexpected: Vec<&String> = stored
            .keys()
            .filter(|k| expected.iter().all(|(n, _)| n != *k))
            .collect();
        unexpected.sort();
        for name in unexpected {
            problems.push(format!(
                "  not in this model: {name} {}",
                full_shape(stored[name].dims())
            ));
        }
        if !problems.is_empty() {
            return Err(Error::file(
                path,
                format!(
                    "these weights do not fit this model:\n{}\nhint: build the model with the same layers (and layer names) as the one that saved the file, then load_weights",
                    problems.join("\n")
                ),
            ));
        }
        // As set_weights: a NaN weight would make every prediction NaN.
        for (name, _) in &expected {
            if stored.get(name).map(all_finite).transpose()? == Some(false) {
                return Err(Error::file(
                    path,
                    format!("{name} holds NaN or infinite values, which would make every prediction NaN; hint: load weights saved from a model whose training did not diverge"),
                ));
            }
        }
        Ok(stored)
    }

    /// Every weight's current values (for restoring the best epoch). Tensors are never
    /// changed in place — an update replaces them — so keeping them is a copy.
    pub(crate) fn snapshot(&self) -> Vec<(Weight, Tensor)> {
        self.named_weights()
            .into_iter()
            .map(|(_, w)| (w.clone(), w.param.get()))
            .collect()
    }

    /// Put back values taken by [`Sequential::snapshot`].
    pub(crate) fn restore(&self, snapshot: &[(Weight, Tensor)]) {
        for (w, values) in snapshot {
            w.param.set(values.clone());
        }
    }
}

/// Whether every value of `t` is a finite number.
fn all_finite(t: &Tensor) -> Result<bool> {
    let values = t.flatten_all()?.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?;
    Ok(values.iter().all(|v| v.is_finite()))
}
