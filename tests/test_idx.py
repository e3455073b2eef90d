"""The IDX reader: round trips, real headers, and a clear error per defect."""

import gzip
import pathlib
import struct
import tempfile

from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import numpy as np
import pytest

from mnist_derived.core import idx
from tests import hostile_inputs


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


@pytest.mark.parametrize(
    "case", sorted(set(hostile_inputs.IMAGE_FILE_DEFECTS) - {"unreadable"}))
def test_bad_image_file_names_file_and_problem(tmp_path, case):
  make, message = hostile_inputs.IMAGE_FILE_DEFECTS[case]
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


def _read_any(payload, compress):
  """read_images on a file holding payload: an array or an IdxFormatError."""
  with tempfile.TemporaryDirectory() as folder:
    path = pathlib.Path(folder) / "images.gz"
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    try:
      return idx.read_images(path)
    except idx.IdxFormatError as error:
      assert str(error).startswith(f"{path}: ")
      return error


def _valid_images_file(payload):
  """Whether payload is a well-formed IDX images file, checked by hand."""
  if len(payload) < 16 or payload[:4] != b"\x00\x00\x08\x03":
    return False
  n, rows, cols = struct.unpack(">3I", payload[4:16])
  return n * rows * cols == len(payload) - 16 and n > 0 and rows > 0 and cols > 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.booleans())
@example(idx.encode(np.arange(12, dtype=np.uint8).reshape(1, 3, 4)), True)
@example(idx.encode(np.arange(12, dtype=np.uint8).reshape(1, 3, 4)), False)
def test_any_bytes_give_images_or_a_clear_error(payload, compress):
  result = _read_any(payload, compress)
  # Accepted exactly when well-formed gzip (the file is named .gz), and then
  # read back byte for byte.
  valid = compress and _valid_images_file(payload)
  assert isinstance(result, np.ndarray) == valid
  if isinstance(result, np.ndarray):
    assert idx.encode(result) == payload


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=3, max_size=3),
       st.integers(-3, 3), st.sampled_from([0x803, 0x801, 0x804, 0x903]))
def test_headers_with_any_dims_and_length(dims, extra, magic):
  header = struct.pack(">I", magic) + struct.pack(">3I", *dims)
  payload = header + bytes(max(0, int(np.prod(dims)) + extra))
  result = _read_any(payload, compress=True)
  data_bytes = len(payload) - len(header)
  valid = (magic == 0x803 and data_bytes == dims[0] * dims[1] * dims[2]
           and all(dims))
  if valid:
    assert result.shape == tuple(dims)
  else:
    assert isinstance(result, idx.IdxFormatError)


def test_huge_header_dimensions_do_not_overflow(tmp_path):
  # 2^31 * 2^31 * 4 = 2^64 wrapped to 0 in int64: a plain ValueError escaped.
  path = tmp_path / "images.gz"
  path.write_bytes(gzip.compress(
      struct.pack(">4I", 0x803, 2**31, 2**31, 4) + bytes(8)))
  with pytest.raises(idx.IdxFormatError,
                     match=rf"needs {2**64} bytes, found 8"):
    idx.read_images(path)


def test_uncompressed_files_are_read_unless_named_gz(tmp_path):
  images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
  (tmp_path / "train-images-idx3-ubyte").write_bytes(idx.encode(images))
  np.testing.assert_array_equal(
      idx.read_images(tmp_path / "train-images-idx3-ubyte"), images)
  (tmp_path / "images.gz").write_bytes(idx.encode(images))
  with pytest.raises(idx.IdxFormatError, match="images.gz: not a gzip file"):
    idx.read_images(tmp_path / "images.gz")
