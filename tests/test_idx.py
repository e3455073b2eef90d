"""The IDX reader: round trips, real headers, and a clear error per defect."""

import gzip
import struct

import numpy as np
import pytest

from mnist_derived import idx


def _write(path, payload, compress=True):
  path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
  return path


def test_round_trip(tmp_path):
  images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
  labels = np.array([0, 9, 3], np.uint8)
  idx.write_gz(tmp_path / "i.gz", images)
  idx.write_gz(tmp_path / "l.gz", labels)
  got_images, got_labels = idx.read_split(tmp_path / "i.gz", tmp_path / "l.gz",
                                          10)
  np.testing.assert_array_equal(got_images, images)
  np.testing.assert_array_equal(got_labels, labels)


def test_written_bytes_are_reproducible(tmp_path):
  images = np.ones((2, 3, 3), np.uint8)
  idx.write_gz(tmp_path / "a.gz", images)
  idx.write_gz(tmp_path / "b.gz", images)
  assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_header_is_standard_idx(tmp_path):
  idx.write_gz(tmp_path / "i.gz", np.zeros((7, 28, 28), np.uint8))
  raw = gzip.decompress((tmp_path / "i.gz").read_bytes())
  assert struct.unpack(">IIII", raw[:16]) == (0x803, 7, 28, 28)
  assert len(raw) == 16 + 7 * 28 * 28


def test_dummy_data_headers_match_their_data(dummy_mnist):
  images, labels = dummy_mnist["train"]
  assert images.shape[1:] == (28, 28) and len(images) == len(labels) > 0


def test_real_mnist_counts_come_from_headers(real_mnist):
  assert real_mnist["train"][0].shape == (60000, 28, 28)
  assert real_mnist["test"][0].shape == (10000, 28, 28)
  assert set(np.unique(real_mnist["train"][1])) == set(range(10))


def _images_payload(n=2, rows=3, cols=3, extra=0, missing=0):
  header = struct.pack(">IIII", idx.IMAGES_MAGIC, n, rows, cols)
  return header + bytes(n * rows * cols - missing + extra)


BAD_IMAGE_FILES = {
    "not gzip": (lambda p: _write(p, _images_payload(), compress=False),
                 "not a gzip file"),
    "empty file": (lambda p: _write(p, b"", compress=False), "file is empty"),
    "truncated gzip": (
        lambda p: p.write_bytes(gzip.compress(_images_payload(n=50))[:-30]),
        "corrupt or truncated gzip"),
    "wrong magic": (
        lambda p: _write(p, struct.pack(">IIII", 0x801, 2, 3, 3) + bytes(18)),
        "wrong magic number 0x00000801, expected 0x00000803"),
    "truncated data": (lambda p: _write(p, _images_payload(missing=5)),
                       "truncated data"),
    "trailing bytes": (lambda p: _write(p, _images_payload(extra=4)),
                       "4 unexpected trailing bytes"),
    "zero images": (lambda p: _write(p, _images_payload(n=0)),
                    "holds 0 images"),
    "short header": (lambda p: _write(p, b"\x00\x00\x08"), "too short"),
    "directory": (lambda p: p.mkdir(), "is a directory"),
    "missing": (lambda p: None, "file not found"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGE_FILES))
def test_bad_image_file_names_file_and_problem(tmp_path, case):
  make, message = BAD_IMAGE_FILES[case]
  path = tmp_path / "train-images-idx3-ubyte.gz"
  make(path)
  with pytest.raises(idx.IdxFormatError, match=message) as error:
    idx.read_images(path)
  assert str(path) in str(error.value)


def test_label_out_of_range(tmp_path):
  path = tmp_path / "labels.gz"
  idx.write_gz(path, np.array([1, 2, 12, 3], np.uint8))
  with pytest.raises(idx.IdxFormatError,
                     match=r"1 labels out of range \[0, 10\), first at index 2"
                     r" with value 12"):
    idx.read_labels(path, 10)


def test_count_mismatch_names_both_files(tmp_path):
  idx.write_gz(tmp_path / "i.gz", np.zeros((3, 2, 2), np.uint8))
  idx.write_gz(tmp_path / "l.gz", np.zeros(4, np.uint8))
  with pytest.raises(idx.IdxFormatError,
                     match="holds 4 labels but .*i.gz holds 3 images"):
    idx.read_split(tmp_path / "i.gz", tmp_path / "l.gz", 10)


def test_unreadable_file(tmp_path, monkeypatch):
  path = tmp_path / "i.gz"
  idx.write_gz(path, np.zeros((1, 2, 2), np.uint8))
  # CI runs as root, which reads any file: deny the read the way the OS would.
  def deny(self):
    raise PermissionError(13, "Permission denied")
  monkeypatch.setattr(type(idx.epath.Path(path)), "read_bytes", deny)
  with pytest.raises(idx.IdxFormatError,
                     match="i.gz: cannot be read .Permission denied"):
    idx.read_images(path)
