"""Build time on Apache Beam with 1 and 2 workers, against the plain build.

    python benchmarks/beam_scaling.py --manual_dir ../shared/data/mnist \
        [--dataset mnist_mosaic/2x2]

Runs the real `tfds build` three times into fresh temporary data dirs: plain
(no Beam), then Beam's DirectRunner in multi_processing mode with 1 and with
2 workers. Prints each wall time, the speed-up of 2 workers over 1, and
whether all three datasets have the same fingerprint (they must).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from mnist_derived import fingerprint

TFDS = shutil.which("tfds", path=os.path.dirname(sys.executable)) or "tfds"


def beam_options(workers):
  return ("runner=DirectRunner,direct_running_mode=multi_processing,"
          f"direct_num_workers={workers}")


def timed_build(dataset, manual_dir, data_dir, extra=()):
  start = time.perf_counter()
  subprocess.run([TFDS, "build", "--imports", "mnist_derived", dataset,
                  "--manual_dir", manual_dir, "--data_dir", data_dir, *extra],
                 check=True, capture_output=True)
  return time.perf_counter() - start


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--manual_dir", required=True)
  parser.add_argument("--dataset", default="mnist_mosaic/2x2")
  args = parser.parse_args()
  runs = {"plain": (), "beam, 1 worker": (
      f"--beam_pipeline_options={beam_options(1)}",), "beam, 2 workers": (
          f"--beam_pipeline_options={beam_options(2)}",)}
  seconds, prints = {}, {}
  with tempfile.TemporaryDirectory() as tmp:
    for i, (run, extra) in enumerate(runs.items()):
      data_dir = f"{tmp}/{i}"
      seconds[run] = timed_build(args.dataset, args.manual_dir, data_dir, extra)
      prints[run] = fingerprint.dataset_fingerprints(args.dataset, data_dir)
      print(f"{run:16s} {seconds[run]:7.1f} s", flush=True)
  speedup = seconds["beam, 1 worker"] / seconds["beam, 2 workers"]
  same = all(p == prints["plain"] for p in prints.values())
  print(f"2 workers / 1 worker: {speedup:.2f}x faster;"
        f" beam / plain (2 workers): {seconds['beam, 2 workers'] / seconds['plain']:.2f}x;"
        f" same fingerprint: {same}")


if __name__ == "__main__":
  main()
