#!/usr/bin/env bash
# Runs on the GPU machine that the device tool lends, from the repository root, with the
# .gpu/ folder that benchmarks/gpu/pack.sh made carried along:
#
#     run(command="bash benchmarks/gpu/check.sh", carry=[".gpu"], timeout_s=560)
#
# In order of importance, so that a run cut short still answers the first questions:
#   1. the seed convnet on the GPU (batch 32 and 64, the offline MNIST subset);
#   2. the seed convnet against PyTorch on 2 cores with AVX2 kernels (3 runs), then on 4 and
#      16 cores, and with AVX-512 on 2 (benchmarks/compare_frameworks.py; Keras is not
#      installed there);
#   3. every cnn-course test binary built with the `cuda` feature.
# Everything it prints is also written to $OUT/check.log. Each step is cut short so that
# the whole check ends within $CHECK_SECONDS (default 540) of its start.
set -uo pipefail
deadline=$((SECONDS + ${CHECK_SECONDS:-540}))
# Seconds a command may take: at most $1, and never past the deadline.
budget() {
    local left=$((deadline - SECONDS - 5))
    echo $((left < $1 ? (left > 0 ? left : 1) : $1))
}
out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
exec > >(tee "$out/check.log") 2>&1
bins=/tmp/cnn_course_gpu_check
rm -rf "$bins" && mkdir -p "$bins"
tar -xJf .gpu/bins.tar.xz -C "$bins" || { echo "cannot unpack .gpu/bins.tar.xz: run benchmarks/gpu/pack.sh first and carry .gpu"; exit 1; }
echo "binaries of commit $(cat .gpu/commit); this tree is $(git rev-parse HEAD 2>/dev/null || echo 'not a git checkout')"

# CUDA's libraries: $CUDA_LIBS, else those of the pip packages PyTorch uses; the driver's
# libcuda.so.1 is found where the machine keeps it.
if [ -z "${CUDA_LIBS:-}" ]; then
    CUDA_LIBS=$(python3 -c '
import glob, site
dirs = [d for s in site.getsitepackages() for d in glob.glob(s + "/nvidia/cu13/lib") + glob.glob(s + "/nvidia/*/lib")]
print(":".join(dirs))')
fi
export LD_LIBRARY_PATH=$CUDA_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ldd "$bins/convnet_bench_cuda" | grep -q "libcuda.so.1 => not found"; then
    driver=$(find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 -name libcuda.so.1 2>/dev/null | head -1)
    [ -n "$driver" ] && export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$(dirname "$driver")
fi
nvidia-smi -L || echo "nvidia-smi: no GPU listed"
echo "cores: $(nproc), $(grep -m1 'model name' /proc/cpuinfo)"
if ldd "$bins/convnet_bench_cuda" | grep "not found"; then
    echo "a library the binaries need is missing: set CUDA_LIBS to the folders that hold it"
    exit 1
fi

step() { echo; echo "== $* ($(date -u +%T))"; }

step "1. seed convnet on the GPU"
for batch in 32 64; do
    timeout "$(budget 120)" "$bins/convnet_bench_cuda" --data .gpu/mnist --epochs 4 --batch-size "$batch"
done

compare() {
    local cores=$1 isa=$2 binary=$3
    [ "$cores" -le "$(nproc)" ] || { echo "(this machine has $(nproc) cores)"; return; }
    taskset -c "0-$((cores - 1))" env OMP_NUM_THREADS="$cores" MKL_NUM_THREADS="$cores" \
        timeout "$(budget 150)" python3 benchmarks/compare_frameworks.py --data .gpu/mnist --epochs 6 --isa "$isa" \
        --crate-binary "$bins/$binary" --only cnn-course --only PyTorch | grep -E "samples/s|PyTorch|x$"
    [ "${PIPESTATUS[0]}" = 124 ] && echo "(cut short: the check's time is up)"
}
step "2. seed convnet against PyTorch on the CPU (6 epochs, median of epochs 2-6)"
for run in 1 2 3; do echo "-- 2 cores, AVX2, run $run"; compare 2 avx2 convnet_bench_avx2; done
echo "-- 4 cores, AVX2"; compare 4 avx2 convnet_bench_avx2
echo "-- $(nproc) cores, AVX2"; compare "$(nproc)" avx2 convnet_bench_avx2
echo "-- 2 cores, AVX-512"; compare 2 native convnet_bench_avx512

step "3. the test suite with the cuda feature"
failed=0
run_tests() {
    local test=$1 seconds=$2 name
    name=$(basename "$test")
    if [ "$(budget "$seconds")" -lt 10 ]; then
        echo "$name: not run, the check's time is up"
        failed=1
        return
    fi
    timeout "$(budget "$seconds")" "$test" --test-threads=8 > "$out/test_$name.log" 2>&1
    echo "$name: exit $? — $(grep -h 'test result' "$out/test_$name.log" | tail -1)"
    grep -q "test result: ok" "$out/test_$name.log" || failed=1
}
for test in "$bins"/tests/*; do
    # random_models takes thousands of models through every call: last, and cut at 3 minutes.
    [ "$(basename "$test")" = random_models ] || run_tests "$test" 240
done
run_tests "$bins/tests/random_models" 180
step "done; failed test binaries: $failed"
