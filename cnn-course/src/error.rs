//! The crate's one error type.
//!
//! Every message a learner can trigger names *where* (a layer, a file, a function),
//! *what was expected*, *what came*, and ends with a hint, e.g.
//! `conv2d_1: expected input with 1 channel, got 3 (input shape (None, 28, 28, 3)); hint: …`.
//! The variant says what kind of mistake it is, so code (an exercise checker, a test) can
//! tell a shape problem from a bad setting without reading the text.

use std::fmt;
use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Where a problem is, what it is, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The layer, function or callback, e.g. `conv2d_1` or `fit` (empty when unknown).
    pub place: String,
    /// What was expected and what came.
    pub what: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Problem {
    /// Read `"place: what; hint: hint"` (the place and the hint may be left out).
    pub fn parse(message: &str) -> Self {
        let (rest, hint) = match message.rfind("; hint: ") {
            Some(at) => (&message[..at], Some(message[at + 8..].to_string())),
            None => (message, None),
        };
        let (place, what) = match rest.find(": ") {
            Some(at) => (&rest[..at], &rest[at + 2..]),
            None => ("", rest),
        };
        Problem {
            place: place.to_string(),
            what: what.to_string(),
            hint,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.place.is_empty() {
            write!(f, "{}: ", self.place)?;
        }
        f.write_str(&self.what)?;
        match &self.hint {
            Some(hint) => write!(f, "; hint: {hint}"),
            None => Ok(()),
        }
    }
}

/// Everything that can go wrong in the crate.
///
/// `Debug` prints the same text as `Display`: a notebook cell that ends in `?` prints the
/// error through `Debug`, and a learner should read the message, not a struct dump.
#[derive(thiserror::Error)]
pub enum Error {
    /// Shapes that do not fit together: data and the model's input, labels and its output,
    /// a layer and the one before it.
    #[error("{0}")]
    Shape(Problem),
    /// A setting outside what it may be, or a name that is not one of the choices.
    #[error("{0}")]
    Setting(Problem),
    /// Values that cannot be used: NaN inputs, labels out of range, too little data.
    #[error("{0}")]
    Data(Problem),
    /// Calls that cannot work in this order or state: not compiled, already training.
    #[error("{0}")]
    Usage(Problem),
    /// A failure the crate's own checks should have prevented (please report it).
    #[error("{0}")]
    Internal(Problem),
    /// A file that exists but holds something other than what was expected.
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, and what to do.
        message: String,
    },
    /// The operating system refused a read or a write.
    #[error("{}: {source}{}", path.display(), io_hint(source))]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An error inside candle that the crate's own checks did not anticipate.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// An ndarray reshape that does not fit (`to_shape`, `into_shape_with_order`), so that
    /// `?` works on it in functions returning this crate's `Result`.
    #[error("reshape: {0}; hint: the new shape must hold exactly as many values as the array")]
    Reshape(#[from] ndarray::ShapeError),
}

/// What to do about an operating-system error, for the kinds a learner can fix.
fn io_hint(error: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match error.kind() {
        NotFound => "; hint: check the path — a relative path starts in the notebook's folder",
        PermissionDenied | ReadOnlyFilesystem => {
            "; hint: this place is not open to you — use a folder of your own, e.g. one next to the notebook"
        }
        AlreadyExists | NotADirectory | IsADirectory => {
            "; hint: something else is in the way at this path — choose another name, or move it away"
        }
        StorageFull | QuotaExceeded => "; hint: the disk is full — free some space and run the cell again",
        _ => "",
    }
}

/// The kinds of [`Error`] that carry a [`Problem`], for [`bail!`](crate::bail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// [`Error::Shape`].
    Shape,
    /// [`Error::Setting`].
    Setting,
    /// [`Error::Data`].
    Data,
    /// [`Error::Usage`].
    Usage,
    /// [`Error::Internal`].
    Internal,
}

impl Error {
    /// An error of `kind` from a message `"place: what; hint: …"`.
    pub fn new(kind: Kind, message: impl AsRef<str>) -> Self {
        let problem = Problem::parse(message.as_ref());
        match kind {
            Kind::Shape => Error::Shape(problem),
            Kind::Setting => Error::Setting(problem),
            Kind::Data => Error::Data(problem),
            Kind::Usage => Error::Usage(problem),
            Kind::Internal => Error::Internal(problem),
        }
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

    /// The problem, for errors that carry one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Shape(p) | Error::Setting(p) | Error::Data(p) | Error::Usage(p) | Error::Internal(p) => Some(p),
            _ => None,
        }
    }

    /// Prefix the place with where it happened (a layer name, a function).
    pub fn context(self, place: &str) -> Self {
        let within = |mut p: Problem| {
            p.place = match p.place.is_empty() {
                true => place.to_string(),
                false => format!("{place}: {}", p.place),
            };
            p
        };
        match self {
            Error::Shape(p) => Error::Shape(within(p)),
            Error::Setting(p) => Error::Setting(within(p)),
            Error::Data(p) => Error::Data(within(p)),
            Error::Usage(p) => Error::Usage(within(p)),
            Error::Internal(p) => Error::Internal(within(p)),
            Error::Candle(e) => Error::Usage(within(Problem::parse(&format!("candle: {e}")))),
            other => other,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Return early with an error of a [`Kind`], its message built like `format!`:
/// `bail!(Shape, "{name}: expected …, got …; hint: …")`.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::Error::new($crate::error::Kind::$kind, format!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_splits_into_place_what_and_hint_and_prints_unchanged() {
        let text =
            "conv2d_1: expected input with 1 channel, got 3 (input shape (None, 28, 28, 3)); hint: convert the images";
        let error = Error::new(Kind::Shape, text);
        assert_eq!(error.to_string(), text);
        let problem = error.problem().unwrap();
        assert_eq!(problem.place, "conv2d_1");
        assert_eq!(
            problem.what,
            "expected input with 1 channel, got 3 (input shape (None, 28, 28, 3))"
        );
        assert_eq!(problem.hint.as_deref(), Some("convert the images"));
        let unplaced = Error::new(Kind::Setting, "unknown padding 'full'; hint: use \"valid\" or \"same\"");
        assert_eq!(
            unplaced.context("conv2d").to_string(),
            "conv2d: unknown padding 'full'; hint: use \"valid\" or \"same\""
        );
    }

    #[test]
    fn operating_system_errors_say_what_to_do_when_the_learner_can_fix_them() {
        let dir = tempfile::tempdir().unwrap();
        let in_the_way = dir.path().join("backup");
        std::fs::write(&in_the_way, b"x").unwrap();
        let source = std::fs::create_dir(&in_the_way).unwrap_err();
        let text = Error::io(&in_the_way, source).to_string();
        assert!(text.starts_with(&format!("{}: ", in_the_way.display())), "{text}");
        assert!(
            text.ends_with("; hint: something else is in the way at this path — choose another name, or move it away"),
            "{text}"
        );
        let missing = dir.path().join("missing.png");
        let text = Error::io(&missing, std::fs::read(&missing).unwrap_err()).to_string();
        assert!(
            text.ends_with("; hint: check the path — a relative path starts in the notebook's folder"),
            "{text}"
        );
        // Kinds a learner cannot act on keep the system's words alone.
        let other = Error::io(&missing, std::io::Error::other("device busy")).to_string();
        assert_eq!(other, format!("{}: device busy", missing.display()));
    }
}
