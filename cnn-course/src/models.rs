//! Reference architectures of the course, ready-made (the notebooks build them layer by
//! layer; benchmarks and examples use these).

use crate::{Conv2D, Dense, Flatten, MaxPool2D, Result, Sequential, WithInputShape};

/// Chollet's MNIST convnet (COURSE.md chapter 4), not compiled: 93,322 parameters.
///
/// Conv2D(32, 3, relu) → MaxPool2D(2) → Conv2D(64, 3, relu) → MaxPool2D(2) →
/// Conv2D(64, 3, relu) → Flatten → Dense(64, relu) → Dense(10, softmax), on 28×28×1.
pub fn chollet_convnet() -> Result<Sequential> {
    let mut model = Sequential::new();
    model.add(Conv2D::new(32, 3).activation("relu").input_shape((28, 28, 1)))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Conv2D::new(64, 3).activation("relu"))?;
    model.add(MaxPool2D::new(2))?;
    model.add(Conv2D::new(64, 3).activation("relu"))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    Ok(model)
}
