#!/usr/bin/env bash
# CUDA 13.0's compiler and libraries from PyPI, to build the `cuda` feature on a machine
# with neither a GPU nor a CUDA install, for benchmarks/gpu/pack.sh:
#
#     benchmarks/gpu/cuda_from_pypi.sh /tmp/cuda13      # prints the CUDA_ROOT to export
#
# 13.0, not newer: the GPU machines' driver (580) loads PTX up to CUDA 13.0. All of nvcc's
# parts are pinned: left to itself, pip pairs nvcc 13.0 with the newest `cicc`, whose PTX
# (9.5) the 13.0 assembler refuses. Linking also needs `libcuda`, which only a driver
# installs: a stub is compiled from the driver functions cudarc declares, each answering
# 100 (CUDA_ERROR_NO_DEVICE), with the driver's soname `libcuda.so.1`, so that the binaries
# load the real driver on a GPU machine and, here, run on the CPU.
set -euo pipefail
dir=$(mkdir -p "${1:?usage: cuda_from_pypi.sh FOLDER}" && cd "$1" && pwd)
cd "$(dirname "$0")/../.."
[ -x "$dir/venv/bin/pip" ] || python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install -q nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 \
    nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88 \
    nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35
root=$(echo "$dir"/venv/lib/python3*/site-packages/nvidia/cu13)
# Linkers look for lib<name>.so; the wheels hold only lib<name>.so.<version>.
for lib in "$root"/lib/lib*.so.*; do
    [[ $lib == */libcuda.so.* ]] && continue # the stub's, below
    ln -sf "$(basename "$lib")" "${lib%%.so.*}.so"
done
cargo fetch --quiet
cudarc=$(cargo metadata --format-version 1 --all-features | python3 -c '
import json, os, sys
print(next(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"] if p["name"] == "cudarc"))')
grep -oE '^\s*fn cu[A-Z][A-Za-z0-9_]*' "$cudarc/src/driver/sys/mod.rs" | awk '{print $2}' | sort -u \
    | awk '{print "int " $1 "(void) { return 100; }"}' > "$dir/libcuda_stub.c"
gcc -shared -fPIC -O1 -Wl,-soname,libcuda.so.1 -o "$root/lib/libcuda.so" "$dir/libcuda_stub.c"
ln -sf libcuda.so "$root/lib/libcuda.so.1"
echo "$(grep -c . "$dir/libcuda_stub.c") driver functions stubbed; nvcc $("$root/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')"
echo "export CUDA_ROOT=$root"
