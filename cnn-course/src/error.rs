//! The crate's one error type.
//!
//! Every message a learner can trigger names *where* (a layer, a file, a function),
//! *what was expected*, *what came*, and ends with a hint, e.g.
//! `conv2d_1: expected input with 1 channel, got 3 (input shape (None, 28, 28, 3)); hint: …`.

use std::fmt;
use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in the crate.
///
/// `Debug` prints the same text as `Display`: a notebook cell that ends in `?` prints the
/// error through `Debug`, and a learner should read the message, not a struct dump.
pub enum Error {
    /// A mistake in how the crate was called: a shape, a setting, an order of calls.
    Invalid(String),
    /// A file that exists but holds something other than what was expected.
    File { path: PathBuf, message: String },
    /// The operating system refused a read or a write.
    Io { path: PathBuf, source: std::io::Error },
    /// An error inside candle that the crate's own checks did not anticipate.
    Candle(candle_core::Error),
}

impl Error {
    /// A learner-facing error from a ready-made message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    /// An error about the contents of `path`.
    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::File {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Prefix the message with where it happened (a layer name, a function).
    pub fn context(self, place: &str) -> Self {
        match self {
            Error::Invalid(m) => Error::Invalid(format!("{place}: {m}")),
            Error::Candle(e) => Error::Invalid(format!("{place}: {e}")),
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) => f.write_str(m),
            Error::File { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Candle(e) => write!(f, "candle: {e}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Candle(e) => Some(e),
            _ => None,
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Candle(e)
    }
}

/// Return early with an [`Error::Invalid`] built like `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::Error::invalid(format!($($arg)*)))
    };
}
