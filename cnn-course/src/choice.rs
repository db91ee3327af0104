//! Settings chosen by name, as in Keras, or as typed values.
//!
//! `.padding("same")` and `.padding(Padding::Same)` both work: every setting that Keras
//! takes as a string accepts the string or the enum. A name is checked when the layer is
//! added to the model (or `compile` runs), so a typo's error names the layer it is in.

use crate::{Error, Result};
use std::str::FromStr;

/// A setting given as a value (`Padding::Same`) or by its Keras name (`"same"`).
#[derive(Clone, Debug, PartialEq)]
pub enum Choice<T> {
    /// The typed value, e.g. `Padding::Same`.
    Value(T),
    /// The Keras name, e.g. `"same"`, checked when the setting is used.
    Name(String),
}

impl<T: FromStr<Err = Error> + Clone> Choice<T> {
    /// The value, or the error for an unknown name prefixed by `place` (a layer's name).
    pub(crate) fn resolve(&self, place: &str) -> Result<T> {
        match self {
            Choice::Value(value) => Ok(value.clone()),
            Choice::Name(name) => name.parse().map_err(|e: Error| e.context(place)),
        }
    }
}

/// `From` the typed value, a `&str` and a `String` for each setting type.
macro_rules! choice_of {
    ($($t:ty),*) => {$(
        impl From<$t> for $crate::choice::Choice<$t> {
            fn from(value: $t) -> Self {
                $crate::choice::Choice::Value(value)
            }
        }
        impl From<&str> for $crate::choice::Choice<$t> {
            fn from(name: &str) -> Self {
                $crate::choice::Choice::Name(name.to_string())
            }
        }
        impl From<String> for $crate::choice::Choice<$t> {
            fn from(name: String) -> Self {
                $crate::choice::Choice::Name(name)
            }
        }
    )*};
}
pub(crate) use choice_of;
