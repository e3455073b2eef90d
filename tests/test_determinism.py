"""Two builds of the same version and config, in separate processes, write
the same examples in the same order.

Compared by canonical (deterministic) serialization of each record: protobuf
may write an Example's feature map in a different order from one process to
the next, so raw file bytes can differ while every feature's bytes agree.
"""

import pathlib

import pytest
import tensorflow as tf

from tests.builder_testing import build_in_new_process

# Builds or trains in subprocesses: minutes, not seconds (pytest -m "not slow" skips).
pytestmark = pytest.mark.slow


def _canonical_records(path):
  return [tf.train.Example.FromString(r).SerializeToString(deterministic=True)
          for r in tf.data.TFRecordDataset(path).as_numpy_iterator()]


@pytest.mark.parametrize("name", ["mnist_fg/kmnist", "mnist_circles/mnist",
                                  "mnist_mosaic_tiny/2x2",
                                  "mnist_mosaic_tiny/scatter_scaled"])
def test_builds_in_two_processes_write_the_same_examples(name, tmp_path):
  first = build_in_new_process(name, tmp_path / "a")
  second = build_in_new_process(name, tmp_path / "b")
  records = sorted(p.name for p in pathlib.Path(first).iterdir()
                   if ".tfrecord" in p.name)
  assert records
  for record in records:
    assert _canonical_records(f"{first}/{record}") == _canonical_records(
        f"{second}/{record}"), record
