"""Kernel latency, measured through the Jupyter protocol: kernel start, time to the first
cell's output (the crate's `:dep` cell), and the overhead of re-running a small cell; then
two kernels at once, each running the same cells.

    python latency.py <notebooks folder>
"""
import statistics
import sys
import threading
import time

from jupyter_client.manager import start_new_kernel

folder = sys.argv[1]
FIRST = ':dep cnn-course = { path = "../cnn-course" }\nuse cnn_course::prelude::*;\nSequential::new().count_params()'
SMALL = "let a = 1 + 1;\na"


def run(client, code):
    started = time.time()
    reply = client.execute(code, reply=True, timeout=1800)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content']}")
    return time.time() - started


def session(name, results):
    started = time.time()
    manager, client = start_new_kernel(kernel_name="rust", cwd=folder, startup_timeout=120)
    ready = time.time() - started
    try:
        first = run(client, FIRST)
        reruns = [run(client, SMALL) for _ in range(5)]
        results[name] = (ready, first, statistics.median(reruns))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def report(name, values):
    ready, first, rerun = values
    print(f"{name}: kernel start {ready:.1f} s, first cell output {first:.1f} s (after start), re-run overhead {rerun:.2f} s")


results = {}
session("one kernel", results)
report("one kernel", results["one kernel"])
threads = [threading.Thread(target=session, args=(f"kernel {i + 1} of 2", results)) for i in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for i in range(2):
    name = f"kernel {i + 1} of 2"
    if name in results:
        report(name, results[name])
    else:
        print(f"{name}: FAILED")
        sys.exit(1)
