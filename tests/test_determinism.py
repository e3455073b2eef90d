"""Two builds of the same version and config, in separate processes, write
the same examples in the same order.

Compared by canonical (deterministic) serialization of each record: protobuf
may write an Example's feature map in a different order from one process to
the next, so raw file bytes can differ while every feature's bytes agree.
"""

import pathlib
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

BUILD = """
import sys
import tensorflow_datasets as tfds
import mnist_derived
import tests.builder_testing  # registers mnist_mosaic_tiny
name, data_dir, manual_dir = sys.argv[1:]
builder = tfds.builder(name, data_dir=data_dir)
builder.download_and_prepare(
    download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
print(builder.data_path)
"""


def _build_in_new_process(name, data_dir):
  proc = subprocess.run(
      [sys.executable, "-c", BUILD, name, str(data_dir), str(DUMMY_DATA)],
      capture_output=True, text=True, cwd=REPO, check=True)
  return proc.stdout.strip().splitlines()[-1]


def _canonical_records(path):
  return [tf.train.Example.FromString(r).SerializeToString(deterministic=True)
          for r in tf.data.TFRecordDataset(path).as_numpy_iterator()]


@pytest.mark.parametrize("name", ["mnist_fg/kmnist", "mnist_circles/mnist",
                                  "mnist_mosaic_tiny/2x2"])
def test_builds_in_two_processes_write_the_same_examples(name, tmp_path):
  first = _build_in_new_process(name, tmp_path / "a")
  second = _build_in_new_process(name, tmp_path / "b")
  records = sorted(p.name for p in pathlib.Path(first).iterdir()
                   if ".tfrecord" in p.name)
  assert records
  for record in records:
    assert _canonical_records(f"{first}/{record}") == _canonical_records(
        f"{second}/{record}"), record
