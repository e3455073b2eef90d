"""Examples per second: the PyTorch and grain loaders against tf.data and
against the limit, the split already in memory.

    python benchmarks/loaders.py --data_dir DIR --array_record_data_dir DIR2
        [--datasets mnist_fg/mnist mnist_mosaic/2x2 mnist_mosaic/scatter]
        [--split train] [--batch-size 64]

DIR holds tfrecord builds (what `tfds build` writes), DIR2 array_record
builds of the same datasets (what `mnist-derived build` writes without
TensorFlow). Each reader runs in a process of its own, in one run, and is
timed on its second pass over the split (the first opens files, starts
threads and, for the loaders, decodes the split once into memory-mapped
arrays beside the build):

* tf.data: `tfds.load` of the tfrecord build, decoded, batched, prefetched,
  without TFDS's auto-cache (variable-length `objects` dropped before
  batching, as tf.data cannot batch them);
* torch: `loaders.torch_loader` as the README uses it (batches of tensors,
  `objects` as a list per example);
* grain: `loaders.grain_dataset` iterated as it comes (grain's default
  read threads);
* torch / grain, objects read: the same, also reading every example's
  objects (a scattered mosaic's are cut per example on first read; a grid's
  are stacked);
* generated, generated with 2 workers: `loaders.torch_loader` of a
  `loaders.GeneratedSplit` (every example computed from `--manual_dir`'s
  digits when read), in the main process and in 2 worker processes;
* in memory: every feature of the split copied into RAM as numpy arrays,
  shuffled batches taken by fancy indexing (fixed-shape features only): the
  most a loader could reach.

Prints each rate, its ratio to tf.data and to the in-memory limit. Without
TensorFlow, tf.data is skipped (and said so), and the ratios are to the
in-memory limit alone; without `--manual_dir`, the generated readers.
"""

import argparse
import importlib.util
import json
import subprocess
import sys

# One pass that also reads every example's objects: a list of dicts where
# they vary in number, stacked arrays for a grid.
_READ_OBJECTS = """
def one_pass():
  count = 0
  for b in batches:
    objects = b["objects"]
    boxes = ([o["bbox"] for o in objects] if isinstance(
        objects, loaders.ExampleRows) else objects["bbox"])
    count += len(boxes)
  return count
"""

READERS = {
    "tf.data": """
import tensorflow as tf, tensorflow_datasets as tfds, mnist_derived
ds = tfds.load(DATASET, split=SPLIT, data_dir=DATA_DIR,
               read_config=tfds.ReadConfig(try_autocache=False))
if "objects" in ds.element_spec:
  ds = ds.map(lambda ex: {k: v for k, v in ex.items() if k != "objects"})
ds = ds.batch(BATCH).prefetch(tf.data.AUTOTUNE)
def one_pass():
  return sum(len(b["index"]) for b in ds.as_numpy_iterator())
""",
    "torch": """
from mnist_derived import loaders
batches = loaders.torch_loader(DATASET, SPLIT, BATCH, seed=0, data_dir=AR_DIR)
def one_pass():
  return sum(len(b["index"]) for b in batches)
""",
    "grain": """
from mnist_derived import loaders
ds = loaders.grain_dataset(DATASET, SPLIT, BATCH, seed=0, data_dir=AR_DIR)
def one_pass():
  return sum(len(b["index"]) for b in ds)
""",
    "torch, objects read": """
from mnist_derived import loaders
batches = loaders.torch_loader(DATASET, SPLIT, BATCH, seed=0, data_dir=AR_DIR)
""" + _READ_OBJECTS,
    "grain, objects read": """
from mnist_derived import loaders
batches = loaders.grain_dataset(DATASET, SPLIT, BATCH, seed=0, data_dir=AR_DIR)
""" + _READ_OBJECTS,
    "generated": """
from mnist_derived import loaders
split = loaders.GeneratedSplit(DATASET, SPLIT, manual_dir=MANUAL_DIR,
                               data_dir=AR_DIR)
batches = loaders.torch_loader(split, batch_size=BATCH, seed=0)
def one_pass():
  return sum(len(b["index"]) for b in batches)
""",
    "generated, 2 workers": """
from mnist_derived import loaders
split = loaders.GeneratedSplit(DATASET, SPLIT, manual_dir=MANUAL_DIR,
                               data_dir=AR_DIR)
batches = loaders.torch_loader(split, batch_size=BATCH, seed=0, num_workers=2)
def one_pass():
  return sum(len(b["index"]) for b in batches)
""",
    "in memory": """
import numpy as np
from mnist_derived import loaders
split = loaders.DecodedSplit(DATASET, SPLIT, data_dir=AR_DIR)
arrays = {path: np.array(a) for path, a in split.columns.arrays.items()
          if path not in split.columns.offsets}
rng = np.random.default_rng(0)
def one_pass():
  order, count = rng.permutation(len(split)), 0
  for start in range(0, len(order), BATCH):
    batch = {p: a[order[start:start + BATCH]] for p, a in arrays.items()}
    count += len(batch["/index"])
  return count
""",
}

TIMING = """
import json, time
if __name__ == "__main__":
  one_pass()  # warm-up: file opening, threads, the decoded copy
  start = time.perf_counter()
  count = one_pass()
  print(json.dumps({"examples": count, "seconds": time.perf_counter() - start}))
"""


def run(reader, dataset, args):
  header = (f"DATASET, SPLIT, BATCH = {dataset!r}, {args.split!r},"
            f" {args.batch_size}\nDATA_DIR, AR_DIR = {args.data_dir!r},"
            f" {args.array_record_data_dir!r}\nMANUAL_DIR ="
            f" {args.manual_dir!r}\n")
  proc = subprocess.run([sys.executable, "-c",
                         header + READERS[reader] + TIMING],
                        capture_output=True, text=True, check=False)
  if proc.returncode:
    sys.exit(f"{reader} on {dataset} failed:\n{proc.stderr[-3000:]}")
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  return result["examples"] / result["seconds"]


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data_dir", help="tfrecord builds (for tf.data)")
  parser.add_argument("--array_record_data_dir", required=True,
                      help="builds of the same datasets for the loaders"
                      " (array_record where TensorFlow is not installed)")
  parser.add_argument("--readers", nargs="+", default=list(READERS),
                      choices=list(READERS))
  parser.add_argument("--datasets", nargs="+", default=[
      "mnist_fg/mnist", "mnist_mosaic/2x2", "mnist_mosaic/scatter"])
  parser.add_argument("--manual_dir", help="the source's IDX files, for the"
                      " generated readers")
  parser.add_argument("--split", default="train")
  parser.add_argument("--batch-size", type=int, default=64)
  args = parser.parse_args()
  readers = _available(args)
  baseline = "tf.data" if "tf.data" in readers else "in memory"
  print(f"| dataset | reader | examples/s | x {baseline} | x in memory |")
  print("|---|---|---|---|---|")
  for dataset in args.datasets:
    here = [r for r in readers
            if "objects" not in r or dataset.startswith("mnist_mosaic")]
    rates = {reader: run(reader, dataset, args) for reader in here}
    for reader, rate in rates.items():
      print(f"| `{dataset}` | {reader} | {rate:.0f} |"
            f" {rate / rates[baseline]:.2f} |"
            f" {rate / rates['in memory']:.3f} |", flush=True)


def _available(args):
  """The readers asked for that can run here, tf.data first and the
  in-memory limit last; each one left out is said on stderr."""
  readers = ["tf.data", *(r for r in args.readers
                          if r not in ("tf.data", "in memory"))]
  skipped = {}
  if not _installed("tensorflow"):
    skipped["tf.data"] = "TensorFlow is not installed"
  elif not args.data_dir:
    skipped["tf.data"] = "no --data_dir of tfrecord builds"
  for reader in readers[1:]:
    if reader.startswith("generated") and not args.manual_dir:
      skipped[reader] = "no --manual_dir"
    elif "grain" in reader and not _installed("grain"):
      skipped[reader] = "grain is not installed"
    elif "grain" not in reader and not _installed("torch"):
      skipped[reader] = "torch is not installed"
  for reader, why in skipped.items():
    print(f"skipping {reader}: {why}", file=sys.stderr)
  return [r for r in readers if r not in skipped] + ["in memory"]


def _installed(module):
  return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
  main()
