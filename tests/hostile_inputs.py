"""A corpus of broken MNIST-format inputs and the message each must give.

Each defect turns a valid file (or its place) into a broken one; the message
is a regular expression the reader's IdxFormatError must match after the
file's path. Shared by the reader's unit tests and the `tfds build` tests.
"""

import gzip
import struct

import numpy as np

from mnist_derived.core import idx


def images_payload(n=2, rows=3, cols=3, extra=0, missing=0):
  """Uncompressed IDX image bytes, optionally short or long by some bytes."""
  header = struct.pack(">IIII", idx.IMAGES_MAGIC, n, rows, cols)
  return header + bytes(n * rows * cols - missing + extra)


def _write(path, payload, compress=True):
  path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)


def _replace_with_directory(path):
  path.unlink(missing_ok=True)
  path.mkdir()


def _make_unreadable(path):
  if not path.exists():
    _write(path, images_payload())
  path.chmod(0)


# defect -> (how to break an images file, message)
IMAGE_FILE_DEFECTS = {
    "not gzip": (lambda p: _write(p, images_payload(), compress=False),
                 "not a gzip file"),
    "empty file": (lambda p: _write(p, b"", compress=False), "file is empty"),
    "truncated gzip": (
        lambda p: p.write_bytes(gzip.compress(images_payload(n=50))[:-30]),
        "corrupt or truncated gzip"),
    "wrong magic": (
        lambda p: _write(p, struct.pack(">IIII", 0x801, 2, 3, 3) + bytes(18)),
        "wrong magic number 0x00000801, expected 0x00000803"),
    "dims exceed data": (lambda p: _write(p, images_payload(missing=5)),
                         r"truncated data: header \(2, 3, 3\) needs 18 bytes,"
                         " found 13"),
    "trailing bytes": (lambda p: _write(p, images_payload(extra=4)),
                       "4 unexpected trailing bytes"),
    "zero images": (lambda p: _write(p, images_payload(n=0)),
                    "holds 0 images"),
    "short header": (lambda p: _write(p, b"\x00\x00\x08"), "too short"),
    "directory": (_replace_with_directory, "is a directory"),
    "missing": (lambda p: p.unlink(missing_ok=True), "file not found"),
    "unreadable": (_make_unreadable, "cannot be read .Permission denied"),
}


def labels_out_of_range(path):
  """Overwrites a label file's labels with 12: same count, invalid values."""
  count = len(idx.read_labels(path, 10))
  idx.write_gz(path, np.full(count, 12, np.uint8))
  return count


def labels_one_short(path):
  """Drops the last label, so the split's counts disagree."""
  labels = idx.read_labels(path, 10)
  idx.write_gz(path, labels[:-1])
  return len(labels) - 1


def images_of_another_size(path, size=32):
  """Replaces an image file by a valid IDX file of size x size images."""
  count = len(idx.read_images(path))
  idx.write_gz(path, np.zeros((count, size, size), np.uint8))
  return count
