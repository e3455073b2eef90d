"""Predictions files: what `mnist-derived score` accepts, checked before scoring.

A predictions file is an .npz holding an int array `index` (every example of
the split exactly once, in any order; an example's `index` feature) and the
arrays its dataset asks for, first axis aligned with `index`:

* mnist_fg: `mask` (N, H, W): bool or 0/1 integers, or float probabilities
  in [0, 1] (foreground where >= 0.5);
* mnist_circles: `label` (N,) int; `circle` (N, 3) float (cx, cy, r) in
  pixels, pixel (row i, column j) centered at (x=j, y=i), r >= 0;
* mnist_mosaic: `mask` (N, H, W) int class ids (0 background, d + 1 digit
  d), `instances` (N, H, W) int object ids (0 background, any positive id
  an object, unique within its image), or both: `mask` is scored by IoU,
  `instances` by PQ, FG-ARI, mBO and count (`instances`), its objects
  classed by `mask` where given; and for configs of a fixed number K of
  digits (grids, `multimnist`), `labels` (N, K) int classes in any order,
  scored by exact (all K right) and per-digit accuracy.

Every check raises PredictionsError naming the file and the problem.
"""

import zipfile

import numpy as np

from mnist_derived.core import errors


class PredictionsError(errors.InputFileError):
  """A predictions file that cannot be scored as it is."""


# Every .npz is a zip archive; numpy reads anything else as a pickle, which
# it refuses with advice about allow_pickle that does not apply here.
_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


def _first_bytes(path):
  with open(path, "rb") as f:
    return f.read(6)


def load_npz(path):
  """{name: array} of an .npz file, without unpickling anything."""
  try:
    head = _first_bytes(path)
  except FileNotFoundError:
    raise PredictionsError(path, "file not found") from None
  except IsADirectoryError:
    raise PredictionsError(path, "is a directory, expected an .npz file") from None
  except OSError as e:
    raise PredictionsError(path, f"cannot be read ({e.strerror})") from None
  if head.startswith(_NPY_MAGIC):
    raise PredictionsError(path, "not an .npz file (a single .npy array):"
                           " save with numpy.savez(path, index=..., ...)")
  if not head.startswith(_ZIP_MAGIC):
    raise PredictionsError(path, "not an .npz file (it does not start as a"
                           " zip archive): save with numpy.savez(path,"
                           " index=..., ...)")
  try:
    loaded = np.load(path, allow_pickle=False)
  except FileNotFoundError:
    raise PredictionsError(path, "file not found") from None
  except IsADirectoryError:
    raise PredictionsError(path, "is a directory, expected an .npz file") from None
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise PredictionsError(path, f"not an .npz file ({e})") from None
  if not isinstance(loaded, np.lib.npyio.NpzFile):
    raise PredictionsError(path, "not an .npz file (a single .npy array)")
  with loaded:
    arrays = {}
    for name in loaded.files:
      try:
        arrays[name] = loaded[name]
      except ValueError:
        raise PredictionsError(
            path, f"array '{name}' holds Python objects; save numbers") from None
      except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise PredictionsError(path, f"array '{name}' is corrupt ({e})") from None
  return arrays


def _kind(array):
  return array.dtype.kind  # b bool, i/u integer, f float


def check_names(path, arrays, expected, optional=()):
  """The file holds every name of `expected`, any of `optional`, no other."""
  missing = [n for n in expected if n not in arrays]
  extra = sorted(set(arrays) - set(expected) - set(optional))
  wanted = ", ".join(expected)
  if optional:
    wanted += f"; any of {', '.join(optional)}"
  if missing:
    raise PredictionsError(path, f"missing array '{missing[0]}' (expected"
                           f" exactly: {wanted})")
  if extra:
    raise PredictionsError(path, f"unexpected array '{extra[0]}' (expected"
                           f" exactly: {wanted})")


def refuse_values(path, name, array, bad, what):
  """Refuses `array` where `bad` holds: '<name> holds N <what>, first v'."""
  if bad.any():
    raise PredictionsError(path, f"'{name}' holds {int(bad.sum())} {what},"
                           f" first {array[bad][0]}")


def check_index(path, index, num_examples, split, complete=True):
  """Returns the order that sorts predictions by index; index must be a
  permutation of range(num_examples) (with complete=False, of a part of
  it)."""
  if _kind(index) not in "iu" or index.ndim != 1:
    raise PredictionsError(path, f"'index' must be a 1-D integer array, got"
                           f" {index.dtype} {index.shape}")
  refuse_values(path, "index", index, (index < 0) | (index >= num_examples),
                f"unknown indices (the {split} split has"
                f" 0..{num_examples - 1})")
  counts = np.bincount(index, minlength=num_examples)
  if (counts > 1).any():
    first = int(np.argmax(counts > 1))
    raise PredictionsError(
        path, f"'index' holds {int((counts > 1).sum())} duplicate indices,"
        f" first {first} ({counts[first]} times)")
  if complete and (counts == 0).any():
    raise PredictionsError(
        path, f"'index' lacks {int((counts == 0).sum())} of the {num_examples}"
        f" examples of the {split} split, first {int(np.argmax(counts == 0))}")
  return np.argsort(index, kind="stable")


def check_shape(path, name, array, shape):
  if array.shape != tuple(shape):
    want = "(" + ", ".join(str(s) for s in shape) + ")"
    raise PredictionsError(path, f"'{name}' has shape {array.shape}, expected"
                           f" {want}")


def image_array(path, name, array, shape):
  """An (N, H, W) array of per-pixel values from (N, H, W), the dataset's
  own (N, H, W, 1), or PyTorch's (N, 1, H, W)."""
  n, height, width = shape
  if array.shape in ((n, height, width, 1), (n, 1, height, width)):
    return array.reshape(n, height, width)
  if array.shape != (n, height, width):
    raise PredictionsError(
        path, f"'{name}' has shape {array.shape}, expected ({n}, {height},"
        f" {width}), or ({n}, {height}, {width}, 1) or ({n}, 1, {height},"
        f" {width}) (one value per pixel)")
  return array


def check_finite(path, name, array):
  bad = ~np.isfinite(array)
  if bad.any():
    raise PredictionsError(path, f"'{name}' holds {int(bad.sum())} NaN or"
                           " infinite values")


def check_class_ids(path, name, array, num_classes):
  """Integer class ids in [0, num_classes)."""
  if _kind(array) not in "iu":
    raise PredictionsError(path, f"'{name}' must hold integer class ids, got"
                           f" {array.dtype}")
  refuse_values(path, name, array, (array < 0) | (array >= num_classes),
                f"class ids outside [0, {num_classes})")


def instance_ids(path, name, array):
  """Integer object ids, 0 = background, any positive id an object."""
  if _kind(array) not in "iu":
    raise PredictionsError(path, f"'{name}' must hold integer object ids (0 ="
                           f" background), got {array.dtype}")
  refuse_values(path, name, array, array < 0, "negative ids")
  return array.astype(np.int64)


def binary_mask(path, name, array):
  """A bool mask from bool, 0/1 integers or probabilities in [0, 1]."""
  kind = _kind(array)
  if kind == "b":
    return array
  if kind in "iu":
    refuse_values(path, name, array, (array != 0) & (array != 1),
                  "values other than 0 and 1")
    return array == 1
  if kind == "f":
    check_finite(path, name, array)
    refuse_values(path, name, array, (array < 0) | (array > 1),
                  "probabilities outside [0, 1]")
    return array >= 0.5
  raise PredictionsError(path, f"'{name}' must be bool, 0/1 integers or float"
                         f" probabilities, got {array.dtype}")


def circles(path, name, array, num_examples):
  """(N, 3) float circles (cx, cy, r), finite, r >= 0, as float64."""
  check_shape(path, name, array, (num_examples, 3))
  if _kind(array) not in "fiu":
    raise PredictionsError(path, f"'{name}' must be float, got {array.dtype}")
  check_finite(path, name, array)
  negative = array[:, 2] < 0
  if negative.any():
    raise PredictionsError(
        path, f"'{name}' holds {int(negative.sum())} negative radii, first at"
        f" row {int(np.argmax(negative))}")
  return array.astype(np.float64)
