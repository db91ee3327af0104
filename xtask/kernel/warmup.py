"""Build the crate and its dependencies in the kernel's template (target/evcxr/template),
through the real kernel, so that the first cell of a notebook is quick: every kernel's
build slot starts as a copy of it (launch.py). Prints the time it took.

    python warmup.py <root> [--prefetch]

With --prefetch it then fetches the course's real datasets into the download cache
(`cnn_course::datasets::prefetch`), printing what the kernel prints.
"""
import os
import sys
import time

import nbformat
from nbclient import NotebookClient

root = sys.argv[1]
prefetch = "--prefetch" in sys.argv[2:]
notebook = nbformat.v4.new_notebook()
notebook.cells = [
    nbformat.v4.new_code_cell(':dep cnn-course = { path = "../cnn-course" }'),
    nbformat.v4.new_code_cell("use cnn_course::prelude::*;\nSequential::new().count_params()"),
]
if prefetch:
    notebook.cells.append(nbformat.v4.new_code_cell("cnn_course::datasets::prefetch()?;"))
started = time.time()
if not prefetch:
    os.environ["CNN_COURSE_KERNEL_SLOT"] = "template"
client = NotebookClient(
    notebook, timeout=1800, kernel_name="rust", resources={"metadata": {"path": os.path.join(root, "notebooks")}}
)
client.execute()
if prefetch:
    for output in notebook.cells[-1].get("outputs", []):
        print(output.get("text", output.get("evalue", "")), end="")
else:
    print(f"setup: kernel build template ready ({time.time() - started:.0f} s)")
