"""Start evcxr_jupyter with a kept build directory, so a new kernel reuses what earlier
kernels compiled (the crate and its dependencies) and its first cell is quick.

Build directories are slots under target/evcxr/: a kernel takes the first slot whose lock
it can get and holds the lock for its whole life, so two notebooks open at once build in
two different directories (evcxr breaks when two kernels share one).

A slot starts as a copy of target/evcxr/template, the build `cargo xtask setup` makes once
(the crate and its dependencies, about 0.6 GB, a few seconds to copy). JupyterLab keeps a
notebook's kernel running after its tab is closed, so the next chapter's notebook usually
gets a second slot: built from nothing, its first cell took 403 s on a 2-core AMD EPYC,
from the copy 14 s.

Usage (from the kernel spec): python launch.py <evcxr_jupyter> <connection file>
With CNN_COURSE_KERNEL_SLOT=template (setup's warm-up) the kernel builds the template.
"""
import fcntl
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
# The folder of the slots; xtask's tests point it elsewhere.
slots = os.environ.get("CNN_COURSE_KERNEL_SLOTS") or os.path.join(root, "target", "evcxr")
evcxr, connection_file = sys.argv[1], sys.argv[2]

# The toolchain's own lld (rust-lld, reached through its ld.lld wrapper) links each cell
# much faster than the system linker; evcxr's `:linker lld` (see init.evcxr) needs it on PATH.
try:
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout.strip()
    gcc_ld = os.path.join(sysroot, "lib", "rustlib", "x86_64-unknown-linux-gnu", "bin", "gcc-ld")
    if os.path.isfile(os.path.join(gcc_ld, "ld.lld")):
        os.environ["PATH"] = gcc_ld + os.pathsep + os.environ.get("PATH", "")
except (OSError, subprocess.CalledProcessError):
    pass

# `cargo xtask` runs with cargo's variables for the xtask package (CARGO_MANIFEST_DIR,
# CARGO_PKG_NAME, …), and build scripts such as ring's rebuild when one of them changes: a
# kernel started by `cargo xtask lab` and one started by `jupyter lab` rebuilt each other's
# dependencies (60 s). Kernels never see them.
for name in list(os.environ):
    if name.startswith(("CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CFG_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_PRIMARY_")):
        del os.environ[name]

template = os.path.join(slots, "template")


def seed(directory):
    """Copy the template's build into a slot that has none yet: cargo's outputs and
    fingerprints, and the Cargo.lock they were built with (not rustc's incremental caches
    or the per-cell libraries, which the slot makes for itself). If the copy fails (a full
    disk), the slot is emptied and builds from nothing: a half-copied file that cargo
    takes for up to date would break every cell."""
    seeded = os.path.join(directory, ".seeded")
    if os.path.exists(seeded) or not os.path.exists(os.path.join(template, ".warm")):
        return
    try:
        skip = shutil.ignore_patterns("incremental", "libcode_*")
        target = os.path.join(directory, "target")
        shutil.copytree(os.path.join(template, "target"), target, ignore=skip, symlinks=True, dirs_exist_ok=True)
        shutil.copy2(os.path.join(template, "Cargo.lock"), directory)
        open(seeded, "w").close()
    except OSError as error:
        print(
            f"cnn-course kernel: could not copy the prepared build ({error}); "
            "the first cell builds the crate (a few minutes)",
            file=sys.stderr,
        )
        shutil.rmtree(os.path.join(directory, "target"), ignore_errors=True)


def start(directory, lock):
    # The lock travels into evcxr_jupyter and is released when the kernel exits.
    os.set_inheritable(lock, True)
    os.environ["EVCXR_TMPDIR"] = directory
    os.environ["EVCXR_CONFIG_DIR"] = os.path.join(slots, "config")
    os.execv(evcxr, [evcxr, "--control_file", connection_file])


def take(directory):
    """The directory's lock, or None when another kernel holds it."""
    os.makedirs(directory, exist_ok=True)
    lock = os.open(os.path.join(directory, ".lock"), os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return lock
    except OSError:
        os.close(lock)
        return None


if os.environ.get("CNN_COURSE_KERNEL_SLOT") == "template":
    lock = take(template)
    if lock is None:
        sys.exit("cnn-course kernel: another set-up is building the kernel's template; wait for it to finish")
    start(template, lock)

for slot in range(16):
    directory = os.path.join(slots, f"slot-{slot}")
    lock = take(directory)
    if lock is not None:
        seed(directory)
        start(directory, lock)

sys.exit("cnn-course kernel: all 16 build slots are in use; close a notebook and try again")
