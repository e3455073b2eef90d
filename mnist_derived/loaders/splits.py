"""A split as arrays, built (`DecodedSplit`) or computed when read
(`GeneratedSplit`, in generated.py): what the loaders read batches from."""

import collections.abc

import numpy as np

from mnist_derived import builds
from mnist_derived.core import examples
from mnist_derived.loaders import cache
from mnist_derived.loaders import order


class Split:
  """What both kinds of split give: `len`, `[i]` (one example) and
  `batch(indices)`, each from `batch_columns(indices)`."""

  def __len__(self):
    return self.num_examples

  def batch_columns(self, indices):
    """(fixed features stacked, {parent: ({leaf: rows of every example,
    concatenated}, counts per example)}) of the examples at `indices`."""
    raise NotImplementedError

  def __getitem__(self, index):
    index = int(index)
    if not 0 <= index < len(self):
      raise IndexError(f"{self!r} has no example {index}")
    fixed, ragged = self.batch_columns([index])
    example = _first(fixed)
    for parent, (columns, _) in ragged.items():
      example[parent] = dict(columns)
    return example

  def batch(self, indices):
    """Examples at `indices` as one dict: fixed-shape features stacked on a
    first axis; features that vary in length (a mosaic's `objects`) as a
    sequence with one dict of arrays per example (`ExampleRows`)."""
    batch, ragged = self.batch_columns(indices)
    for parent, (columns, counts) in ragged.items():
      batch[parent] = ExampleRows(columns, counts, numpy_split)
    return batch

  def epoch_order(self, seed, epoch, shuffle=True):
    """The example order of one epoch (sliceable): a permutation seeded by
    (seed, epoch)."""
    return order.epoch_order(len(self), seed, epoch, shuffle)

  def __repr__(self):
    return (f"{type(self).__name__}({self.dataset!r}, {self.split!r},"
            f" {len(self)} examples)")


def _first(tree):
  if isinstance(tree, dict):
    return {k: _first(v) for k, v in tree.items()}
  return np.array(tree[0])


class DecodedSplit(Split):
  """A built split as arrays, decoded once into memory-mapped files.

  Values and dtypes are those of `tfds.load`: `image` uint8 (H, W, 1),
  `label` int64, `objects` a dict of arrays with one row per object. It
  pickles as its name and paths, so worker processes map the same files
  instead of copying them.
  """

  def __init__(self, dataset, split="train", data_dir=None, cache_dir=None):
    built = builds.built_builder(dataset, data_dir)
    builds.check_split(built, split)
    self.dataset, self.split = dataset, split
    self._where = (data_dir, cache_dir)
    self.columns = cache.decoded_columns(built, split, cache_dir)
    self.num_examples = built.info.splits[split].num_examples

  def __getstate__(self):
    in_memory = not any(isinstance(a, np.memmap)
                        for a in self.columns.arrays.values())
    return {**self.__dict__, "columns": self.columns if in_memory else None}

  def __setstate__(self, state):
    self.__dict__.update(state)
    if self.columns is None:
      built = builds.built_builder(self.dataset, self._where[0])
      self.columns = cache.decoded_columns(built, self.split, self._where[1])

  def batch_columns(self, indices):
    indices = np.asarray(indices, np.int64)
    arrays, offsets = self.columns.arrays, self.columns.offsets
    batch = nest({path: array[indices] for path, array in arrays.items()
                  if path not in offsets})
    ragged = {}
    for parent, paths in _by_parent(offsets).items():
      starts = offsets[paths[0]][indices]
      counts = offsets[paths[0]][indices + 1] - starts
      rows = examples.ranges(starts, counts)
      ragged[parent] = ({p.rsplit("/", 1)[1]: arrays[p][rows] for p in paths},
                        counts)
    return batch, ragged


def nest(flat):
  """{'/objects/bbox': v} -> {'objects': {'bbox': v}}."""
  tree = {}
  for path, value in flat.items():
    *parents, leaf = path.strip("/").split("/")
    node = tree
    for parent in parents:
      node = node.setdefault(parent, {})
    node[leaf] = value
  return tree


def _by_parent(offsets):
  """{'objects': ['/objects/bbox', ...]} of the ragged feature paths."""
  parents = {}
  for path in sorted(offsets):
    parents.setdefault(path.strip("/").split("/")[0], []).append(path)
  return parents


class ExampleRows(collections.abc.Sequence):
  """One dict of rows per example of a batch (a mosaic's objects), cut from
  the batch's concatenated rows when first read: a batch whose objects are
  never read does not pay for cutting them, and a worker process sends a
  few arrays instead of one per example and feature."""

  def __init__(self, columns, counts, split):
    self.columns, self.counts, self._split = columns, counts, split
    self._examples = None

  def _cut(self):
    if self._examples is None:
      counts = np.asarray(self.counts).tolist()
      pieces = {leaf: self._split(rows, counts)
                for leaf, rows in self.columns.items()}
      self._examples = [dict(zip(pieces, rows))
                        for rows in zip(*pieces.values())]
    return self._examples

  def __len__(self):
    return len(self.counts)

  def __getitem__(self, k):
    return self._cut()[k]

  def __iter__(self):
    return iter(self._cut())

  def __getstate__(self):
    return {**self.__dict__, "_examples": None}

  def __repr__(self):
    return repr(self._cut())


def numpy_split(rows, counts):
  stops = np.cumsum(counts).tolist()
  return [rows[a:b] for a, b in zip([0, *stops[:-1]], stops)]
