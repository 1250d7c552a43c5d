"""Two test workers side by side: how fast each runs a ResNet18 with one torch thread against with the default.

    python bench/bench_threads_per_worker.py [--seconds 20]

The test suite runs two xdist workers on this 2-core machine. Each worker's torch takes every core by default, so
two workers run four threads on two cores; tests/conftest.py gives each worker its share instead. This measures
both ways in one run: two processes at once, each counting ResNet18 forward passes (batch 8, 224x224) for the
same wall time; the ratio is the throughput with one thread each over that with the default count each.
"""

import argparse
import os
import subprocess
import sys

WORKER = """
import sys, time, torch, torchvision
threads = int(sys.argv[1])
if threads:
    torch.set_num_threads(threads)
model, batch = torchvision.models.resnet18().eval(), torch.randn(8, 3, 224, 224)
with torch.inference_mode():
    model(batch)
    start, count = time.monotonic(), 0
    while time.monotonic() - start < float(sys.argv[2]):
        model(batch)
        count += 1
print(count / (time.monotonic() - start))
"""


def side_by_side(threads, seconds):
    """Forward passes per second of each of two processes run at once (threads 0: torch's default)."""
    runs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(threads), str(seconds)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    return [float(run.communicate()[0]) for run in runs]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    seconds = parser.parse_args().seconds
    import torch

    default = torch.get_num_threads()
    shared = side_by_side(0, seconds)
    one = side_by_side(1, seconds)
    print(f"cores: {os.cpu_count()}, torch's default threads: {default}")
    print(f"two processes, {default} threads each: {shared[0]:.2f} and {shared[1]:.2f} passes/s")
    print(f"two processes, 1 thread each: {one[0]:.2f} and {one[1]:.2f} passes/s")
    print(f"ratio (1 thread each / default each): {sum(one) / sum(shared):.2f}")


if __name__ == "__main__":
    main()
