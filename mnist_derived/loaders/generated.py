"""`GeneratedSplit`: any config's split computed from its source digits when
read, example i equal to the build's example i, in any number."""

import functools

from mnist_derived import builds
from mnist_derived import decoding
from mnist_derived.core import builder as builder_lib
from mnist_derived.core import errors
from mnist_derived.core import examples
from mnist_derived.core import sources
from mnist_derived.loaders import order
from mnist_derived.loaders import splits


@functools.lru_cache(maxsize=4)
def _source_split(images_path, labels_path, num_classes):
  """A source split, read and checked once per process (read-only)."""
  images, labels = builder_lib.check_images(images_path, labels_path,
                                            num_classes)
  images.flags.writeable = labels.flags.writeable = False
  return images, labels


class GeneratedSplit(splits.Split):
  """A split whose examples are derived from the source digits as they are
  read, by the builder's own rule: `len`, `[i]`, `batch(indices)` as
  `DecodedSplit` gives them, value for value the build's.

  manual_dir: the folder of the source's IDX files (as for a build).
  num_examples: default the config's count; more continue the same rule
  (example i is the same whatever the count), up to what the dataset can
  make (one example per source image for mnist_fg and mnist_circles, any
  number for the mosaics). Memory is the source digits and a batch; it
  pickles without them, and a worker process reads them again.
  """

  def __init__(self, dataset, split="train", *, manual_dir,
               num_examples=None, data_dir=None):
    found = builds.builder(dataset, data_dir)
    self.dataset, self.split, self.manual_dir = dataset, split, manual_dir
    self._builder_class, self._config = type(found), found.builder_config
    self._specs = decoding.feature_specs(found.info.features)
    self._source_paths = _source_paths(found, split, manual_dir)
    images, _ = self._source()
    self.num_examples = _count(found, split, len(images), num_examples)

  def _source(self):
    num_classes = len(sources.SOURCES[self._config.source].class_names)
    return _source_split(*map(str, self._source_paths), num_classes)

  def batch_columns(self, indices):
    indices = examples.positions(indices, len(self), repr(self))
    images, labels = self._source()
    arrays = self._builder_class.arrays_of(self._config, self.split, images,
                                           labels, indices)
    return examples.decoded_columns(arrays, self._specs)

  def epoch_order(self, seed, epoch, shuffle=True):
    """A permutation shuffled by blocks of consecutive examples
    (`order.BlockOrder`): a batch reads examples drawn near each other."""
    if not shuffle:
      return range(len(self))
    return order.BlockOrder(len(self), seed, epoch)


def _source_paths(found, split, manual_dir):
  """(images, labels) paths of the source split a dataset split draws from."""
  source_splits = found.split_sources(found.builder_config)
  if split not in source_splits:
    raise errors.InputError(
        f"{found.name}/{found.builder_config.name} has no split {split!r};"
        f" it has {', '.join(source_splits)}")
  files = sources.local_files(manual_dir, found.builder_config.source)
  images, labels = sources.SPLIT_FILES[source_splits[split]]
  return files[images], files[labels]


def _count(found, split, num_sources, asked):
  """The split's number of examples: the config's unless asked, checked."""
  name = f"{found.name}/{found.builder_config.name}"
  if asked is None:
    return found.num_examples(found.builder_config, split, num_sources)
  if int(asked) != asked or asked < 1:
    raise errors.InputError(f"{name}: num_examples must be a whole number"
                            f" of at least 1, not {asked!r}")
  most = found.max_examples(found.builder_config, split, num_sources)
  if most is not None and asked > most:
    raise errors.InputError(
        f"{name}: its {split} split has at most {most} examples (one per"
        f" source image), not {asked}")
  return int(asked)
