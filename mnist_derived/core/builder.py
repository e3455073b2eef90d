"""The builder framework: a TFDS builder that derives examples from a source.

A dataset is a subclass of `SourceBuilder` in its own folder under
`mnist_derived/datasets/` (see the README's "Adding a dataset"). The base
reads and checks the source's IDX files, then derives examples chunk by
chunk (see `generation`), in a thread ahead of TFDS's writer, or on Apache
Beam when the build is given Beam options.
"""

import dataclasses
import functools
import inspect

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived.core import examples
from mnist_derived.core import generation
from mnist_derived.core import idx
from mnist_derived.core import sources
from mnist_derived.core import storage


# A build's size is estimated from its first examples, with room to spare
# for examples larger than those and the record files' own framing.
_SIZE_SAMPLE = 64
_SIZE_MARGIN = 1.2


@dataclasses.dataclass(eq=False)
class SourceConfig(tfds.core.BuilderConfig):
  """A builder config naming the MNIST-format source to derive from."""

  source: str = sources.DEFAULT_SOURCE

  def __post_init__(self):
    if self.source not in sources.SOURCES:
      raise ValueError(f"Unknown source {self.source!r}; choose one of"
                       f" {sorted(sources.SOURCES)}")


@dataclasses.dataclass(eq=False)
class DrawnConfig(SourceConfig):
  """The config of a `DrawnSplits` dataset: each split's count, the share
  of the source train split held out for `validation`, and the seed of
  every draw."""

  num_train: int = 60_000
  num_validation: int = 6_000
  num_test: int = 10_000
  validation_fraction: float = 0.1
  seed: int = 0

  @property
  def split_sizes(self):
    return {"train": self.num_train, "validation": self.num_validation,
            "test": self.num_test}


def source_configs(version):
  """One SourceConfig per source, named after it, the default first.

  Each config carries the dataset's version, so that TFDS lists the real
  configs when a name is misspelt.
  """
  return [
      SourceConfig(name=name, source=name, version=version,
                   description=f"Derived from {name}.")
      for name in sources.SOURCES
  ]


def class_label(source_name):
  """The ClassLabel feature of a source's labels."""
  return tfds.features.ClassLabel(names=sources.SOURCES[source_name].class_names)


@dataclasses.dataclass(frozen=True)
class BuildRequest:
  """What the caller of `download_and_prepare` asked for, as this package
  needs it: where local source files are, and whether to run on Beam."""

  manual_dir: object = None
  beam: bool = False

  @classmethod
  def of(cls, download_config):
    if download_config is None:
      return cls()
    return cls(manual_dir=download_config.manual_dir,
               beam=(download_config.beam_runner is not None
                     or download_config.beam_options is not None))


@dataclasses.dataclass(frozen=True)
class _Build:
  """A running build: what it was asked for, and what makes its chunks."""

  request: BuildRequest
  chunks: generation.ChunkMaker


# {name: builder class} of every dataset derived here, as it is defined.
_REGISTERED = {}


def registered():
  """{name: builder class} of the datasets of this package (and any other
  SourceBuilder defined in this process, as a test's)."""
  return dict(_REGISTERED)


class SourceBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Base of the builders: reads and checks a source's splits, then derives.

  Subclasses define `VERSION`, `BUILDER_CONFIGS` (`source_configs(VERSION)`
  for one per source), `_info`, `arrays_of` and, where a split is not one
  source split with one example per source image, `split_sources`,
  `num_examples` and `max_examples`.
  """

  MANUAL_DOWNLOAD_INSTRUCTIONS = sources.MANUAL_DOWNLOAD_INSTRUCTIONS
  # Said after the list of configs when a name is not one of them.
  OTHER_CONFIGS_HINT = ""
  # Set while download_and_prepare runs; _split_generators called on its own
  # (as a benchmark does) builds in a thread from TFDS's own folders.
  _build = None

  def __init_subclass__(cls, **kwargs):
    super().__init_subclass__(**kwargs)
    if not kwargs.get("skip_registration"):
      _REGISTERED[cls.name] = cls

  def __init__(self, *, config=None, **kwargs):
    # TFDS would list the closest names of every dataset: ours only.
    if isinstance(config, str) and config not in self.builder_configs:
      raise ValueError(
          f"{self.name} has no config {config!r}; it has"
          f" {', '.join(self.builder_configs)}{self.OTHER_CONFIGS_HINT}")
    super().__init__(config=config, **kwargs)
    declaration = getattr(self, "DECLARATION", None)  # without: refused later
    if declaration is not None:
      declaration.check_features(self)

  # TFDS gives a builder neither the manual_dir it was given (only an
  # assertion that it exists and is not empty) nor whether Beam was asked
  # for. download_and_prepare is the public method that receives both: note
  # them here, the one place that depends on its signature
  # (tests/test_builder.py checks it against TFDS).
  def download_and_prepare(self, **kwargs):
    """TFDS's, plus what a shared or full data dir needs: one build of a
    dataset at a time (a second waits, then finds it built), stale folders
    of killed builds removed, an unwritable or full folder one InputError."""
    if self.data_path.exists():  # built: TFDS only reuses it
      return super().download_and_prepare(**kwargs)
    request = BuildRequest.of(kwargs.get("download_config"))
    root = self.data_dir_root
    storage.check_writable(root, "--data_dir")
    with storage.one_writer(self.data_path), storage.disk_full_reported(
        root, f"building {self.info.full_name}", "--data_dir"):
      storage.remove_stale_incomplete(self.data_path)
      # One chunk maker (worker processes, a thread or Beam) serves every
      # split of this build.
      with generation.chunk_maker(request.beam) as chunks:
        self._build = _Build(request, chunks)
        try:
          return super().download_and_prepare(**kwargs)
        finally:
          self._build = None

  @classmethod
  def split_sources(cls, config):
    """{split: source split} of the dataset: by default the source's own."""
    del config
    return {split: split for split in sources.SPLIT_FILES}

  @classmethod
  def num_examples(cls, config, split, num_sources):
    """How many examples a split gets from num_sources source images."""
    del config, split
    return num_sources

  @classmethod
  def max_examples(cls, config, split, num_sources):
    """The most examples a split can have; None for any number (examples
    past `num_examples` continue the same rule)."""
    del config, split
    return num_sources

  @classmethod
  def arrays_of(cls, config, split, images, labels, indices):
    """`examples.Examples` at positions `indices` (int64) of a split.

    images, labels: the whole source split the dataset split draws from.
    Example i must depend only on (config, split, i) and the source split.
    """
    raise NotImplementedError

  def examples_of_chunk(self, split, images, labels, start, stop):
    """[(key, example)] of examples [start, stop) of a split, for TFDS."""
    return encoded_chunk(type(self), self.builder_config, split,
                         self._feature_kinds(), images, labels, start, stop)

  def _feature_kinds(self):
    return examples.feature_kinds(self.info.features)

  def _split_generators(self, dl_manager):
    config = self.builder_config
    build = self._build or _Build(BuildRequest(), generation.Local())
    num_classes = len(sources.SOURCES[config.source].class_names)
    paths = sources.split_paths(build.request.manual_dir, dl_manager,
                                config.source)
    source_data = {split: check_images(*paths[split], num_classes)
                   for split in paths}  # every file checked before writing
    self._check_room(source_data)
    generators = {}
    for split, source_split in self.split_sources(config).items():
      source = generation.SourceSplit(*source_data[source_split],
                                      paths[source_split], num_classes)
      generators[split] = self._generate_examples(split, source, build.chunks)
    return generators

  def _check_room(self, source_data):
    """Refuses to start a build its disk has no room for: the size of a
    sample of encoded examples, times the examples of every split."""
    needed = 0
    for split, source_split in self.split_sources(self.builder_config).items():
      images, labels = source_data[source_split]
      count = self.num_examples(self.builder_config, split, len(images))
      needed += count * self._bytes_per_example(split, images, labels, count)
    storage.check_free_space(self.data_dir_root, int(needed * _SIZE_MARGIN),
                             f"building {self.info.full_name}", "--data_dir")

  def _bytes_per_example(self, split, images, labels, count):
    sample = self.examples_of_chunk(split, images, labels, 0,
                                    min(count, _SIZE_SAMPLE))
    sizes = [len(self.info.features.serialize_example(example))
             for _, example in sample]
    return sum(sizes) / len(sizes) if sizes else 0

  def _generate_examples(self, split, source, chunks):
    """(key, example) of a split, its chunks made by `chunks`."""
    bounds = generation.chunk_bounds(
        self.num_examples(self.builder_config, split, len(source.images)))
    make_chunk = functools.partial(encoded_chunk, type(self),
                                   self.builder_config, split,
                                   self._feature_kinds())
    return chunks.examples(split, make_chunk, source, bounds)


class DrawnSplits(SourceBuilder, skip_registration=True):
  """A dataset whose examples draw source digits as often as they need:
  `train` and `validation` from the source train split (held-out pools, see
  `mnist_mosaic/streams.py`), `test` from the source test split, each split
  as many examples as its config's `split_sizes` says, and any number more
  by the same rule."""

  @classmethod
  def split_sources(cls, config):
    return {"train": "train", "validation": "train", "test": "test"}

  @classmethod
  def num_examples(cls, config, split, num_sources):
    del num_sources  # sources are reused as often as the count needs
    return config.split_sizes[split]

  @classmethod
  def max_examples(cls, config, split, num_sources):
    del config, split, num_sources  # the rule draws without end
    return None


def encoded_chunk(builder_class, config, split, kinds, images, labels, start,
                  stop):
  """Examples [start, stop) of a split encoded for TFDS (a function of plain
  data, so that it pickles to worker processes and Beam)."""
  arrays = builder_class.arrays_of(config, split, images, labels,
                                   np.arange(start, stop, dtype=np.int64))
  return examples.tfds_examples(arrays, kinds)


def check_images(images_path, labels_path, num_classes):
  """Reads a source split; refuses images of another size than MNIST's.

  The features of every dataset are declared 28x28 before any file is read,
  so another size would build a dataset that cannot be loaded.
  """
  images, labels = idx.read_split(images_path, labels_path, num_classes)
  if images.shape[1:] != sources.IMAGE_SHAPE[:2]:
    raise idx.IdxFormatError(
        images_path,
        f"images are {images.shape[1]}x{images.shape[2]}; mnist_derived builds"
        f" from {sources.IMAGE_SHAPE[0]}x{sources.IMAGE_SHAPE[1]} images only")
  return images, labels


def download_and_prepare_signature_ok():
  """True while TFDS's download_and_prepare takes download_config by keyword,
  as SourceBuilder.download_and_prepare relies on."""
  parameters = inspect.signature(
      tfds.core.DatasetBuilder.download_and_prepare).parameters
  config = parameters.get("download_config")
  return config is not None and config.kind == inspect.Parameter.KEYWORD_ONLY
