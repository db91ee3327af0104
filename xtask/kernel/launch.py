"""Start evcxr_jupyter with a kept build directory, so a new kernel reuses what earlier
kernels compiled (the crate and its dependencies) and its first cell is quick.

Build directories are slots under target/evcxr/: a kernel takes the first slot whose lock
it can get and holds the lock for its whole life, so two notebooks open at once build in
two different directories (evcxr breaks when two kernels share one).

Usage (from the kernel spec): python launch.py <evcxr_jupyter> <connection file>
"""
import fcntl
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
slots = os.path.join(root, "target", "evcxr")
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

for slot in range(16):
    directory = os.path.join(slots, f"slot-{slot}")
    os.makedirs(directory, exist_ok=True)
    lock = os.open(os.path.join(directory, ".lock"), os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        continue
    # The lock travels into evcxr_jupyter and is released when the kernel exits.
    os.set_inheritable(lock, True)
    os.environ["EVCXR_TMPDIR"] = directory
    os.environ["EVCXR_CONFIG_DIR"] = os.path.join(slots, "config")
    os.execv(evcxr, [evcxr, "--control_file", connection_file])

sys.exit("cnn-course kernel: all 16 build slots are in use; close a notebook and try again")
