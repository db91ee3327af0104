"""Execute one notebook through the Jupyter protocol with the evcxr kernel (nbclient), and
judge it. Prints the judgement as the last line: `RESULT ok <seconds>` or
`RESULT fail <seconds> <reason>`.

    python run_notebook.py <notebook> <executed copy to write> solution|learner [expected text ...]

- A runner-only first cell `:preserve_vars_on_panic 0` makes a panic fail its cell (by
  default evcxr reports a panicking cell as a success; learners keep that default).
- solution: every cell must run; no cell may write to stderr (evcxr prints errors
  returned by `?` there) unless tagged `allow-stderr`; every expected text must appear in
  the outputs.
- learner: the notebook must stop at its first cell tagged `exercise`, with the message
  of its `exercise!("…")` blank (a compile error: evcxr reports a `todo!()` panic as a
  successful cell, so it would not stop "Run All"), and every cell before it must run
  cleanly.
"""
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

path, executed_path, mode = sys.argv[1:4]
expected = sys.argv[4:]
notebook = nbformat.read(path, as_version=4)
notebook.cells.insert(0, nbformat.v4.new_code_cell(":preserve_vars_on_panic 0", metadata={"tags": ["runner"]}))

started = time.time()
client = NotebookClient(
    notebook,
    timeout=900,
    kernel_name="rust",
    resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
)
failure = None
try:
    client.execute()
except CellExecutionError as error:
    failure = error
except Exception as error:  # a kernel that died or timed out
    failure = error
seconds = time.time() - started
os.makedirs(os.path.dirname(executed_path), exist_ok=True)
nbformat.write(notebook, executed_path)


def text_of(output):
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join([output.get("ename", ""), output.get("evalue", "")] + output.get("traceback", []))
    data = output.get("data", {})
    return "\n".join(str(data.get(kind, "")) for kind in ("text/plain", "text/html"))


def verdict(ok, reason=""):
    print(f"RESULT {'ok' if ok else 'fail'} {seconds:.1f} {reason}".rstrip())
    sys.exit(0 if ok else 1)


code_cells = [c for c in notebook.cells if c.cell_type == "code"]

# Every cell's text output, for the checks of tests/notebooks.rs.
with open(os.path.splitext(executed_path)[0] + ".txt", "w") as dump:
    for index, cell in enumerate(code_cells):
        dump.write(f"--- cell {index} ---\n")
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else output.get("data", {}).get("text/plain", "")
            dump.write("".join(text) if isinstance(text, list) else text)
        dump.write("\n")


def executed(cell):
    return cell.get("execution_count") is not None


def stderr_of(cell):
    if "allow-stderr" in cell.metadata.get("tags", []):
        return ""
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr")


def first_line(text):
    return next((line for line in text.splitlines() if line.strip()), "")[:300]


if mode == "solution":
    if failure is not None:
        cell = next((c for c in code_cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        if cell is None:
            verdict(False, f"the kernel failed: {first_line(str(failure))}")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        message = "; ".join(f"{o.get('ename', '')}: {o.get('evalue', '')}" for o in errors)
        verdict(False, f"cell {code_cells.index(cell)} failed: {first_line(message)}")
    for index, cell in enumerate(code_cells):
        if stderr_of(cell):
            verdict(False, f"cell {index} wrote to stderr: {first_line(stderr_of(cell))}")
    everything = "\n".join(text_of(o) for c in code_cells for o in c.get("outputs", []))
    missing = [text for text in expected if text not in everything]
    if missing:
        verdict(False, f"missing output: {missing}")
    verdict(True)

# learner
exercises = [i for i, c in enumerate(code_cells) if "exercise" in c.metadata.get("tags", [])]
if not exercises:
    verdict(False, "no cell is tagged 'exercise'")
first = exercises[0]
if failure is None:
    verdict(False, "ran to the end, but should stop at its first exercise")
for index, cell in enumerate(code_cells[:first]):
    if any(o.get("output_type") == "error" for o in cell.get("outputs", [])) or stderr_of(cell):
        verdict(False, f"cell {index} failed before the first exercise (cell {first})")
stopped = "\n".join(text_of(o) for o in code_cells[first].get("outputs", []))
if "exercise:" not in stopped:
    verdict(False, f"cell {first} (the first exercise) did not stop at its exercise!() blank: {first_line(stopped)}")
if any(executed(c) for c in code_cells[first + 1:]):
    verdict(False, "cells after the first exercise ran")
verdict(True)
