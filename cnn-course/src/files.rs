//! Writing a file so that a failure never leaves a broken file where a good one stood.

use crate::{Error, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// Check that `path` can name a file to write: not a folder, in a folder that exists.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::file(
            "\"\"",
            "an empty path; hint: give a file name, e.g. \"best.safetensors\"",
        ));
    }
    if path.is_dir() {
        return Err(Error::file(
            path,
            "is a folder, not a file; hint: add a file name, e.g. best.safetensors inside it",
        ));
    }
    if path.file_name().is_none() {
        return Err(Error::file(
            path,
            "not a file name; hint: give a path that ends in a file name",
        ));
    }
    let folder = folder_of(path);
    if !folder.is_dir() {
        return Err(Error::file(
            path,
            format!(
                "the folder {} does not exist; hint: create it first with std::fs::create_dir_all(\"{}\")?",
                folder.display(),
                folder.display()
            ),
        ));
    }
    Ok(())
}

/// The folder a file is in (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Write `path` through `write`, which receives a temporary path beside it: the
/// temporary file is flushed to disk and renamed over `path` only when writing succeeded,
/// and removed otherwise. A crash mid-write leaves the previous file intact; the next
/// write removes what the crash left behind.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    check_writable(path)?;
    let file_name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    remove_abandoned_temporaries(&folder_of(path), &file_name);
    let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
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

/// Remove `.{file_name}.{pid}.tmp` files in `folder` whose process no longer runs: what an
/// interrupted write (a killed notebook kernel) left beside the file.
fn remove_abandoned_temporaries(folder: &Path, file_name: &str) {
    let Ok(entries) = fs::read_dir(folder) else { return };
    let prefix = format!(".{file_name}.");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp")) else {
            continue;
        };
        let running = pid
            .parse::<u32>()
            .is_ok_and(|pid| pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists());
        if !running {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_write_leaves_nothing_behind_after_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("w.bin");
        // What a killed process (pid 4000000 never exists) left behind.
        let abandoned = dir.path().join(".w.bin.4000000.tmp");
        fs::write(&abandoned, b"half").unwrap();
        write_atomically(&target, |t| fs::write(t, b"whole").map_err(|e| Error::io(t, e))).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"whole");
        assert!(!abandoned.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
