//! Executes every notebook through the real Jupyter kernel and judges it
//! (`run_notebook.py`): solutions must run top to bottom without an error, a panic or
//! stderr output, and print the reference numbers listed below; learner notebooks must
//! stop cleanly at their first unsolved exercise.
//!
//! `cargo xtask test` runs this after the set-up; one notebook alone:
//! `cargo test -p notebook-tests -- 03` (needs the set-up's `.venv/`). Executed copies are
//! written to `target/notebooks/` for inspection.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use notebook_tests::{demonstrations, Printed};

/// Text each solution notebook must print: the reference numbers of shared/COURSE.md.
const EXPECTED: &[(&str, &[&str])] = &[
    ("01", &["[0.73", "(360, 480, 3)"]),
    (
        "02",
        &["Total params: 7,993", "7,850", "correct: 6", "proportion: 0.75"],
    ),
    (
        "03",
        &[
            "[0, 1, 0, -1, 0, 1, 0, -1, 0]",
            "output size: 128",
            "output size: 28",
            "output size: 10",
            "(None, 100, 100, 16)",
            "Total params: 80",
        ],
    ),
    (
        "04",
        &[
            "Total params: 4,063",
            "Total params: 24,533",
            "Total params: 36,023",
            "Total params: 20,743",
            "Total params: 1,868",
            "Total params: 2,543",
            "Total params: 93,322",
        ],
    ),
    (
        "05",
        &["kernels [3, 3, 1, 5], biases [5]", "Restoring the weights of epoch"],
    ),
    ("06", &["Total params: 7,203", "Non-trainable params: 4,800"]),
];

fn main() -> ExitCode {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = std::env::var_os("CNN_COURSE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    let python = venv.join("bin/python");
    if !python.is_file() {
        eprintln!(
            "notebook tests need the Jupyter set-up ({} is missing); run `cargo xtask test`",
            python.display()
        );
        return ExitCode::FAILURE;
    }
    let mut notebooks: Vec<(PathBuf, &str)> = Vec::new();
    for (dir, mode) in [
        (root.join("notebooks/solutions"), "solution"),
        (root.join("notebooks"), "learner"),
    ] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        notebooks.extend(found.into_iter().map(|p| (p, mode)));
    }
    let relative = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    notebooks.retain(|(p, _)| filter.is_empty() || filter.iter().any(|f| relative(p).contains(f.as_str())));
    if notebooks.is_empty() {
        eprintln!("no notebook matches {filter:?}");
        return ExitCode::FAILURE;
    }
    // With real data given (`CNN_COURSE_DATA=../shared/data`), the notebooks must use it.
    let real_mnist = std::env::var_os("CNN_COURSE_DATA").is_some_and(|dir| Path::new(&dir).join("mnist").is_dir());
    let (mut passed, mut failed) = (0, 0);
    for (path, mode) in &notebooks {
        let name = relative(path);
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let expected: &[&str] = match mode {
            &"solution" => EXPECTED
                .iter()
                .find(|(prefix, _)| stem.starts_with(prefix))
                .map(|(_, e)| *e)
                .unwrap_or(&[]),
            _ => &[],
        };
        let executed = root.join("target/notebooks").join(format!("{mode}-{stem}.ipynb"));
        let started = Instant::now();
        let output = Command::new(&python)
            .arg(root.join("tests/run_notebook.py"))
            .arg(path)
            .arg(&executed)
            .arg(mode)
            .args(expected)
            .env("JUPYTER_PATH", venv.join("share/jupyter"))
            .output();
        let seconds = started.elapsed().as_secs_f64();
        let verdict = match &output {
            Ok(o) => String::from_utf8_lossy(&o.stdout)
                .lines()
                .rev()
                .find(|l| l.starts_with("RESULT "))
                .map(str::to_string),
            Err(_) => None,
        };
        let failures: Vec<String> = match verdict.as_deref() {
            // A solution that ran must also show what its prose claims.
            Some(v) if v.starts_with("RESULT ok") && *mode == "solution" => {
                let printed = std::fs::read_to_string(executed.with_extension("txt"))
                    .map(Printed)
                    .unwrap_or_else(|_| Printed(String::new()));
                let mut failures = demonstrations(&stem, &printed);
                if real_mnist && printed.0.contains("digits: ") && !printed.0.contains("digits: real MNIST from") {
                    failures.push("CNN_COURSE_DATA holds mnist/ but the notebook did not load it".into());
                }
                failures
            }
            Some(v) if v.starts_with("RESULT ok") => Vec::new(),
            other => vec![other
                .map(|v| v.splitn(4, ' ').nth(3).unwrap_or("").to_string())
                .unwrap_or_else(|| match &output {
                    Ok(o) => format!(
                        "runner error: {}",
                        String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
                    ),
                    Err(e) => format!("could not start the runner: {e}"),
                })],
        };
        if failures.is_empty() {
            passed += 1;
            println!("{name:<58} ok      {seconds:6.1} s");
        } else {
            failed += 1;
            println!("{name:<58} FAILED  {seconds:6.1} s  {}", failures.join("; "));
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
