//! Downloading a file safely: verified by SHA-256 before it is used or kept, written to a
//! temporary file and renamed into place, with progress lines and retries.
//!
//! - A connection that cannot be opened at all (no network, no DNS) fails at once, with a
//!   message that says where to put the files by hand.
//! - A cut connection or a server error is retried (3 tries per mirror), then the next
//!   mirror is tried; a 404 moves on to the next mirror straight away.
//! - Nothing unverified is ever used or written into place. A file already there whose
//!   checksum differs (a copy put there by hand, say) is left as it is until a verified
//!   download replaces it, and a failed download says what it is.

use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A file to download: its name, where it can be found, and its checksum.
#[derive(Clone, Debug)]
pub struct RemoteFile {
    /// The file's name in the cache.
    pub name: String,
    /// Complete URLs, tried in order.
    pub mirrors: Vec<String>,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

impl RemoteFile {
    /// A file found at `base + name` for each base URL.
    pub fn new(name: &str, bases: &[&str], sha256: &str) -> Self {
        RemoteFile {
            name: name.into(),
            mirrors: bases.iter().map(|b| format!("{b}{name}")).collect(),
            sha256: sha256.into(),
        }
    }
}

/// The SHA-256 of a file, as lower-case hex.
pub fn sha256_of(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why one attempt failed, and whether trying again could help.
enum Failure {
    /// No connection could be made (offline): stop at once.
    Unreachable(String),
    /// The server does not have the file: try the next mirror.
    Missing(String),
    /// A cut connection, a server error or a corrupt transfer: retry.
    Transient(String),
}

/// Make sure `dir/<file.name>` exists and matches its checksum, downloading it if needed.
/// Returns the file's path.
pub fn fetch(file: &RemoteFile, dir: &Path) -> Result<PathBuf> {
    let target = dir.join(&file.name);
    // What is wrong with a file already there, for the error if no download replaces it.
    let mut already_there = String::new();
    if target.is_file() {
        let found = sha256_of(&target)?;
        if found == file.sha256 {
            return Ok(target);
        }
        println!(
            "{}: its SHA-256 is not the expected one; downloading the file again",
            target.display()
        );
        already_there = format!(
            "; {} is not the expected file (SHA-256 {found}, expected {}) and was left as it was",
            target.display(),
            file.sha256
        );
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout_read(Duration::from_secs(30))
        .build();
    let mut problems = Vec::new();
    for url in &file.mirrors {
        for attempt in 1..=3 {
            match download_once(&agent, url, file, &target) {
                Ok(()) => return Ok(target),
                Err(Failure::Unreachable(why)) => {
                    return Err(Error::file(
                        &target,
                        format!(
                            "could not download {url} ({why}){already_there}; hint: you seem to be offline — copy the file to {} (or to $CNN_COURSE_DATA) and run again",
                            target.display()
                        ),
                    ));
                }
                Err(Failure::Missing(why)) => {
                    problems.push(format!("{url}: {why}"));
                    break;
                }
                Err(Failure::Transient(why)) => {
                    println!("{url}: {why} (try {attempt} of 3)");
                    problems.push(format!("{url}: {why}"));
                    if attempt < 3 {
                        std::thread::sleep(Duration::from_millis(300 * attempt as u64));
                    }
                }
            }
        }
    }
    Err(Error::file(
        &target,
        format!(
            "could not download {} from any mirror{already_there}:\n  {}\nhint: nothing was saved; download the file by hand into {}",
            file.name,
            problems.join("\n  "),
            dir.display()
        ),
    ))
}

fn download_once(agent: &ureq::Agent, url: &str, file: &RemoteFile, target: &Path) -> std::result::Result<(), Failure> {
    let response = match agent.get(url).call() {
        Ok(response) => response,
        Err(ureq::Error::Status(404, _)) => return Err(Failure::Missing("not found (HTTP 404)".into())),
        Err(ureq::Error::Status(code, _)) => return Err(Failure::Transient(format!("server error (HTTP {code})"))),
        Err(ureq::Error::Transport(t)) => {
            return Err(match t.kind() {
                ureq::ErrorKind::Dns | ureq::ErrorKind::ConnectionFailed => Failure::Unreachable(t.to_string()),
                _ => Failure::Transient(t.to_string()),
            })
        }
    };
    let expected_len: Option<u64> = response.header("Content-Length").and_then(|v| v.parse().ok());
    let temporary = target.with_file_name(format!(".{}.{}.part", file.name, std::process::id()));
    let result = (|| {
        let mut out = fs::File::create(&temporary)
            .map_err(|e| Failure::Transient(format!("cannot write {}: {e}", temporary.display())))?;
        let mut reader = response.into_reader();
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 16];
        let (mut received, mut next_report) = (0u64, 0.1);
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    return Err(Failure::Transient(format!(
                        "connection cut after {received} bytes ({e})"
                    )))
                }
            };
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n])
                .map_err(|e| Failure::Transient(format!("cannot write {}: {e}", temporary.display())))?;
            received += n as u64;
            if let Some(total) = expected_len {
                let done = received as f64 / total.max(1) as f64;
                if done >= next_report {
                    println!(
                        "Downloading {}: {:.0}% ({:.1} of {:.1} MB)",
                        file.name,
                        done * 100.0,
                        received as f64 / 1e6,
                        total as f64 / 1e6
                    );
                    next_report = (done * 10.0).floor() / 10.0 + 0.1;
                }
            }
        }
        if let Some(total) = expected_len {
            if received != total {
                return Err(Failure::Transient(format!(
                    "connection cut after {received} of {total} bytes"
                )));
            }
        }
        let digest = hex(&hasher.finalize());
        if digest != file.sha256 {
            return Err(Failure::Transient(format!(
                "checksum mismatch: expected SHA-256 {}, got {digest}; the file was not kept",
                file.sha256
            )));
        }
        out.sync_all().map_err(|e| Failure::Transient(e.to_string()))?;
        fs::rename(&temporary, target)
            .map_err(|e| Failure::Transient(format!("cannot move into {}: {e}", target.display())))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}
