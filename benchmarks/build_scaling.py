"""How a build's cost grows with its number of examples: the multimnist
rule built with 60k and 600k training pairs (and, with --beam, on Beam's
DirectRunner with 2 workers), per example.

    python benchmarks/build_scaling.py --manual_dir ../shared/data/mnist \
        [--counts 60000 600000] [--beam]

Each build goes into a fresh temporary data dir (removed after), through
`download_and_prepare` with the config's `num_train` changed (validation
and test kept at 1000 each); prints wall seconds, microseconds and bytes
per example, and the ratio of each per-example cost to the first's.
"""

import argparse
import dataclasses
import pathlib
import shutil
import tempfile
import time

import tensorflow_datasets as tfds

from mnist_derived import MnistMosaic


def timed_build(count, manual_dir, beam):
  config = dataclasses.replace(
      MnistMosaic.builder_configs["multimnist"], name=f"multimnist_{count}",
      num_train=count, num_validation=1000, num_test=1000)
  options = None
  if beam:
    from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
    options = pipeline_options.PipelineOptions(flags=[
        "--runner=DirectRunner", "--direct_running_mode=multi_processing",
        "--direct_num_workers=2"])
  data_dir = tempfile.mkdtemp(prefix="build_scaling.")
  try:
    builder = MnistMosaic(config=config, data_dir=data_dir)
    start = time.perf_counter()
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=manual_dir, beam_options=options))
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in pathlib.Path(builder.data_dir).iterdir())
  finally:
    shutil.rmtree(data_dir, ignore_errors=True)
  return seconds, size, count + 2000


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--manual_dir", required=True)
  parser.add_argument("--counts", type=int, nargs="+",
                      default=[60_000, 600_000])
  parser.add_argument("--beam", action="store_true")
  args = parser.parse_args()
  print("| train pairs | runner | seconds | us/example | bytes/example |"
        " x the first per example |")
  print("|---|---|---|---|---|---|")
  first = None
  for count in args.counts:
    seconds, size, examples = timed_build(count, args.manual_dir, args.beam)
    per = seconds / examples
    first = first or per
    print(f"| {count} | {'Beam, 2 workers' if args.beam else 'plain'} |"
          f" {seconds:.1f} | {1e6 * per:.0f} | {size / examples:.0f} |"
          f" {per / first:.2f} |", flush=True)


if __name__ == "__main__":
  main()
