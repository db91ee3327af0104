//! Installing what the course needs, idempotently:
//!
//! 1. `evcxr_jupyter` 0.22.0 (the Rust kernel), with `cargo install --locked` — NOTES.md:
//!    without `--locked` a newer dependency breaks its build;
//! 2. a project-local Python environment `.venv/` with JupyterLab and nbclient, pinned in
//!    `xtask/requirements.txt` (no root needed);
//! 3. the `rust` kernel spec inside `.venv/`, starting evcxr through
//!    `xtask/kernel/launch.py` (kept build directories, one per open notebook);
//! 4. evcxr's settings: a faster linker when one is installed;
//! 5. a first build of the crate inside the kernel, the template every kernel's build
//!    directory starts from, so a notebook's first cell is quick, also with several open.

use crate::{root, run};
use std::path::{Path, PathBuf};
use std::process::Command;

const EVCXR_VERSION: &str = "0.22.0";

/// What the set-up produced, for the commands that follow.
pub struct Env {
    pub venv: PathBuf,
}

impl Env {
    /// Point a command at the project's Jupyter: its kernel spec comes first.
    pub fn apply<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.venv.join("bin")];
        paths.extend(std::env::split_paths(&path));
        command
            .env("JUPYTER_PATH", self.venv.join("share/jupyter"))
            .env("PATH", std::env::join_paths(paths).unwrap_or(path))
            .env("CNN_COURSE_VENV", &self.venv)
    }
}

pub fn setup() -> Result<Env, String> {
    let evcxr = ensure_evcxr()?;
    let venv = ensure_venv()?;
    let env = Env { venv };
    ensure_kernel_spec(&env, &evcxr)?;
    ensure_evcxr_config()?;
    ensure_warm_kernel(&env)?;
    Ok(env)
}

/// The cargo home's `bin` folder, where `cargo install` puts programs.
fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

fn ensure_evcxr() -> Result<PathBuf, String> {
    let binary = cargo_bin().join("evcxr_jupyter");
    let listed = Command::new(env!("CARGO"))
        .args(["install", "--list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if binary.is_file() && listed.contains(&format!("evcxr_jupyter v{EVCXR_VERSION}:")) {
        println!("setup: evcxr_jupyter {EVCXR_VERSION} present");
        return Ok(binary);
    }
    println!("setup: installing evcxr_jupyter {EVCXR_VERSION} (about 11 minutes on 2 cores, once)");
    run(Command::new(env!("CARGO")).args(["install", "--locked", "evcxr_jupyter", "--version", EVCXR_VERSION]))?;
    Ok(binary)
}

fn ensure_venv() -> Result<PathBuf, String> {
    let venv = root().join(".venv");
    let python = venv.join("bin/python");
    if !python.is_file() {
        println!("setup: creating the Python environment .venv/");
        run(Command::new(python_command()).args(["-m", "venv"]).arg(&venv))?;
    }
    let requirements = root().join("xtask/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).map_err(|e| format!("{}: {e}", requirements.display()))?;
    let stamp = venv.join(".cnn-course-requirements");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        println!("setup: JupyterLab and nbclient present in .venv/");
        return Ok(venv);
    }
    println!("setup: installing JupyterLab and nbclient into .venv/");
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(venv)
}

fn python_command() -> &'static str {
    let works = |p: &str| {
        Command::new(p)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if works("python3") {
        "python3"
    } else {
        "python"
    }
}

fn ensure_kernel_spec(env: &Env, evcxr: &Path) -> Result<(), String> {
    let jupyter = env.venv.join("share/jupyter");
    let dir = jupyter.join("kernels/rust");
    if !dir.join("version.txt").is_file() {
        // evcxr's own files (logos, syntax support, and version.txt: without it, evcxr
        // "updates" the spec at start-up and replaces the launcher below).
        run(Command::new(evcxr)
            .arg("--install")
            .env("JUPYTER_PATH", &jupyter)
            .stdout(std::process::Stdio::null()))?;
    }
    let json = |p: &Path| format!("{:?}", p.display().to_string());
    let spec = format!(
        "{{\n  \"argv\": [{}, {}, {}, \"{{connection_file}}\"],\n  \"display_name\": \"Rust\",\n  \"interrupt_mode\": \"message\",\n  \"language\": \"rust\"\n}}\n",
        json(&env.venv.join("bin/python")),
        json(&root().join("xtask/kernel/launch.py").canonicalize().map_err(|e| e.to_string())?),
        json(evcxr)
    );
    let path = dir.join("kernel.json");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(spec.as_str()) {
        std::fs::write(&path, spec).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("setup: kernel spec 'rust' in .venv/share/jupyter/kernels/rust");
    Ok(())
}

/// evcxr's start-up commands: a faster linker when one is installed.
fn ensure_evcxr_config() -> Result<(), String> {
    let dir = root().join("target/evcxr/config");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let found = |name: &str| {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    // The toolchain's rust-lld, which launch.py puts on the kernel's PATH as ld.lld.
    let toolchain_lld = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|sysroot| {
            sysroot
                .join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld/ld.lld")
                .is_file()
        });
    let init = match (found("mold"), found("ld.lld") || toolchain_lld) {
        (true, _) => ":linker mold\n",
        (false, true) => ":linker lld\n",
        _ => "",
    };
    std::fs::write(dir.join("init.evcxr"), init).map_err(|e| e.to_string())?;
    if !init.is_empty() {
        println!("setup: evcxr links with {}", init.trim().trim_start_matches(":linker "));
    }
    Ok(())
}

/// Build the crate in the kernel's template (`xtask/kernel/launch.py`) unless it has been
/// built there already, then mark it finished: from then on kernels copy it.
fn ensure_warm_kernel(env: &Env) -> Result<(), String> {
    let template = root().join("target/evcxr/template");
    let stamp = template.join(".warm");
    if stamp.is_file() {
        println!("setup: kernel build template ready");
        return Ok(());
    }
    println!("setup: building the crate inside the kernel (a few minutes, once)");
    run(env
        .apply(&mut Command::new(env.venv.join("bin/python")))
        .arg(root().join("xtask/kernel/warmup.py"))
        .arg(root()))?;
    // Nothing builds in the template again: rustc's incremental caches (0.4 GB) are dead weight.
    remove_incremental_caches(&template.join("target"));
    std::fs::write(&stamp, "").map_err(|e| format!("{}: {e}", stamp.display()))
}

/// Delete every `incremental` folder under `dir` (best effort: a cache left behind costs
/// only disk).
fn remove_incremental_caches(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            match entry.file_name() == "incremental" {
                true => drop(std::fs::remove_dir_all(&path)),
                false => remove_incremental_caches(&path),
            }
        }
    }
}

/// JupyterLab is in the same pinned environment; nothing more to install.
pub fn ensure_lab(env: &Env) -> Result<(), String> {
    let jupyter = env.venv.join("bin/jupyter");
    match jupyter.is_file() {
        true => Ok(()),
        false => Err(format!("{} is missing; delete .venv/ and run again", jupyter.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::{Duration, Instant};

    /// A stand-in for evcxr_jupyter: records the build folder launch.py gave it and any
    /// cargo package variable that reached it, then holds that slot's lock (inherited) for
    /// `$HOLD` seconds.
    const FAKE_KERNEL: &str =
        "#!/bin/sh\necho \"$EVCXR_TMPDIR package=$CARGO_PKG_NAME\" >> \"$RECORD\"\nsleep \"$HOLD\"\n";

    /// A scratch folder with a fake kernel and a template whose build holds one file of
    /// each kind; `warm`: whether the set-up finished building it.
    fn scratch(name: &str, warm: bool) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cnn-course-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let template = dir.join("slots/template");
        let debug = template.join("target/x86_64-unknown-linux-gnu/debug");
        for (path, text) in [
            (debug.join("deps/libdependency.rlib"), "built"),
            (debug.join("incremental/cache"), "incremental"),
            (debug.join("libcode_3.so"), "a cell"),
            (template.join("Cargo.lock"), "versions"),
        ] {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        if warm {
            fs::write(template.join(".warm"), "").unwrap();
        }
        let fake = dir.join("fake_kernel");
        fs::write(&fake, FAKE_KERNEL).unwrap();
        fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        dir
    }

    fn launch(dir: &Path, hold_seconds: u32) -> std::process::Child {
        Command::new("python3")
            .arg(root().join("xtask/kernel/launch.py"))
            .arg(dir.join("fake_kernel"))
            .arg("connection.json")
            .env("CNN_COURSE_KERNEL_SLOTS", dir.join("slots"))
            .env_remove("CNN_COURSE_KERNEL_SLOT")
            .env("RECORD", dir.join("record"))
            .env("HOLD", hold_seconds.to_string())
            .env("CARGO_PKG_NAME", "xtask")
            .spawn()
            .unwrap()
    }

    /// The lines the kernels recorded, in the order they started.
    fn recorded(dir: &Path) -> Vec<String> {
        let text = fs::read_to_string(dir.join("record")).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }

    /// The line a kernel given `slot` records: no package variable (`cargo xtask`'s would
    /// make build scripts rerun).
    fn started_in(slot: &Path) -> String {
        format!("{} package=", slot.display())
    }

    #[test]
    fn a_second_open_notebook_gets_its_own_slot_copied_from_the_template() {
        let dir = scratch("slots", true);
        let mut first = launch(&dir, 5);
        let started = Instant::now();
        while recorded(&dir).is_empty() && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(launch(&dir, 0).wait().unwrap().success());
        assert!(first.wait().unwrap().success());
        let slots = dir.join("slots");
        let expected: Vec<String> = ["slot-0", "slot-1"]
            .iter()
            .map(|s| started_in(&slots.join(s)))
            .collect();
        assert_eq!(
            recorded(&dir),
            expected,
            "the first kernel holds slot-0, so the second takes slot-1"
        );
        for slot in ["slot-0", "slot-1"] {
            let slot = slots.join(slot);
            let debug = slot.join("target/x86_64-unknown-linux-gnu/debug");
            assert_eq!(
                fs::read_to_string(debug.join("deps/libdependency.rlib")).unwrap(),
                "built"
            );
            assert_eq!(fs::read_to_string(slot.join("Cargo.lock")).unwrap(), "versions");
            assert!(slot.join(".seeded").is_file());
            assert!(!debug.join("incremental").exists(), "rustc's caches are the slot's own");
            assert!(!debug.join("libcode_3.so").exists(), "cells are the slot's own");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_finished_template_keeps_its_build_but_not_rustcs_incremental_caches() {
        let dir = std::env::temp_dir().join(format!("cnn-course-incremental-{}", std::process::id()));
        let debug = dir.join("x86_64-unknown-linux-gnu/debug");
        for folder in ["deps", "incremental/cnn_course-1x", "build/ring-2/out"] {
            fs::create_dir_all(debug.join(folder)).unwrap();
        }
        fs::write(debug.join("deps/libcnn_course.rlib"), "built").unwrap();
        fs::write(debug.join("incremental/cnn_course-1x/query-cache.bin"), "cache").unwrap();
        remove_incremental_caches(&dir);
        assert!(!debug.join("incremental").exists());
        assert!(debug.join("deps/libcnn_course.rlib").is_file());
        assert!(debug.join("build/ring-2/out").is_dir());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_finished_template_a_slot_builds_from_nothing() {
        let dir = scratch("unwarmed", false);
        assert!(launch(&dir, 0).wait().unwrap().success());
        let slot = dir.join("slots/slot-0");
        assert_eq!(recorded(&dir), vec![started_in(&slot)]);
        assert!(!slot.join("target").exists() && !slot.join(".seeded").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
