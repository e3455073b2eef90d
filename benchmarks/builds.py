"""Build time of each derived dataset against TFDS's own MNIST builder.

    python benchmarks/builds.py --manual_dir ../shared/data/mnist

In one process, on the same local IDX files: builds TFDS's `mnist` (made to
read the files instead of downloading them), then `mnist_fg/mnist`,
`mnist_circles/mnist` and `mnist_mosaic/2x2`, each into a fresh temporary
data dir. Prints the time per example written and its ratio to TFDS's MNIST
(targets: fg and circles <= 1.3x, mosaic <= 1.5x at 4x the pixels).

Then, per derived builder, where the time goes: each phase timed on its own,
one after another in this thread, as % of the build's time:
  read       gunzip, parse and validate the IDX files (`load_splits`);
  derive     the derivation proper, the numpy functions a builder calls:
             thresholds and masks, circles, boxes, mosaic drawing and tiling;
  assemble   the rest of `examples_of_chunk`: slicing, per-example dicts;
  png        OpenCV PNG encoding of the images and masks;
  encode     TFDS's `features.encode_example` of every example;
  serialize  TFDS's example serializer (the protos the writer writes);
  rest       build - all of the above: file writing, shuffling, statistics,
             less the overlap (a build makes chunks in a thread ahead of the
             writer, so the phases can add up to more than the build).
TFDS's MNIST gets its files pre-extracted, so its time has no gunzip in it;
ours includes reading the gz files.
"""

import argparse
import collections
import contextlib
import gzip
import json
import pathlib
import shutil
import sys
import tempfile
import time

import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer
from tensorflow_datasets.image_classification import mnist as tfds_mnist

from mnist_derived.core import encoding
from mnist_derived.core import generation
from mnist_derived import geometry
from mnist_derived.core import sources

DERIVED = ("mnist_fg/mnist", "mnist_circles/mnist", "mnist_mosaic/2x2")


class _ExtractedFiles:
  """Stands in for a DownloadManager: URLs map to already extracted files."""

  def __init__(self, folder):
    self._folder = pathlib.Path(folder)

  def download_and_extract(self, urls):
    return {key: self._folder / url.rsplit("/", 1)[-1].removesuffix(".gz")
            for key, url in urls.items()}


def tfds_mnist_builder(extracted_dir, data_dir):
  """TFDS's MNIST builder, unchanged but for where its files come from."""

  class LocalMnist(tfds_mnist.MNIST, skip_registration=True):

    def _split_generators(self, dl_manager):
      del dl_manager  # nothing to download
      return super()._split_generators(_ExtractedFiles(extracted_dir))

  return LocalMnist(data_dir=data_dir)


def _timed(fn):
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def _num_examples(builder):
  return sum(split.num_examples for split in builder.info.splits.values())


# The derivation functions builders call, by name, in geometry or their own
# module (mosaic drawing and tiling).
DERIVATION = ["tss_thresholds", "foreground_masks", "min_enclosing_circles",
              "tight_boxes", "normalized_boxes", "normalize_circles",
              "draw_source_indices", "tile", "object_boxes"]


_RUNNING = set()


@contextlib.contextmanager
def _timing(module, names, spent, phase):
  """Adds the time of calls to module.<name> (those it has) to spent[phase]."""
  originals = {n: getattr(module, n) for n in names if hasattr(module, n)}

  def timed(fn):
    def wrapper(*args, **kwargs):
      if phase in _RUNNING:  # a derivation calling another: count it once
        return fn(*args, **kwargs)
      _RUNNING.add(phase)
      start = time.perf_counter()
      try:
        return fn(*args, **kwargs)
      finally:
        spent[phase] += time.perf_counter() - start
        _RUNNING.discard(phase)
    return wrapper
  for name, fn in originals.items():
    setattr(module, name, timed(fn))
  try:
    yield
  finally:
    for name, fn in originals.items():
      setattr(module, name, fn)


def profile(name, manual_dir, data_dir, build_seconds):
  """Seconds of each build phase, run alone (see the module docstring)."""
  builder = tfds.builder(name, data_dir=data_dir)
  config = builder.builder_config
  dl_manager = tfds.download.DownloadManager(download_dir=data_dir)
  splits = {}
  phases = {"read": _timed(lambda: splits.update(
      sources.load_splits(manual_dir, dl_manager, config.source)))}

  spent = collections.defaultdict(float)
  examples = []
  def make_all_chunks():
    for split, source_split in builder.split_sources(config).items():
      images, labels = splits[source_split]
      total = builder.num_examples(config, split, len(images))
      for start, stop in generation.chunk_bounds(total):
        examples.extend(example for _, example in builder.examples_of_chunk(
            config, split, images, labels, start, stop))
  builder_module = sys.modules[type(builder).__module__]
  with _timing(geometry, DERIVATION, spent, "derive"), _timing(
      builder_module, DERIVATION, spent, "derive"), _timing(
          encoding, ["png_bytes"], spent, "png"):
    made = _timed(make_all_chunks)
  phases["derive"] = spent["derive"]
  phases["assemble"] = made - spent["derive"] - spent["png"]
  phases["png"] = spent["png"]
  encoded = []
  phases["encode"] = _timed(lambda: encoded.extend(
      builder.info.features.encode_example(e) for e in examples))
  serializer = example_serializer.ExampleSerializer(
      builder.info.features.get_serialized_info())
  phases["serialize"] = _timed(
      lambda: [serializer.serialize_example(e) for e in encoded])
  phases["rest"] = build_seconds - sum(phases.values())
  return phases


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--manual_dir", required=True,
                      help="folder with the four MNIST IDX gz files")
  parser.add_argument("--datasets", nargs="+", default=DERIVED)
  parser.add_argument("--json", help="also write the figures here")
  args = parser.parse_args()

  results = {}
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    extracted = tmp / "extracted"
    extracted.mkdir()
    for name in sources.ALL_FILES:
      with gzip.open(pathlib.Path(args.manual_dir) / name) as src, open(
          extracted / name.removesuffix(".gz"), "wb") as dst:
        shutil.copyfileobj(src, dst)

    baseline = tfds_mnist_builder(extracted, tmp / "tfds_mnist")
    seconds = _timed(baseline.download_and_prepare)
    results["tfds mnist"] = {"examples": _num_examples(baseline),
                             "seconds": seconds}
    download_config = tfds.download.DownloadConfig(manual_dir=args.manual_dir)
    for name in args.datasets:
      builder = tfds.builder(name, data_dir=tmp / name.replace("/", "_"))
      seconds = _timed(lambda: builder.download_and_prepare(  # pylint: disable=cell-var-from-loop
          download_config=download_config))
      results[name] = {"examples": _num_examples(builder), "seconds": seconds,
                       "phases": profile(name, args.manual_dir,
                                         tmp / "profile", seconds)}

  per_example = {name: r["seconds"] / r["examples"] for name, r in results.items()}
  print(f"\n{'dataset':24s} {'examples':>8s} {'build s':>8s} {'us/example':>10s}"
        f" {'x tfds mnist':>12s}   % of build: read / derive / assemble / png /"
        " encode / serialize / rest")
  for name, r in results.items():
    ratio = per_example[name] / per_example["tfds mnist"]
    shares = " / ".join(f"{100 * s / r['seconds']:5.1f}"
                        for s in r.get("phases", {}).values())
    r["ratio"] = ratio
    print(f"{name:24s} {r['examples']:8d} {r['seconds']:8.1f}"
          f" {1e6 * per_example[name]:10.1f} {ratio:12.2f}   {shares}")
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
  main()
