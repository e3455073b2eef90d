"""Time and peak memory of each export format, and memory at 10x the count.

    python benchmarks/exports.py --data_dir data --manual_dir ../shared/data/mnist

Exports every split of the full default builds in --data_dir
(mnist_fg/mnist: parquet, croissant; mnist_mosaic/2x2: parquet, coco,
croissant), each in a fresh process, and prints its wall time and the
process's peak RSS. Then builds a 2x2 mosaic config with 10x the default
test count (100000 mosaics) and exports its test split beside the default
one's (10000): a streaming export's peak memory does not grow with the
count.
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time

_CHILD = """
import sys, json
from benchmarks import exports
exports.child(*sys.argv[1:])
"""

LARGE = "2x2_test_x10"


def _large_builder(data_dir):
  import mnist_derived  # pylint: disable=g-import-not-at-top
  config = dataclasses.replace(
      mnist_derived.MnistMosaic.builder_configs["2x2"], name=LARGE,
      num_train=10, num_validation=10, num_test=100_000)
  return mnist_derived.MnistMosaic(config=config, data_dir=data_dir)


def child(dataset, fmt, out, data_dir, split):
  """Runs one export in this process (the large config by its name)."""
  import importlib  # pylint: disable=g-import-not-at-top
  from mnist_derived import builds  # pylint: disable=g-import-not-at-top
  split = None if split == "all" else split
  if dataset.endswith(LARGE):
    builder = _large_builder(data_dir)
  else:
    builder = builds.built_builder(dataset, data_dir)
  importlib.import_module(f"mnist_derived.export.{fmt}").export(
      builder, out, split=split)
  # Peak RSS of this process since its exec (a forked child's ru_maxrss
  # would start from the parent's).
  status = open("/proc/self/status").read()
  peak_kib = int(status.split("VmHWM:")[1].split()[0])
  print(f"PEAK_KIB {peak_kib}")


def measure(dataset, fmt, out, data_dir, split="all"):
  """(seconds, peak RSS in MiB) of one export in a fresh process."""
  start = time.perf_counter()
  proc = subprocess.Popen(
      [sys.executable, "-c", _CHILD, dataset, fmt, out, data_dir, split],
      cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  out, err = proc.communicate()
  seconds = time.perf_counter() - start
  if proc.returncode != 0:
    raise RuntimeError(f"{dataset} {fmt} failed: {err[-2000:]}")
  peak_kib = int(out.split("PEAK_KIB")[1].split()[0])
  return seconds, peak_kib / 1024


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--manual_dir", required=True)
  args = parser.parse_args()
  results = []
  with tempfile.TemporaryDirectory() as tmp:
    for dataset, formats in [("mnist_fg/mnist", ["parquet", "croissant"]),
                             ("mnist_mosaic/2x2",
                              ["parquet", "coco", "croissant"])]:
      parquet_out = os.path.join(tmp, dataset.replace("/", "_"))
      for fmt in formats:
        out = (parquet_out if fmt != "coco"
               else os.path.join(tmp, "coco_" + dataset.replace("/", "_")))
        seconds, peak = measure(dataset, fmt, out, args.data_dir)
        results.append({"dataset": dataset, "format": fmt, "split": "all",
                        "seconds": round(seconds, 1), "peak_mib": round(peak)})
        print(json.dumps(results[-1]), flush=True)

    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    large_dir = os.path.join(tmp, "large")
    _large_builder(large_dir).download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=args.manual_dir))
    for dataset, data_dir, count in [
        ("mnist_mosaic/2x2", args.data_dir, 10_000),
        (f"mnist_mosaic/{LARGE}", large_dir, 100_000)]:
      for fmt in ("parquet", "coco"):
        out = os.path.join(tmp, f"{fmt}_{count}")
        seconds, peak = measure(dataset, fmt, out, data_dir, split="test")
        results.append({"dataset": dataset, "format": fmt, "split": "test",
                        "examples": count, "seconds": round(seconds, 1),
                        "peak_mib": round(peak)})
        print(json.dumps(results[-1]), flush=True)
  by_count = {(r["format"], r.get("examples")): r["peak_mib"] for r in results}
  for fmt in ("parquet", "coco"):
    print(f"{fmt}: peak memory at 100000 / at 10000 test mosaics ="
          f" {by_count[fmt, 100_000] / by_count[fmt, 10_000]:.2f}")


if __name__ == "__main__":
  main()
