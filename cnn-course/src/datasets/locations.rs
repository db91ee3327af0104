//! Where datasets are looked for, in order:
//!
//! 1. `$CNN_COURSE_DATA/<name>/` — your own copies, used as they are once their format is
//!    checked (`mnist/`, `fashion-mnist/`, `cifar-10-batches-bin/`);
//! 2. the cache, `$CNN_COURSE_CACHE` or `$XDG_CACHE_HOME/cnn-course` or
//!    `~/.cache/cnn-course` — downloads, used after their SHA-256 is checked;
//! 3. a download from the dataset's public mirrors (see [`super::download`]) — unless
//!    `CNN_COURSE_OFFLINE` is set, as the course's tests and CI do.

use std::path::PathBuf;

/// The folders a loader searches.
#[derive(Clone, Debug)]
pub struct Places {
    /// The learner's own data (`CNN_COURSE_DATA`), if set.
    pub user: Option<PathBuf>,
    /// Where verified downloads are kept.
    pub cache: PathBuf,
    /// Whether a missing dataset may be downloaded.
    pub download: bool,
}

impl Places {
    /// The places named by the environment.
    pub fn from_env() -> Self {
        let home_cache = || {
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cache"))
                .unwrap_or_else(std::env::temp_dir)
        };
        let cache = std::env::var_os("CNN_COURSE_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("cnn-course")))
            .unwrap_or_else(|| home_cache().join("cnn-course"));
        Places {
            user: std::env::var_os("CNN_COURSE_DATA").map(PathBuf::from),
            cache,
            download: std::env::var_os("CNN_COURSE_OFFLINE").is_none(),
        }
    }
}
