"""The MNIST-format source datasets every mnist_derived builder derives from.

Each source is four IDX gz files (train/test images and labels) with the
standard MNIST file names. Builders read them from ``manual_dir`` when it holds
them, else download them from the source's canonical mirror, checked against
the builder folder's ``checksums.tsv``.
"""

import dataclasses
import functools

from absl import logging
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import download_manager

from mnist_derived import errors
from mnist_derived import generation
from mnist_derived import idx

IMAGE_SHAPE = (28, 28, 1)

# split -> (images file, labels file), the names every MNIST-format set uses.
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
ALL_FILES = tuple(name for pair in SPLIT_FILES.values() for name in pair)


class DownloadFailedError(errors.InputError, RuntimeError):
  """A source is neither in manual_dir nor downloadable (or fails checksums)."""


@dataclasses.dataclass(frozen=True)
class Source:
  """One MNIST-format dataset: where it lives and what its labels mean."""

  name: str
  url: str  # folder holding the four files
  homepage: str
  class_names: tuple


SOURCES = {
    s.name: s
    for s in [
        Source(
            name="mnist",
            # The mirror TFDS's own mnist builder downloads from.
            url="https://storage.googleapis.com/cvdf-datasets/mnist/",
            homepage="http://yann.lecun.com/exdb/mnist/",
            class_names=tuple(str(d) for d in range(10)),
        ),
        Source(
            name="fashion_mnist",
            url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            class_names=(
                "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
            ),
        ),
        Source(
            name="kmnist",
            url="http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
            homepage="http://codh.rois.ac.jp/kmnist/index.html.en",
            class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re",
                         "wo"),
        ),
    ]
}
DEFAULT_SOURCE = "mnist"

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Optional. To build offline, put the four MNIST-format files
{', '.join(ALL_FILES)}
in a subfolder of the manual folder named after the source
({', '.join(SOURCES)}), and pass `--manual_dir <folder>` to `tfds build`.
Files directly in the manual folder are taken as {DEFAULT_SOURCE} only, never
as another source. Without local files they are downloaded from the source's
canonical mirror and checked against checksums.tsv.
"""


@dataclasses.dataclass(eq=False)
class SourceConfig(tfds.core.BuilderConfig):
  """A builder config naming the MNIST-format source to derive from."""

  source: str = DEFAULT_SOURCE

  def __post_init__(self):
    if self.source not in SOURCES:
      raise ValueError(
          f"Unknown source {self.source!r}; choose one of {sorted(SOURCES)}")


def source_configs():
  """One SourceConfig per source, named after it, the default first."""
  return [
      SourceConfig(name=name, source=name, description=f"Derived from {name}.")
      for name in SOURCES
  ]


def _manual_folder(dl_manager, source):
  """The folder in manual_dir that holds the source's files, or None.

  Raises IdxFormatError if a folder holds some of the four files but not all,
  which is a broken copy rather than an absent one.
  """
  try:
    manual_dir = dl_manager.manual_dir
  except AssertionError:  # TFDS raises this for a missing or empty folder.
    return None
  # Flat files are MNIST's: reading them as another source would silently
  # give that source MNIST's pixels.
  folders = [manual_dir / source.name]
  if source.name == DEFAULT_SOURCE:
    folders.append(manual_dir)
  for folder in folders:
    present = [name for name in ALL_FILES if (folder / name).exists()]
    if len(present) == len(ALL_FILES):
      return folder
    if present:
      missing = sorted(set(ALL_FILES) - set(present))
      raise idx.IdxFormatError(
          folder / missing[0],
          f"file not found, though {folder} holds {', '.join(present)}",
      )
  return None


def source_paths(dl_manager, source_name):
  """Returns {file name: path} of the source's four files, local or fetched."""
  source = SOURCES[source_name]
  folder = _manual_folder(dl_manager, source)
  if folder is not None:
    logging.info("Reading %s from %s", source.name, folder)
    return {name: folder / name for name in ALL_FILES}
  logging.info("No %s files in manual_dir: downloading from %s", source.name,
               source.url)
  try:
    return dl_manager.download({name: source.url + name for name in ALL_FILES})
  except download_manager.NonMatchingChecksumError as e:
    raise DownloadFailedError(
        f"{source.name}: a file downloaded from {source.url} does not match"
        f" its checksum in checksums.tsv, so it was refused and nothing was"
        f" built ({str(e).splitlines()[0]}). The mirror served other bytes"
        f" than the published files (a truncated transfer, a proxy page, or"
        f" changed files). Retry; if it persists, get the four files from"
        f" {source.homepage}, check them, put them in"
        f" <manual_dir>/{source.name}/ and pass --manual_dir."
    ) from e
  except Exception as e:  # pylint: disable=broad-except
    raise DownloadFailedError(
        f"{source.name}: no local copy in manual_dir and the download from"
        f" {source.url} failed ({type(e).__name__}: {e}). Put the four files"
        f" in <manual_dir>/{source.name}/ and pass --manual_dir, or build"
        f" another config (e.g. `<dataset>/{DEFAULT_SOURCE}`)."
    ) from e


def load_splits(dl_manager, source_name):
  """Reads and validates every split: {split: (images (N,H,W), labels (N,))}.

  All files are checked before any example is generated, so bad input stops
  the build before it writes anything.
  """
  return {split: idx.read_split(*paths, len(SOURCES[source_name].class_names))
          for split, paths in split_paths(dl_manager, source_name).items()}


def split_paths(dl_manager, source_name):
  """{split: (images path, labels path)} of a source, local or fetched."""
  paths = source_paths(dl_manager, source_name)
  return {split: (paths[images], paths[labels])
          for split, (images, labels) in SPLIT_FILES.items()}


class SourceBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Base of the builders: reads and checks a source's splits, then derives.

  Subclasses define `_info`, `examples_of_chunk` and, when a split's example
  count is not its source count, `num_examples`. Examples are derived chunk
  by chunk (see `generation`), in a thread ahead of TFDS's writer, or on
  Apache Beam when the build is given Beam options.
  """

  BUILDER_CONFIGS = source_configs()
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS

  @classmethod
  def num_examples(cls, config, split, num_sources):
    """How many examples a split gets from num_sources source images."""
    del config, split
    return num_sources

  @classmethod
  def examples_of_chunk(cls, config, split, images, labels, start, stop):
    """[(key, example)] of examples [start, stop) of a split, keys = positions."""
    raise NotImplementedError

  def _generate_splits(self, dl_manager, download_config):
    # TFDS runs a split on Beam when its generator is a PTransform: make one
    # exactly when the user asked for Beam.
    self._on_beam = (download_config.beam_runner is not None
                     or download_config.beam_options is not None)
    return super()._generate_splits(dl_manager, download_config)

  def _split_generators(self, dl_manager):
    config = self.builder_config
    num_classes = len(SOURCES[config.source].class_names)
    generators = {}
    for split, paths in split_paths(dl_manager, config.source).items():
      images, labels = idx.read_split(*paths, num_classes)  # checks them all
      if getattr(self, "_on_beam", False):
        bounds = generation.chunk_bounds(
            self.num_examples(config, split, len(images)))
        make_chunk = functools.partial(self.examples_of_chunk, config, split)
        generators[split] = generation.beam_examples(make_chunk, bounds,
                                                     *paths, num_classes)
      else:
        generators[split] = self._generate_examples(split, images, labels)
    return generators

  def _generate_examples(self, split, images, labels):
    config = self.builder_config
    make_chunk = functools.partial(self.examples_of_chunk, config, split,
                                   images, labels)
    return generation.read_ahead(make_chunk, generation.chunk_bounds(
        self.num_examples(config, split, len(images))))


def class_label(source_name):
  """The ClassLabel feature of a source's labels."""
  return tfds.features.ClassLabel(names=SOURCES[source_name].class_names)
