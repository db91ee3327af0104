"""Training speed inside a notebook: start the course's Rust kernel (evcxr, as set up by
`cargo xtask setup`), load the crate as a notebook does, and train the seed convnet
(COURSE.md chapter 4; rmsprop, batch 64) for 3 epochs in a cell. Prints the median
samples/s over the epochs, as `convnet_bench` does outside the notebook.

    .venv/bin/python benchmarks/notebook_speed.py --data ../shared/data/mnist

Without --data it trains on the shipped digits (4,000 images).
"""
import argparse
import os
import re
import sys
import time

from jupyter_client.manager import start_new_kernel

parser = argparse.ArgumentParser()
parser.add_argument("--data", help="a folder with MNIST files (default: the shipped digits)")
args = parser.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

load = (
    f'let d = cnn_course::datasets::load_mnist_dir({os.path.abspath(args.data)!r})?;'.replace("'", '"')
    if args.data
    else "let d = digits()?;"
)
CELLS = [
    ':dep cnn-course = { path = "%s" }\nuse cnn_course::prelude::*;' % os.path.join(root, "cnn-course"),
    load + "\nlet y = to_categorical(&d.y_train, 10)?;",
    """let mut model = cnn_course::models::chollet_convnet()?;
model.compile("rmsprop", "categorical_crossentropy", &["accuracy"])?;
let mut rates = Vec::new();
for _ in 0..3 {
    let started = std::time::Instant::now();
    model.fit(&d.x_train, &y, Fit::new().epochs(1).batch_size(64).verbose(0))?;
    rates.push(d.x_train.shape()[0] as f64 / started.elapsed().as_secs_f64());
}
rates.sort_by(f64::total_cmp);
println!("notebook_train_samples_per_s={:.0}", rates[1]);""",
]

manager, client = start_new_kernel(kernel_name="rust", cwd=os.path.join(root, "notebooks"), startup_timeout=120)
try:
    for code in CELLS:
        started = time.time()
        output = []

        def collect(message):
            if message["msg_type"] == "stream":
                output.append(message["content"]["text"])

        reply = client.execute_interactive(code, timeout=1800, output_hook=collect)
        text = "".join(output)
        if reply["content"]["status"] != "ok" or "Error" in text:
            sys.exit(f"cell failed: {reply['content']} {text}")
        print(f"cell done in {time.time() - started:.1f} s")
    match = re.search(r"notebook_train_samples_per_s=\d+", text)
    print(match.group(0) if match else f"no figure in the output: {text}")
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
