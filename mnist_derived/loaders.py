"""PyTorch and grain loaders of a built split, read from memory-mapped arrays.

The first use of a split decodes it once (PNGs and all) into `.npy` files in
a `decoded/` folder inside the build's own version folder; every later read,
in any process, memory-maps them, and a batch is one fancy index per
feature. The arrays hold exactly what `tfds.load` gives, feature by feature;
a rebuild replaces the version folder and the decoded copy with it, and a
stamp of the record files decodes the split again if they change in place.
Where the build's folder cannot be written (read-only, full), the split is
decoded into memory instead (or give `cache_dir`).

    from mnist_derived import loaders
    batches = loaders.torch_loader("mnist_fg/mnist", "train", batch_size=64,
                                   seed=0)        # dicts of torch tensors
    batches = loaders.grain_dataset("mnist_fg/mnist", "train", batch_size=64,
                                    seed=0)       # dicts of numpy arrays

Neither torch nor grain is imported until asked for, and TensorFlow only to
decode a build made as tfrecord.
"""

import collections.abc
import dataclasses
import errno
import hashlib
import json
import os
import pathlib
import shutil
import tempfile

import numpy as np

from mnist_derived import builds
from mnist_derived import decoding
from mnist_derived.core import errors

# Bump when the layout of the decoded folder changes.
_LAYOUT = 1
_STAMP = "stamp.json"
# A build folder the decoded copy cannot go into: it is decoded into memory.
_UNWRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC)


def _file_name(path):
  """The .npy file of a feature path: '/objects/bbox' -> 'objects.bbox.npy'."""
  return path.strip("/").replace("/", ".") + ".npy"


def _ragged(specs):
  """The feature paths whose first dimension varies per example."""
  return sorted(p for p, (_, shape) in specs.items() if shape[:1] == (None,))


def _build_stamp(built, split):
  """What the decoded copy was made from: the dataset info and the split's
  record files (names, sizes, modification times)."""
  folder = pathlib.Path(built.data_dir)
  records = sorted(p for p in folder.iterdir()
                   if p.name.startswith(f"{built.name}-{split}."))
  text = json.dumps({
      "layout": _LAYOUT,
      "info": hashlib.sha256((folder / "dataset_info.json").read_bytes()
                             ).hexdigest(),
      "records": [(p.name, p.stat().st_size, p.stat().st_mtime_ns)
                  for p in records]})
  return text


@dataclasses.dataclass
class _Columns:
  """Decoded features of a split: {path: array}, ragged ones flattened with
  `offsets[path]` (n + 1,) marking each example's rows."""

  arrays: dict
  offsets: dict


def _decode_png(data, shape):
  import cv2  # pylint: disable=g-import-not-at-top
  image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
  return image.reshape(shape)


class _Writer:
  """Fills one split's arrays, chunk by chunk, into files or memory."""

  def __init__(self, specs, num_examples, folder):
    self.specs, self.folder, self.count = specs, folder, 0
    self.fixed = {}
    for path, (dtype, shape) in specs.items():
      if path in _ragged(specs):
        continue
      shape = (num_examples, *shape)
      self.fixed[path] = (np.lib.format.open_memmap(
          folder / _file_name(path), "w+", dtype, shape)
                          if folder else np.empty(shape, dtype))
    self.rows = {path: [] for path in _ragged(specs)}

  def add(self, example, images):
    for path, value in decoding.leaves(example):
      if path in self.rows:
        self.rows[path].append(value)
      elif path.strip("/") in images:
        self.fixed[path][self.count] = _decode_png(value, self.specs[path][1])
      else:
        self.fixed[path][self.count] = value
    self.count += 1

  def finish(self):
    arrays, offsets = dict(self.fixed), {}
    for path, rows in self.rows.items():
      dtype, shape = self.specs[path]
      counts = np.array([len(r) for r in rows], np.int64)
      offsets[path] = np.concatenate([[0], np.cumsum(counts)])
      empty = np.zeros((0, *shape[1:]), dtype)
      arrays[path] = np.concatenate(
          [np.asarray(r, dtype).reshape(-1, *shape[1:]) for r in rows] or
          [empty])
      if self.folder:
        np.save(self.folder / _file_name(path), arrays[path])
        np.save(self.folder / ("offsets." + _file_name(path)), offsets[path])
    for array in self.fixed.values():
      if isinstance(array, np.memmap):
        array.flush()
    return _Columns(arrays, offsets)


def _decode_split(built, split, specs, folder=None):
  """Every example of a split, decoded, into `folder` (or memory)."""
  images = set(decoding.image_keys(built.info.features))
  writer = _Writer(specs, built.info.splits[split].num_examples, folder)
  with builds.tfds_errors_only():
    for example in decoding.stored_examples(built, split, decode_images=False):
      writer.add(example, images)
  return writer.finish()


def _open_columns(folder, specs):
  # Variable-length features are small (a few rows per example): in memory,
  # they gather faster than mapped.
  ragged = _ragged(specs)
  arrays = {p: np.load(folder / _file_name(p),
                       mmap_mode=None if p in ragged else "r") for p in specs}
  offsets = {p: np.load(folder / ("offsets." + _file_name(p)))
             for p in ragged}
  return _Columns(arrays, offsets)


def _decoded_folder(built, split, cache_dir):
  if cache_dir is None:
    return pathlib.Path(built.data_dir) / "decoded" / split
  return pathlib.Path(cache_dir) / builds.key(built).replace("/", "_") / split


def _decoded_bytes(specs, num_examples):
  """The size of a split's fixed-shape features decoded (ragged ones are a
  few rows per example: a tenth more covers them)."""
  fixed = sum(dtype.itemsize * int(np.prod(shape)) for path, (dtype, shape)
              in specs.items() if path not in _ragged(specs))
  return int(1.1 * fixed * num_examples)


def _is_current(folder, stamp):
  try:
    return (folder / _STAMP).read_text() == stamp
  except OSError:
    return False


def _decode_to_folder(built, split, specs, folder, stamp):
  """Decodes into a hidden sibling, then renames it into place: a reader
  never sees a half-written copy, and of two processes decoding at once the
  first to finish wins."""
  folder.parent.mkdir(parents=True, exist_ok=True)
  # Mapped files fill as they are written: on a full disk that is a SIGBUS,
  # not an OSError, so the room is checked first.
  needed = _decoded_bytes(specs, built.info.splits[split].num_examples)
  if shutil.disk_usage(folder.parent).free < needed:
    raise OSError(errno.ENOSPC, "not enough free space", str(folder.parent))
  partial = pathlib.Path(tempfile.mkdtemp(prefix=f".{split}.", dir=folder.parent))
  try:
    _decode_split(built, split, specs, partial)
    (partial / _STAMP).write_text(stamp)
    if folder.exists() and not _is_current(folder, stamp):
      shutil.rmtree(folder, ignore_errors=True)
    try:
      os.rename(partial, folder)
    except OSError:
      if not _is_current(folder, stamp):
        raise
  finally:
    shutil.rmtree(partial, ignore_errors=True)


def decoded_columns(built, split, cache_dir=None):
  """The split's decoded features: memory-mapped files, made on first use."""
  specs = decoding.feature_specs(built.info.features)
  folder = _decoded_folder(built, split, cache_dir)
  stamp = _build_stamp(built, split)
  if not _is_current(folder, stamp):
    try:
      _decode_to_folder(built, split, specs, folder, stamp)
    except OSError as e:
      if e.errno not in _UNWRITABLE:
        raise
      if cache_dir is not None:
        raise errors.InputFileError(folder, f"cannot be written ({e.strerror})"
                                    ) from None
      return _decode_split(built, split, specs)  # into memory
  return _open_columns(folder, specs)


def _nest(flat):
  """{'/objects/bbox': v} -> {'objects': {'bbox': v}}."""
  tree = {}
  for path, value in flat.items():
    *parents, leaf = path.strip("/").split("/")
    node = tree
    for parent in parents:
      node = node.setdefault(parent, {})
    node[leaf] = value
  return tree


class DecodedSplit:
  """A built split as arrays: `len`, `[i]` (one example), `batch(indices)`.

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
    self.columns = decoded_columns(built, split, cache_dir)
    self.num_examples = built.info.splits[split].num_examples

  def __getstate__(self):
    in_memory = not any(isinstance(a, np.memmap)
                        for a in self.columns.arrays.values())
    return {**self.__dict__, "columns": self.columns if in_memory else None}

  def __setstate__(self, state):
    self.__dict__.update(state)
    if self.columns is None:
      built = builds.built_builder(self.dataset, self._where[0])
      self.columns = decoded_columns(built, self.split, self._where[1])

  def __len__(self):
    return self.num_examples

  def __getitem__(self, index):
    index = int(index)
    flat = {}
    for path, array in self.columns.arrays.items():
      offsets = self.columns.offsets.get(path)
      flat[path] = (np.array(array[index]) if offsets is None else
                    np.array(array[offsets[index]:offsets[index + 1]]))
    return _nest(flat)

  def batch(self, indices):
    """Examples at `indices` as one dict: fixed-shape features stacked on a
    first axis; features that vary in length (a mosaic's `objects`) as a
    sequence with one dict of arrays per example (`ExampleRows`)."""
    batch, ragged = self.batch_columns(indices)
    for parent, (columns, counts) in ragged.items():
      batch[parent] = ExampleRows(columns, counts, _numpy_split)
    return batch

  def batch_columns(self, indices):
    """(fixed features stacked, {parent: ({leaf: rows of every example,
    concatenated}, counts per example)}) of the examples at `indices`."""
    indices = np.asarray(indices, np.int64)
    arrays, offsets = self.columns.arrays, self.columns.offsets
    batch = _nest({path: array[indices] for path, array in arrays.items()
                   if path not in offsets})
    ragged = {}
    for parent, paths in _by_parent(offsets).items():
      rows, counts = _row_indices(offsets[paths[0]], indices)
      ragged[parent] = ({p.rsplit("/", 1)[1]: arrays[p][rows] for p in paths},
                        counts)
    return batch, ragged

  def __repr__(self):
    return f"DecodedSplit({self.dataset!r}, {self.split!r}, {len(self)} examples)"


def _by_parent(offsets):
  """{'objects': ['/objects/bbox', ...]} of the ragged feature paths."""
  parents = {}
  for path in sorted(offsets):
    parents.setdefault(path.strip("/").split("/")[0], []).append(path)
  return parents


def _row_indices(offsets, indices):
  """The rows of examples `indices` in a flattened ragged array, in order,
  and each example's count: one gather instead of a slice per example."""
  starts, counts = offsets[indices], offsets[indices + 1] - offsets[indices]
  first_of_each = np.cumsum(counts) - counts
  rows = np.arange(counts.sum()) + np.repeat(starts - first_of_each, counts)
  return rows, counts


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


def _numpy_split(rows, counts):
  stops = np.cumsum(counts).tolist()
  return [rows[a:b] for a, b in zip([0, *stops[:-1]], stops)]


def _torch_split(rows, counts):
  return rows.split(counts)


def epoch_order(num_examples, seed, epoch, shuffle=True):
  """The example order of one epoch: a permutation seeded by (seed, epoch)."""
  if not shuffle:
    return np.arange(num_examples)
  return np.random.default_rng([seed, epoch]).permutation(num_examples)


class _TorchBatches:
  """A map-style dataset of whole batches for a DataLoader with batch_size
  None: item k of a list of indices is that batch, as torch tensors."""

  def __init__(self, split):
    self.split = split

  def __len__(self):
    return len(self.split)

  def __getitem__(self, indices):
    fixed, ragged = self.split.batch_columns(indices)
    batch = _to_torch(fixed)
    for parent, (columns, counts) in ragged.items():
      batch[parent] = ExampleRows(_to_torch(columns), counts, _torch_split)
    return batch


def _to_torch(tree):
  import torch  # pylint: disable=g-import-not-at-top
  if isinstance(tree, dict):
    return {k: _to_torch(v) for k, v in tree.items()}
  return torch.from_numpy(tree)


def _identity(batch):
  return batch


class _EpochSampler:
  """Batches of indices, a new seeded permutation each epoch."""

  def __init__(self, num_examples, batch_size, shuffle, seed, drop_last):
    self.num_examples, self.batch_size = num_examples, batch_size
    self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
    self.epoch = 0

  def __len__(self):
    if self.drop_last:
      return self.num_examples // self.batch_size
    return -(-self.num_examples // self.batch_size)

  def __iter__(self):
    order = epoch_order(self.num_examples, self.seed, self.epoch, self.shuffle)
    self.epoch += 1
    for k in range(len(self)):
      yield order[k * self.batch_size:(k + 1) * self.batch_size]


def torch_loader(dataset, split="train", batch_size=64, shuffle=True,
                 seed=None, drop_last=False, data_dir=None, num_workers=0,
                 cache_dir=None, **kwargs):
  """A `torch.utils.data.DataLoader` of a split: dicts of torch tensors.

  Every example once per epoch; shuffled per epoch, by a permutation of
  (seed, epoch) when `seed` is given, else a random seed drawn once. A
  batch is read in one piece, so worker processes (`num_workers`) only add
  the cost of sending it; they map the same files. `objects` of mosaics
  come as a list with one dict of tensors per example, the form detection
  models take as targets. Other keyword arguments go to the DataLoader.
  """
  import torch  # pylint: disable=g-import-not-at-top
  if seed is None:
    seed = int(np.random.default_rng().integers(2**31))
  source = DecodedSplit(dataset, split, data_dir, cache_dir)
  sampler = _EpochSampler(len(source), batch_size, shuffle, seed, drop_last)
  if num_workers:
    kwargs.setdefault("multiprocessing_context", "forkserver")
  return torch.utils.data.DataLoader(
      _TorchBatches(source), batch_size=None, sampler=sampler,
      collate_fn=_identity, num_workers=num_workers, **kwargs)


class _GrainBatches:
  """A grain data source whose element k is batch k % b of epoch k // b."""

  def __init__(self, split, batch_size, seed, num_epochs, shuffle,
               drop_remainder):
    self.split, self.batch_size, self.seed = split, batch_size, seed
    self.shuffle, self.num_epochs = shuffle, num_epochs
    n = len(split)
    self.per_epoch = n // batch_size if drop_remainder else -(-n // batch_size)
    self._order = (None, None)

  def __len__(self):
    return self.per_epoch * self.num_epochs

  def __getitem__(self, k):
    epoch, k = divmod(int(k), self.per_epoch)
    if self._order[0] != epoch:
      self._order = (epoch, epoch_order(len(self.split), self.seed, epoch,
                                        self.shuffle))
    order = self._order[1]
    return self.split.batch(order[k * self.batch_size:(k + 1) * self.batch_size])


def grain_dataset(dataset, split="train", batch_size=64, seed=None,
                  num_epochs=1, shuffle=True, drop_remainder=False,
                  data_dir=None, cache_dir=None):
  """A `grain.MapDataset` of batches (dicts of numpy arrays) of a split.

  Each of `num_epochs` epochs visits every example once, in a permutation of
  (seed, epoch). Chain grain's own steps on it (`.map(f)`,
  `.to_iter_dataset(grain.ReadOptions(num_threads=...))`). With
  `batch_size=None` it is a MapDataset of single examples instead, shuffled
  by grain when seeded: slower, for per-example transformations before
  grain's own `.batch()`.
  """
  import grain  # pylint: disable=g-import-not-at-top
  source = DecodedSplit(dataset, split, data_dir, cache_dir)
  if batch_size is None:
    ds = grain.MapDataset.source(source).repeat(num_epochs)
    return ds.shuffle(seed=seed) if shuffle and seed is not None else ds
  if seed is None:
    seed = int(np.random.default_rng().integers(2**31))
  return grain.MapDataset.source(_GrainBatches(
      source, batch_size, seed, num_epochs, shuffle, drop_remainder))
