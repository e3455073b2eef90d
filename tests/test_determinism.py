"""Two builds of the same version and config write the same bytes."""

import pytest
import tensorflow_datasets as tfds

from tests.conftest import DUMMY_DATA
from tests.test_training import TinyMosaic  # noqa: F401  (registers it)


def _build(name, data_dir):
  config = tfds.download.DownloadConfig(manual_dir=str(DUMMY_DATA))
  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(download_config=config)
  return builder.data_path


@pytest.mark.parametrize("name", ["mnist_fg/kmnist", "mnist_circles/mnist",
                                  "mnist_mosaic_tiny/2x2"])
def test_two_builds_write_identical_records(name, tmp_path):
  first = _build(name, tmp_path / "a")
  second = _build(name, tmp_path / "b")
  records = sorted(p.name for p in first.iterdir() if ".tfrecord" in p.name)
  assert records
  for record in records:
    assert (first / record).read_bytes() == (second / record).read_bytes(), record
