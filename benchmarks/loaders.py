"""Examples per second: PyTorch DataLoader and grain vs tfds.load + tf.data.

    python benchmarks/loaders.py --data_dir DIR --array_record_data_dir DIR2
        [--dataset mnist_fg/mnist] [--split train] [--batch-size 64]

One pass over the split, batched, each reader in a process of its own (torch
and TensorFlow do not share a process well), in one run:

* tf.data: `tfds.load` of a tfrecord build, decoded, batched, prefetched
  (what `training` uses, without its cache and without TFDS's auto-cache);
* torch: `loaders.torch_loader` with 2 worker processes (forkserver);
* grain: `loaders.grain_dataset(...).batch()` read by 2 threads (grain's
  worker processes need absl flags parsed, which a plain script lacks).

Prints examples/s of each and the ratios to tf.data.
"""

import argparse
import json
import subprocess
import sys

READERS = {
    "tf.data": """
import tensorflow as tf, tensorflow_datasets as tfds, mnist_derived
# No auto-cache: every pass decodes, as the other readers do.
ds = tfds.load(DATASET, split=SPLIT, data_dir=DATA_DIR,
               read_config=tfds.ReadConfig(try_autocache=False)
               ).batch(BATCH).prefetch(tf.data.AUTOTUNE)
def one_pass():
  return sum(len(b["index"]) for b in ds.as_numpy_iterator())
""",
    "torch": """
from mnist_derived import loaders
batches = loaders.torch_loader(DATASET, SPLIT, BATCH, num_workers=2, seed=0,
                               data_dir=AR_DIR, persistent_workers=True)
def one_pass():
  return sum(len(b["index"]) for b in batches)
""",
    "grain": """
import grain
from mnist_derived import loaders
ds = loaders.grain_dataset(DATASET, SPLIT, data_dir=AR_DIR, seed=0).batch(BATCH)
def one_pass():
  it = ds.to_iter_dataset(grain.ReadOptions(num_threads=2, prefetch_buffer_size=8))
  return sum(len(b["index"]) for b in it)
""",
}

TIMING = """
import json, time
if __name__ == "__main__":
  one_pass()  # warm-up: worker start, file opening
  start = time.perf_counter()
  count = one_pass()
  print(json.dumps({"examples": count, "seconds": time.perf_counter() - start}))
"""


def run(reader, args):
  header = (f"DATASET, SPLIT, BATCH = {args.dataset!r}, {args.split!r},"
            f" {args.batch_size}\nDATA_DIR, AR_DIR = {args.data_dir!r},"
            f" {args.array_record_data_dir!r}\n")
  proc = subprocess.run([sys.executable, "-c",
                         header + READERS[reader] + TIMING],
                        capture_output=True, text=True, check=False)
  if proc.returncode:
    sys.exit(f"{reader} failed:\n{proc.stderr[-3000:]}")
  return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", required=True, help="tfrecord builds")
  parser.add_argument("--array_record_data_dir", required=True,
                      help="array_record builds of the same datasets")
  parser.add_argument("--dataset", default="mnist_fg/mnist")
  parser.add_argument("--split", default="train")
  parser.add_argument("--batch-size", type=int, default=64)
  args = parser.parse_args()
  rates = {}
  for reader in READERS:
    result = run(reader, args)
    rates[reader] = result["examples"] / result["seconds"]
    print(f"{reader:8s} {result['examples']} examples in"
          f" {result['seconds']:.2f} s: {rates[reader]:.0f} examples/s",
          flush=True)
  for reader in ("torch", "grain"):
    print(f"{reader} / tf.data: {rates[reader] / rates['tf.data']:.2f}")


if __name__ == "__main__":
  main()
