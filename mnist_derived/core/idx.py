"""Reader and writer for IDX files, the format of MNIST, gzipped or not.

An IDX file is a big-endian header followed by raw data:

    bytes 0-1   zero
    byte  2     element type (0x08 = unsigned byte, the only type used here)
    byte  3     number of dimensions D
    4*D bytes   the size of each dimension, uint32 big-endian
    the data    prod(sizes) elements, row-major

MNIST images are 0x00000803 (N x rows x cols) and labels 0x00000801 (N).
Every count comes from the header; nothing about MNIST is assumed. A file
whose name ends in `.gz` must be gzip; any other name is read as gzip when it
starts with gzip's magic bytes, else as uncompressed IDX (as many mirrors
ship it). Any deviation raises :class:`IdxFormatError` naming the file and
the problem.
"""

import gzip
import math
import os
import struct
import zlib

from etils import epath
import numpy as np

from mnist_derived.core import errors

UBYTE_TYPE_CODE = 0x08
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
_GZIP_MAGIC = b"\x1f\x8b"


class IdxFormatError(errors.InputFileError):
  """An MNIST-format input file is missing, unreadable or malformed."""


def _read_decompressed(path):
  """Returns the IDX bytes of a file, gunzipped if it is gzip."""
  file = epath.Path(path)
  if not file.exists():
    raise IdxFormatError(path, "file not found")
  if file.is_dir():
    raise IdxFormatError(path, "is a directory, expected a gzip file")
  try:
    raw = file.read_bytes()
  except OSError as e:
    raise IdxFormatError(path, f"cannot be read ({e.strerror or e})") from e
  if not raw:
    raise IdxFormatError(path, "file is empty")
  if raw[:2] != _GZIP_MAGIC:
    if os.fspath(path).endswith(".gz"):
      raise IdxFormatError(path, "not a gzip file (bad gzip magic bytes)")
    return raw  # uncompressed IDX; the header check follows
  try:
    return gzip.decompress(raw)
  except (EOFError, gzip.BadGzipFile, zlib.error) as e:
    raise IdxFormatError(
        path, f"corrupt or truncated gzip data ({e})") from e


def _parse(path, data, expected_magic):
  """Splits decompressed IDX bytes into header dimensions and a uint8 array."""
  if len(data) < 4:
    raise IdxFormatError(path, f"too short for an IDX header ({len(data)} bytes)")
  magic = struct.unpack(">I", data[:4])[0]
  if magic != expected_magic:
    raise IdxFormatError(
        path, f"wrong magic number 0x{magic:08x}, expected 0x{expected_magic:08x}"
    )
  ndim = magic & 0xFF
  header_size = 4 + 4 * ndim
  if len(data) < header_size:
    raise IdxFormatError(path, "truncated IDX header")
  dims = struct.unpack(f">{ndim}I", data[4:header_size])
  expected = math.prod(dims)  # Python ints: no overflow for any header
  actual = len(data) - header_size
  if actual < expected:
    raise IdxFormatError(
        path,
        f"truncated data: header {dims} needs {expected} bytes, found {actual}",
    )
  if actual > expected:
    raise IdxFormatError(
        path,
        f"{actual - expected} unexpected trailing bytes after the {expected}"
        f" data bytes of header {dims}",
    )
  return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims)


def read_images(path):
  """Reads an IDX image file into a uint8 array of shape (N, rows, cols)."""
  images = _parse(path, _read_decompressed(path), IMAGES_MAGIC)
  if images.shape[0] == 0:
    raise IdxFormatError(path, "holds 0 images")
  if images.shape[1] == 0 or images.shape[2] == 0:
    raise IdxFormatError(path, f"image size {images.shape[1:]} is empty")
  return images


def read_labels(path, num_classes):
  """Reads an IDX label file into a uint8 array of shape (N,).

  Raises IdxFormatError if any label is not in [0, num_classes).
  """
  labels = _parse(path, _read_decompressed(path), LABELS_MAGIC)
  if labels.size == 0:
    raise IdxFormatError(path, "holds 0 labels")
  bad = np.flatnonzero(labels >= num_classes)
  if bad.size:
    raise IdxFormatError(
        path,
        f"{bad.size} labels out of range [0, {num_classes}), first at index"
        f" {bad[0]} with value {labels[bad[0]]}",
    )
  return labels


def read_split(images_path, labels_path, num_classes):
  """Reads one split's image and label files and checks they agree in count."""
  images = read_images(images_path)
  labels = read_labels(labels_path, num_classes)
  if len(images) != len(labels):
    raise IdxFormatError(
        labels_path,
        f"holds {len(labels)} labels but {os.fspath(images_path)} holds"
        f" {len(images)} images",
    )
  return images, labels


def encode(array):
  """Returns the uncompressed IDX bytes of a uint8 array (header + data)."""
  array = np.ascontiguousarray(array, dtype=np.uint8)
  header = struct.pack(">HBB", 0, UBYTE_TYPE_CODE, array.ndim)
  header += struct.pack(f">{array.ndim}I", *array.shape)
  return header + array.tobytes()


def write_gz(path, array):
  """Writes a uint8 array as a gzip IDX file with reproducible bytes (mtime 0)."""
  data = gzip.compress(encode(array), mtime=0)
  epath.Path(path).write_bytes(data)
