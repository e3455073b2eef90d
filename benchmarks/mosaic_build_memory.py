"""Peak memory and time of mnist_mosaic builds as the mosaic count grows.

    python benchmarks/mosaic_build_memory.py --manual_dir ../shared/data/mnist

Builds the 2x2 config (or --config) at its default counts and at SCALE times
them, each in its own process (peak RSS is per process), into a temporary
data dir, and prints time, peak RSS and their ratios, for the building
process and for its largest chunk worker process. Then the same for the example
generator alone (examples made, PNGs included, and dropped; nothing
written).

The generator streams in chunks, so its memory stays flat while time grows
with the count. A full build adds TFDS's writer, which holds serialized
examples in memory up to 1 GB (tfds.core.shuffle.MAX_MEM_BUFFER_SIZE) before
spilling to disk: its peak grows with the count until that cap, then stops.
"""

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = """
import dataclasses, functools, json, resource, sys, time
import tensorflow_datasets as tfds
from mnist_derived import MnistMosaic
name, scale, manual_dir, data_dir, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
base = MnistMosaic.builder_configs[name]
config = dataclasses.replace(base, name=f"{name}_x{scale}",
                             num_train=base.num_train * scale,
                             num_validation=base.num_validation * scale,
                             num_test=base.num_test * scale)
# A worker's own peak (VmHWM), read before it exits: getrusage's children
# figure counts a child's memory before exec, that is, a copy of this process.
from mnist_derived.core import processes
worker_peaks = []
real_close = processes.ChunkProcesses.close
def close(self, kill=False):
  for worker in self._workers:
    with open(f"/proc/{worker.process.pid}/status") as status:
      worker_peaks.extend(int(line.split()[1]) for line in status
                          if line.startswith("VmHWM"))
  real_close(self, kill)
processes.ChunkProcesses.close = close
start = time.perf_counter()
builder = tfds.builder("mnist_mosaic", config=config, data_dir=data_dir)
dl_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
if mode == "build":
  builder.download_and_prepare(download_config=dl_config)
else:  # the generator alone
  from mnist_derived.core import generation, sources, examples
  from mnist_derived.core import builder as builder_lib
  dl = tfds.download.DownloadManager(download_dir=data_dir)
  source_splits = sources.load_splits(manual_dir, dl, config.source)
  chunks = generation.Local()
  for split, source_split in builder.split_sources(config).items():
    images, labels = source_splits[source_split]
    bounds = generation.chunk_bounds(
        builder.num_examples(config, split, len(images)))
    source = generation.SourceSplit(images, labels, (), 10)
    make_chunk = functools.partial(
        builder_lib.encoded_chunk, type(builder), config, split,
        examples.feature_kinds(builder.info.features))
    for _ in chunks.examples(split, make_chunk, source, bounds):
      pass
print(json.dumps({
    "mode": mode,
    "config": config.name,
    "mosaics": config.num_train + config.num_validation + config.num_test,
    "seconds": round(time.perf_counter() - start, 1),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    # the largest chunk worker process (0 when chunks are made in a thread)
    "workers_peak_rss_mb": round(max(worker_peaks, default=0) / 1024),
}))
"""


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--manual_dir", required=True)
  parser.add_argument("--config", default="2x2")
  parser.add_argument("--scale", type=int, default=10)
  parser.add_argument("--modes", nargs="+", default=["build", "generate"],
                      choices=["build", "generate"])
  args = parser.parse_args()
  for mode in args.modes:
    rows = []
    for scale in (1, args.scale):
      with tempfile.TemporaryDirectory() as data_dir:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, args.config, str(scale),
             args.manual_dir, data_dir, mode],
            check=True, capture_output=True, text=True).stdout
      rows.append(json.loads(out.strip().splitlines()[-1]))
      print(json.dumps(rows[-1]))
    small, large = rows
    print(f"{mode}: mosaics x{large['mosaics'] / small['mosaics']:.0f}: "
          f"time x{large['seconds'] / small['seconds']:.2f}, "
          f"peak RSS x{large['peak_rss_mb'] / small['peak_rss_mb']:.2f}"
          + (f", worker peak RSS x{large['workers_peak_rss_mb'] / small['workers_peak_rss_mb']:.2f}"
             if small["workers_peak_rss_mb"] else ""))


if __name__ == "__main__":
  main()
