//! `cargo xtask <command>`: the course's set-up and test commands.
//!
//! - `cargo xtask lab [--offline]`: set up what is missing, fetch the real datasets once
//!   (skipped with `--offline`; without a connection the course uses its shipped data),
//!   then open the course in JupyterLab;
//! - `cargo xtask test`: set up what is missing, then run every test — the workspace's
//!   `cargo test`, the crate's documentation (no broken links) and every notebook
//!   executed through the Jupyter kernel;
//! - `cargo xtask bench-latency`: kernel start, first output and re-run times;
//! - `cargo xtask notebooks`: rebuild the notebooks from `notebooks/src/`;
//! - `cargo xtask setup`: only the set-up (evcxr_jupyter, JupyterLab, the kernel spec,
//!   and a first build of the crate inside the kernel).
//!
//! Every step checks first and does nothing when its work is already done.

mod notebooks;
mod setup;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default().to_vec();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::setup().map(|_| ()),
        Some("lab") => lab(&rest),
        Some("test") => test(&rest),
        Some("bench-latency") => setup::setup().and_then(|env| {
            run(env
                .apply(&mut Command::new(env.venv.join("bin/python")))
                .arg(root().join("xtask/kernel/latency.py"))
                .arg(root().join("notebooks")))
        }),
        Some("notebooks") => notebooks::write_all(&root().join("notebooks")).and_then(|()| {
            for (name, count) in notebooks::count_exercises(&root().join("notebooks"))? {
                println!("{name}: {count} exercises");
            }
            Ok(())
        }),
        _ => {
            eprintln!(
                "usage: cargo xtask lab [--offline] | test [notebook filter] | setup | notebooks | bench-latency"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The repository's root folder.
pub fn root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// Run a command, failing with its description when it fails.
pub fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("could not start {command:?}: {e}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("{command:?} failed ({status})")),
    }
}

fn lab(options: &[String]) -> Result<(), String> {
    let env = setup::setup()?;
    setup::ensure_lab(&env)?;
    let offline = options.iter().any(|o| o == "--offline") || std::env::var_os("CNN_COURSE_OFFLINE").is_some();
    let mut command = Command::new(env.venv.join("bin/jupyter"));
    if offline {
        command.env("CNN_COURSE_OFFLINE", "1");
    } else {
        println!("lab: fetching the real datasets once (skip with --offline)");
        let fetched = run(env
            .apply(&mut Command::new(env.venv.join("bin/python")))
            .arg(root().join("xtask/kernel/warmup.py"))
            .arg(root())
            .arg("--prefetch"));
        if let Err(e) = fetched {
            println!("lab: the datasets could not be fetched ({e}); the notebooks use the course's shipped data");
        }
    }
    println!("Opening the course in JupyterLab; stop with Ctrl-C.");
    command.args(["lab", "--notebook-dir"]).arg(root().join("notebooks"));
    if std::env::var_os("CI").is_some() {
        command.arg("--no-browser");
    }
    run(env.apply(&mut command))
}

/// Space a test run takes from a fresh clone: the build folder (about 2.3 GB: the test
/// binaries, the notebooks' kernel builds) and the Python environment (0.25 GB).
const TEST_RUN_BYTES: u64 = 3_000_000_000;

/// Say so before a long build when the disk cannot hold it: out of space, the linker
/// dies with a bus error that names no cause.
fn warn_if_little_space() {
    let Ok(out) = Command::new("df").arg("-Pk").arg(root()).output() else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let free_kb = text
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().nth(3)?.parse::<u64>().ok());
    if let Some(free) = free_kb.map(|kb| kb.saturating_mul(1024)) {
        if free < TEST_RUN_BYTES {
            println!(
                "xtask: warning: {:.1} GB free under {}, and a test run from a fresh clone writes about {:.1} GB; a build that runs out of space fails with a linker 'Bus error' — free some space (cargo clean in other projects) first",
                free as f64 / 1e9,
                root().display(),
                TEST_RUN_BYTES as f64 / 1e9
            );
        }
    }
}

fn test(filter: &[String]) -> Result<(), String> {
    warn_if_little_space();
    let env = setup::setup()?;
    // The crate, the data generator and xtask.
    // Tests stay offline: no loader tries a download.
    // Each doctest is linked in the temporary folder, which may be a small in-memory
    // file system: they are linked beside the build instead.
    let scratch = root().join("target/tmp/tests");
    std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    run(Command::new(env!("CARGO"))
        .current_dir(root())
        .env("CNN_COURSE_OFFLINE", "1")
        .env("TMPDIR", &scratch)
        .args(["test", "--workspace", "--exclude", "notebook-tests"]))?;
    // The crate's documentation, which learners read beside the notebooks: every link
    // must lead somewhere.
    run(Command::new(env!("CARGO"))
        .current_dir(root())
        .env("RUSTDOCFLAGS", "-D warnings")
        .args(["doc", "-p", "cnn-course", "--no-deps"]))?;
    // How the notebooks' printed text is judged.
    run(Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["test", "-p", "notebook-tests", "--lib"]))?;
    // Every notebook through the real kernel (see tests/notebooks.rs).
    run(env.apply(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .env("CNN_COURSE_OFFLINE", "1")
            .args(["test", "-p", "notebook-tests", "--test", "notebooks", "--"])
            .args(filter),
    ))
}
