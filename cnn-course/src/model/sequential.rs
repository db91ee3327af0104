//! A stack of layers, each feeding the next.
//!
//! ```
//! use cnn_course::prelude::*;
//! let mut model = Sequential::new();
//! model.add(Conv2D::new(32, 3).activation("relu").input_shape((28, 28, 1))).unwrap();
//! model.add(MaxPool2D::new(2)).unwrap();
//! model.add(Flatten::new()).unwrap();
//! model.add(Dense::new(10).activation("softmax")).unwrap();
//! assert_eq!(model.layers()[2].output_shape(), &[13 * 13 * 32]); // inferred, not typed
//! ```

use super::model_layer::ModelLayer;
use super::summary::Summary;
use crate::arrays::keras_shape;
use crate::layers::{Layer, LayerSpec};
use crate::rng::Generator;
use crate::training::compile::Compiled;
use crate::{bail, default_device, Error, Result};
use candle_core::Device;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A model made of layers applied one after the other, as Keras' `Sequential`.
///
/// Cloning is cheap and the clone *shares* the weights (like a second handle to the same
/// Keras model): training one trains both, and only one of them can train at a time.
/// Build a new model for independent weights.
#[derive(Clone)]
pub struct Sequential {
    name: String,
    device: Device,
    layers: Vec<ModelLayer>,
    pub(crate) compiled: Option<Compiled>,
    /// The model's own random generator, seeded from the crate's when the first layer is
    /// added (so `set_seed` may come before or after `Sequential::new()`): initial
    /// weights, shuffling and dropout masks come from it (see [`crate::rng`]). The flag
    /// says whether a seed had been set when it was made.
    generator: Arc<Mutex<Option<ModelGenerator>>>,
    /// Set while `fit` runs on this model or a clone of it.
    pub(crate) training: Arc<AtomicBool>,
}

/// A model's random generator, and whether a seed had been set when it was made.
type ModelGenerator = (Arc<Mutex<Generator>>, bool);

/// While alive, marks a model as training; see [`Sequential::start_training`].
pub(crate) struct Training(Arc<AtomicBool>);

impl Drop for Training {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequential {
    /// An empty model named `sequential`, on [`default_device`].
    pub fn new() -> Self {
        Self::on_device(default_device())
    }

    /// An empty model on a given device.
    pub fn on_device(device: Device) -> Self {
        crate::device::configure_threads();
        Sequential {
            name: "sequential".into(),
            device,
            layers: Vec::new(),
            compiled: None,
            generator: Arc::new(Mutex::new(None)),
            training: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The model's random generator, seeded from the crate's on first use.
    pub(crate) fn generator(&self) -> Arc<Mutex<Generator>> {
        let mut slot = self.generator.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| (crate::rng::fork(), crate::rng::seed_was_set()))
            .0
            .clone()
    }

    /// If this model drew its generator without a seed and [`crate::set_seed`] has been
    /// called since (in a notebook: in this cell), reseed its generator from that seed, so
    /// that shuffling and dropout follow it, and answer true (its initial weights stay as
    /// they were drawn).
    pub(crate) fn follow_a_later_seed(&self) -> bool {
        let mut slot = self.generator.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_mut() {
            Some((generator, seeded)) if !*seeded && crate::rng::seed_was_set() => {
                *generator.lock().unwrap_or_else(|p| p.into_inner()) = crate::rng::fresh();
                *seeded = true;
                true
            }
            _ => false,
        }
    }

    /// Mark the model (and its clones) as training until the guard is dropped; an error
    /// when a fit is already running on it — the two would overwrite each other's updates.
    pub(crate) fn start_training(&self, what: &str) -> Result<Training> {
        if self.training.swap(true, Ordering::SeqCst) {
            bail!(Usage,
                "{what}: this model (or a clone of it, which shares its weights) is already training; hint: wait for the other fit to finish, or build a separate model to train independently"
            );
        }
        Ok(Training(self.training.clone()))
    }

    /// Add a layer on top. The first layer needs `.input_shape(…)`; every later one infers
    /// its input from the layer before. On error the model is left unchanged.
    pub fn add(&mut self, layer: impl Into<LayerSpec>) -> Result<()> {
        let LayerSpec {
            mut layer,
            input_shape,
            name,
        } = layer.into();
        let name = match name {
            Some(name) => {
                if self.layers.iter().any(|l| l.name == name) {
                    bail!(Usage, "{name}: the model already has a layer named '{name}'; hint: choose another name or leave it out");
                }
                name
            }
            None => self.automatic_name(layer.base_name()),
        };
        let input = match (self.layers.last(), input_shape) {
            (None, Some(shape)) => {
                if shape.is_empty() || shape.contains(&0) {
                    bail!(Shape,
                        "{name}: input shape {} has no room for data; hint: give every axis a size, e.g. .input_shape((28, 28, 1))",
                        keras_shape(&shape)
                    );
                }
                // Every later size is computed from this one: it must be countable, and
                // one sample must fit in memory.
                let values = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
                if let Some(available) = crate::device::too_many_for_host(values) {
                    bail!(Shape,
                        "{name}: one sample of input shape {} has more values than this machine can hold ({available}); hint: input_shape is the size of one sample, e.g. .input_shape((28, 28, 1)) for 28×28 greyscale images",
                        keras_shape(&shape)
                    );
                }
                shape
            }
            (None, None) => bail!(Usage,
                "{name}: the first layer needs an input shape; hint: {}::new(…).input_shape((28, 28, 1)) for 28×28 greyscale images, or .input_shape(784) for flat vectors",
                layer.type_name()
            ),
            (Some(previous), given) => {
                let inferred = previous.output_shape.clone();
                if let Some(given) = given {
                    if given != inferred {
                        bail!(Usage,
                            "{name}: input_shape {} does not match the output of '{}', {}; hint: only the first layer needs an input shape — remove it here",
                            keras_shape(&given),
                            previous.name,
                            keras_shape(&inferred)
                        );
                    }
                }
                inferred
            }
        };
        let output = crate::rng::using(&self.generator(), || layer.build(&name, &input, &self.device))?;
        self.layers.push(ModelLayer {
            name,
            layer,
            input_shape: input,
            output_shape: output,
            trainable: true,
        });
        Ok(())
    }

    /// Keras-style names: `conv2d`, then `conv2d_1`, `conv2d_2`, …
    fn automatic_name(&self, base: &str) -> String {
        (0..)
            .map(|i| match i {
                0 => base.to_string(),
                i => format!("{base}_{i}"),
            })
            .find(|candidate| self.layers.iter().all(|l| &l.name != candidate))
            .unwrap_or_else(|| base.to_string())
    }

    /// The model's name (`sequential`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The layers, first to last. Each is a handle that shares its weights with the model
    /// and can be kept in a variable across notebook cells.
    pub fn layers(&self) -> Vec<ModelLayer> {
        self.layers.clone()
    }

    /// The layer called `name` (a handle sharing its weights with the model).
    pub fn get_layer(&self, name: &str) -> Result<ModelLayer> {
        self.layers.iter().find(|l| l.name == name).cloned().ok_or_else(|| {
            Error::new(
                crate::error::Kind::Usage,
                format!(
                    "{}: no layer named '{name}'; hint: the layers are {}",
                    self.name,
                    self.layer_names()
                ),
            )
        })
    }

    fn layer_names(&self) -> String {
        let names: Vec<&str> = self.layers.iter().map(|l| l.name.as_str()).collect();
        match names.is_empty() {
            true => "none yet".into(),
            false => names.join(", "),
        }
    }

    /// Freeze (`false`) or unfreeze a layer: frozen weights are not changed by training,
    /// as when reusing trained convolutional layers for a new task (transfer learning).
    pub fn set_trainable(&mut self, layer_name: &str, trainable: bool) -> Result<()> {
        let names = self.layer_names();
        let model = self.name.clone();
        match self.layers.iter_mut().find(|l| l.name == layer_name) {
            Some(layer) => {
                layer.trainable = trainable;
                Ok(())
            }
            None => bail!(
                Usage,
                "{model}: no layer named '{layer_name}'; hint: the layers are {names}"
            ),
        }
    }

    /// A new model made of this model's first `count` layers, sharing their weights (and
    /// their frozen or trainable state), not compiled. For transfer learning: reuse
    /// trained convolutional layers, freeze them, and add a new head.
    pub fn first_layers(&self, count: usize) -> Result<Sequential> {
        if count == 0 || count > self.layers.len() {
            bail!(Usage,
                "{}: first_layers({count}) needs a number from 1 to {}, the number of layers; hint: count the layers to keep in model.summary()",
                self.name,
                self.layers.len()
            );
        }
        Ok(Sequential {
            name: self.name.clone(),
            device: self.device.clone(),
            layers: self.layers[..count].to_vec(),
            compiled: None,
            generator: Arc::new(Mutex::new(None)),
            training: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Shape of one input sample, Keras order (empty before the first layer is added).
    pub fn input_shape(&self) -> Vec<usize> {
        self.layers.first().map(|l| l.input_shape.clone()).unwrap_or_default()
    }

    /// Shape of one output sample, Keras order (empty for a model without layers).
    pub fn output_shape(&self) -> Vec<usize> {
        self.layers.last().map(|l| l.output_shape.clone()).unwrap_or_default()
    }

    /// Total number of weights.
    pub fn count_params(&self) -> usize {
        self.layers.iter().map(|l| l.count_params()).sum()
    }

    /// The Keras summary table: layers, output shapes, parameter counts.
    pub fn summary(&self) -> Summary {
        Summary::of(self)
    }

    /// The layers without copying, for the crate's own loops.
    pub(crate) fn layer_slice(&self) -> &[ModelLayer] {
        &self.layers
    }
}
