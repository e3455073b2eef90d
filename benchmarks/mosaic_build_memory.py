"""Peak memory and time of mnist_mosaic builds as the mosaic count grows.

    python benchmarks/mosaic_build_memory.py --manual_dir ../shared/data/mnist

Builds the 2x2 config at its default counts and at SCALE times them, each in
its own process (peak RSS is per process), into a temporary data dir, and
prints time, peak RSS and their ratios. Generation streams in chunks, so
memory should stay flat while time grows with the count.
"""

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = """
import dataclasses, json, resource, sys, time
import tensorflow_datasets as tfds
from mnist_derived import MnistMosaic
name, scale, manual_dir, data_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
base = MnistMosaic.builder_configs[name]
config = dataclasses.replace(base, name=f"{name}_x{scale}",
                             num_train=base.num_train * scale,
                             num_test=base.num_test * scale)
start = time.perf_counter()
builder = tfds.builder("mnist_mosaic", config=config, data_dir=data_dir)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
    manual_dir=manual_dir))
print(json.dumps({
    "config": config.name,
    "mosaics": config.num_train + config.num_test,
    "seconds": round(time.perf_counter() - start, 1),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
}))
"""


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--manual_dir", required=True)
  parser.add_argument("--config", default="2x2")
  parser.add_argument("--scale", type=int, default=10)
  args = parser.parse_args()
  rows = []
  for scale in (1, args.scale):
    with tempfile.TemporaryDirectory() as data_dir:
      out = subprocess.run(
          [sys.executable, "-c", CHILD, args.config, str(scale),
           args.manual_dir, data_dir],
          check=True, capture_output=True, text=True).stdout
    rows.append(json.loads(out.strip().splitlines()[-1]))
    print(json.dumps(rows[-1]))
  small, large = rows
  print(f"mosaics x{large['mosaics'] / small['mosaics']:.0f}: "
        f"time x{large['seconds'] / small['seconds']:.2f}, "
        f"peak RSS x{large['peak_rss_mb'] / small['peak_rss_mb']:.2f}")


if __name__ == "__main__":
  main()
