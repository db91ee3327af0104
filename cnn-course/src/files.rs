//! Writing a file so that a failure never leaves a broken file where a good one stood.

use crate::{Error, Result};
use std::fs;
use std::path::Path;

/// Write `path` through `write`, which receives a temporary path beside it: the
/// temporary file is flushed to disk and renamed over `path` only when writing succeeded,
/// and removed otherwise. A crash mid-write leaves the previous file intact.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::file(path, "not a file name; hint: give a path that ends in a file name"))?;
    let temporary = path.with_file_name(format!(".{}.{}.tmp", file_name.to_string_lossy(), std::process::id()));
    let written = write(&temporary)
        .and_then(|()| {
            fs::File::open(&temporary)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(&temporary, e))
        })
        .and_then(|()| fs::rename(&temporary, path).map_err(|e| Error::io(path, e)));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}
