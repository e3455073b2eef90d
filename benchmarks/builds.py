"""Build time of each derived dataset against TFDS's own MNIST builder.

    python benchmarks/builds.py --manual_dir ../shared/data/mnist

In one process, on the same local IDX files: builds TFDS's `mnist` (made to
read the files instead of downloading them), then `mnist_fg/mnist`,
`mnist_circles/mnist`, `mnist_mosaic/2x2` and `mnist_mosaic/scatter`, each
into a fresh temporary data dir. Prints the time per example written and its
ratio to TFDS's MNIST (targets: fg and circles <= 1.3x, mosaics <= 1.5x).

Then, per derived builder, "TFDS alone": the same builder writing the same
examples made beforehand and held in memory, so its time is TFDS's own
encoding, serialization, shuffling and writing of our examples, a floor no
derivation can go below.

Then, per derived builder, where the time goes: each phase timed on its own,
one after another in this thread, as % of the build's time:
  read       gunzip, parse and validate the IDX files (`load_splits`);
  derive     the derivation proper, the numpy functions a builder calls:
             thresholds and masks, circles, boxes, mosaic drawing and tiling;
  assemble   the rest of `examples_of_chunk`: slicing, per-example dicts;
  png        PNG encoding of the images and masks (`encoding.png_batch`);
  encode     TFDS's `features.encode_example` of every example;
  serialize  TFDS's example serializer (the protos the writer writes);
  rest       build - all of the above: file writing, shuffling, statistics,
             less the overlap (a build makes chunks in worker processes
             beside the writer, so the phases add up to more than the build
             and `rest` is negative: the sum is CPU time, not wall time).
TFDS's MNIST gets its files pre-extracted, so its time has no gunzip in it;
ours includes reading the gz files. TensorFlow is imported before anything
is timed: TFDS's writer imports it on first use, which would otherwise put
about 3 s on whichever build runs first.
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

DERIVED = ("mnist_fg/mnist", "mnist_circles/mnist", "mnist_mosaic/2x2",
           "mnist_mosaic/scatter")


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


def _all_examples(builder, splits):
  """{split: [(key, example)]} of a builder's whole dataset, made here."""
  config = builder.builder_config
  made = {}
  for split, source_split in builder.split_sources(config).items():
    images, labels = splits[source_split]
    total = builder.num_examples(config, split, len(images))
    made[split] = [pair for start, stop in generation.chunk_bounds(total)
                   for pair in builder.examples_of_chunk(
                       split, images, labels, start, stop)]
  return made


def tfds_alone(name, manual_dir, data_dir):
  """Seconds TFDS takes to write the builder's examples, made beforehand."""
  builder = tfds.builder(name, data_dir=data_dir)
  dl_manager = tfds.download.DownloadManager(download_dir=data_dir)
  made = _all_examples(builder, sources.load_splits(
      manual_dir, dl_manager, builder.builder_config.source))

  class Replay(type(builder), skip_registration=True):

    def _split_generators(self, dl_manager):
      del dl_manager  # the examples are made
      return {split: iter(pairs) for split, pairs in made.items()}

  replay = Replay(config=builder.builder_config, data_dir=data_dir / "replay")
  return _timed(replay.download_and_prepare)


def profile(name, manual_dir, data_dir, build_seconds):
  """Seconds of each build phase, run alone (see the module docstring)."""
  builder = tfds.builder(name, data_dir=data_dir)
  config = builder.builder_config
  dl_manager = tfds.download.DownloadManager(download_dir=data_dir)
  splits = {}
  phases = {"read": _timed(lambda: splits.update(
      sources.load_splits(manual_dir, dl_manager, config.source)))}

  spent = collections.defaultdict(float)
  made = {}
  builder_module = sys.modules[type(builder).__module__]
  with _timing(geometry, DERIVATION, spent, "derive"), _timing(
      builder_module, DERIVATION, spent, "derive"), _timing(
          encoding, ["png_batch"], spent, "png"):
    made_seconds = _timed(lambda: made.update(_all_examples(builder, splits)))
  examples = [example for pairs in made.values() for _, example in pairs]
  phases["derive"] = spent["derive"]
  phases["assemble"] = made_seconds - spent["derive"] - spent["png"]
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
  import tensorflow  # pylint: disable=g-import-not-at-top,unused-import
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
      results[name] = {
          "examples": _num_examples(builder), "seconds": seconds,
          "tfds_alone_seconds": tfds_alone(name, args.manual_dir,
                                           tmp / "alone" / name),
          "phases": profile(name, args.manual_dir, tmp / "profile", seconds)}

  mnist = results["tfds mnist"]["seconds"] / results["tfds mnist"]["examples"]
  print(f"\n{'dataset':22s} {'examples':>8s} {'build s':>7s} {'us/ex':>6s}"
        f" {'x mnist':>7s} {'TFDS alone x':>12s}   % of build: read / derive /"
        " assemble / png / encode / serialize / rest")
  for name, r in results.items():
    r["ratio"] = r["seconds"] / r["examples"] / mnist
    alone = ""
    if "tfds_alone_seconds" in r:
      r["tfds_alone_ratio"] = r["tfds_alone_seconds"] / r["examples"] / mnist
      alone = f"{r['tfds_alone_ratio']:.2f}"
    shares = " / ".join(f"{100 * s / r['seconds']:5.1f}"
                        for s in r.get("phases", {}).values())
    print(f"{name:22s} {r['examples']:8d} {r['seconds']:7.1f}"
          f" {1e6 * r['seconds'] / r['examples']:6.1f} {r['ratio']:7.2f}"
          f" {alone:>12s}   {shares}")
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
  main()
