"""The decoded copy of a built split: memory-mapped `.npy` files, one per
feature, made on first use inside the build's own version folder.

The arrays hold exactly what `tfds.load` gives, feature by feature; a
rebuild replaces the version folder and the decoded copy with it, and a
stamp of the record files decodes the split again if they change in place.
Where the build's folder cannot be written (read-only, full), the split is
decoded into memory instead (or give `cache_dir`).
"""

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


def ragged_paths(specs):
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
class Columns:
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
      if path in ragged_paths(specs):
        continue
      shape = (num_examples, *shape)
      self.fixed[path] = (np.lib.format.open_memmap(
          folder / _file_name(path), "w+", dtype, shape)
                          if folder else np.empty(shape, dtype))
    self.rows = {path: [] for path in ragged_paths(specs)}

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
    return Columns(arrays, offsets)


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
  ragged = ragged_paths(specs)
  arrays = {p: np.load(folder / _file_name(p),
                       mmap_mode=None if p in ragged else "r") for p in specs}
  offsets = {p: np.load(folder / ("offsets." + _file_name(p)))
             for p in ragged}
  return Columns(arrays, offsets)


def _decoded_folder(built, split, cache_dir):
  if cache_dir is None:
    return pathlib.Path(built.data_dir) / "decoded" / split
  return pathlib.Path(cache_dir) / builds.key(built).replace("/", "_") / split


def _decoded_bytes(specs, num_examples):
  """The size of a split's fixed-shape features decoded (ragged ones are a
  few rows per example: a tenth more covers them)."""
  fixed = sum(dtype.itemsize * int(np.prod(shape)) for path, (dtype, shape)
              in specs.items() if path not in ragged_paths(specs))
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
