"""Train the seed convnet (COURSE.md chapter 4) with rmsprop, batch 64, on the same MNIST
files in PyTorch and in Keras (whichever are installed), and run the crate's
`convnet_bench` on the same data, on this machine, one after the other. Prints each
framework's training samples/s and test accuracy, and the ratios.

Every framework is measured the same way: samples/s of each epoch, and the median over
the epochs after the first (the first includes each one's warm-up: Keras traces its
graph, PyTorch and the crate fill their caches and buffers).

    pip install torch tensorflow-cpu        # optional: what is missing is skipped
    python benchmarks/compare_frameworks.py --data ../shared/data/mnist --epochs 4
    python benchmarks/compare_frameworks.py --data ../shared/data/mnist --isa avx2
    python benchmarks/compare_frameworks.py --data ../shared/data/mnist --only PyTorch

`--isa avx2` measures what a laptop without AVX-512 gets, on a machine that has it: the
crate is built without gemm's AVX-512 kernels (`--no-default-features`), and PyTorch and
TensorFlow are told to stop at AVX2 (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA,
MKL_ENABLE_INSTRUCTIONS), before they are imported.
"""
import argparse
import gzip
import os
import statistics
import subprocess
import sys
import time

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--isa", choices=["native", "avx2"], default="native")
parser.add_argument("--crate-binary", help="a built convnet_bench to run instead of cargo (a machine without Rust)")
parser.add_argument("--only", choices=["cnn-course", "PyTorch", "Keras"], action="append",
                    help="run only these (repeatable); the default runs all three")
args = parser.parse_args()
if args.isa == "avx2":
    os.environ.update(ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2", MKL_ENABLE_INSTRUCTIONS="AVX2")


def idx(name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(args.data, candidate)
        if os.path.exists(path):
            raw = open(path, "rb").read()
            raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
            return np.frombuffer(raw[4 + 4 * len(dims):], dtype=np.uint8).reshape(dims)
    sys.exit(f"no {name} in {args.data}")


x_train = idx("train-images-idx3-ubyte").astype(np.float32)[..., None] / 255.0
y_train = idx("train-labels-idx1-ubyte").astype(np.int64)
x_test = idx("t10k-images-idx3-ubyte").astype(np.float32)[..., None] / 255.0
y_test = idx("t10k-labels-idx1-ubyte").astype(np.int64)
results = {}


def after_warm_up(rates):
    """The median samples/s over the epochs after the first."""
    return statistics.median(rates[1:] or rates)


def pytorch():
    import torch
    from torch import nn

    torch.manual_seed(0)
    print(f"   PyTorch {torch.__version__}, {torch.get_num_threads()} threads, vector unit {torch.backends.cpu.get_cpu_capability()}", flush=True)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10),
    )
    # Keras' RMSprop settings (PyTorch's defaults differ).
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.from_numpy(x_train).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(y_train)
    rates = []
    for _ in range(args.epochs):
        started = time.time()
        order = torch.randperm(len(x))
        model.train()
        for i in range(0, len(x), 64):
            batch = order[i:i + 64]
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
        rates.append(len(x) / (time.time() - started))
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(x_test).permute(0, 3, 1, 2)).argmax(1).numpy()
    return after_warm_up(rates), float((predicted == y_test).mean())


def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax"),
    ])
    model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rates = []
    for _ in range(args.epochs):
        started = time.time()
        model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)
        rates.append(len(x_train) / (time.time() - started))
    return after_warm_up(rates), model.evaluate(x_test, y_test, verbose=0)[1]


def crate():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    features = ["--no-default-features"] if args.isa == "avx2" else []
    command = [args.crate_binary] if args.crate_binary else [
        "cargo", "run", "--quiet", "--release", *features, "-p", "cnn-course", "--example", "convnet_bench", "--"]
    lines = subprocess.run(
        [*command, "--data", os.path.abspath(args.data), "--epochs", str(args.epochs)],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()
    # "epoch 2: 0.64 s, 12489 samples/s" for each epoch; the last line has the accuracy.
    rates = [float(line.split(", ")[1].split()[0]) for line in lines if line.startswith("epoch ")]
    fields = dict(part.split("=") for part in lines[-1].split())
    return after_warm_up(rates), float(fields["test_acc"])


for name, run in [("cnn-course", crate), ("PyTorch", pytorch), ("Keras", keras)]:
    if args.only and name not in args.only:
        continue
    try:
        results[name] = run()
        print(f"{name:>10}: {results[name][0]:7.0f} samples/s, test accuracy {results[name][1]:.4f}", flush=True)
    except ImportError as missing:
        print(f"{name:>10}: not installed ({missing.name})")
ours = results.get("cnn-course", (None,))[0]
for name in ("PyTorch", "Keras"):
    if name in results and ours is not None:
        print(f"cnn-course / {name}: {ours / results[name][0]:.2f}x")
