#!/usr/bin/env bash
# Builds, here, everything the GPU check needs, into .gpu/ (ignored by git), so that a
# session lent a GPU spends its device minutes running, not building: the machine has no
# Rust and no network. Then, with the device tool:
#
#     run(command="bash benchmarks/gpu/check.sh", carry=[".gpu"], timeout_s=560)
#
# What it builds:
#   - every cnn-course test binary and convnet_bench with the `cuda` feature;
#   - convnet_bench for the CPU twice: with gemm's AVX2 kernels only (a laptop's) and with
#     its AVX-512 ones, for benchmarks/compare_frameworks.py on that machine's cores;
#   - a copy of the MNIST files that the benchmarks train on.
#
# Needs CUDA 13.0's nvcc (the GPU machines' driver, 580, runs PTX up to CUDA 13.0, not
# newer) and CUDA's libraries to link against, at $CUDA_ROOT; the README's GPU paragraph
# says how to get both from PyPI on a machine without a GPU. MNIST comes from
# $CNN_COURSE_MNIST (default ../shared/data/mnist).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${CUDA_ROOT:?set CUDA_ROOT to a CUDA 13.0 toolkit (nvcc in bin/, libraries in lib/)}"
mnist=${CNN_COURSE_MNIST:-../shared/data/mnist}
[ -f "$mnist/train-images-idx3-ubyte.gz" ] || { echo "no MNIST files in $mnist; set CNN_COURSE_MNIST" >&2; exit 1; }
nvcc_version=$("$CUDA_ROOT/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
[ "$nvcc_version" = "13.0" ] || echo "warning: nvcc $nvcc_version: PTX newer than CUDA 13.0 does not load on driver 580" >&2

# As the README's GPU paragraph builds it: cudarc and candle find CUDA through CUDA_ROOT.
export CUDA_ROOT PATH=$CUDA_ROOT/bin:$PATH CUDA_PATH=$CUDA_ROOT
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90} CUDARC_CUDA_VERSION=${CUDARC_CUDA_VERSION:-13000}
cuda_target=${CARGO_TARGET_DIR:-target}/cuda
cpu_target=${CARGO_TARGET_DIR:-target}

# The executables of kind $1 ("test" or "example") that a cargo build made, as "name path".
executables() {
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        test = m["profile"]["test"]
        if (sys.argv[1] == "test") == test and (test or "example" in m["target"]["kind"]):
            print(m["target"]["name"], m["executable"])' "$1"
}

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/tests"
CARGO_TARGET_DIR=$cuda_target cargo test --release -p cnn-course --features cuda --no-run --message-format=json \
    | executables test | while read -r name path; do cp "$path" "$staging/tests/$name"; done
CARGO_TARGET_DIR=$cuda_target cargo build --release -p cnn-course --features cuda --example convnet_bench --message-format=json \
    | executables example | while read -r name path; do cp "$path" "$staging/${name}_cuda"; done
CARGO_TARGET_DIR=$cpu_target/avx2 cargo build --release -p cnn-course --no-default-features --example convnet_bench --message-format=json \
    | executables example | while read -r name path; do cp "$path" "$staging/${name}_avx2"; done
CARGO_TARGET_DIR=$cpu_target cargo build --release -p cnn-course --example convnet_bench --message-format=json \
    | executables example | while read -r name path; do cp "$path" "$staging/${name}_avx512"; done
strip "$staging"/tests/* "$staging"/convnet_bench_*
# Every binary holds the same PTX of candle's kernels: one archive with a window larger
# than a binary stores it about once.
rm -rf .gpu && mkdir -p .gpu/mnist
tar -C "$staging" -cf - . | xz -T0 -9 --lzma2=preset=9,dict=256MiB > .gpu/bins.tar.xz
cp "$mnist"/*-ubyte.gz .gpu/mnist/
git rev-parse HEAD > .gpu/commit
size=$(du -sm .gpu | cut -f1)
echo "packed $(ls "$staging/tests" | wc -l) test binaries and 3 benchmarks at $(cat .gpu/commit): .gpu is $size MiB"
[ "$size" -lt 56 ] || { echo "too large to carry with the working tree (64 MiB in all)" >&2; exit 1; }
