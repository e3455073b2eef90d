"""Shared fixtures: the repository's dummy data and, where present, real MNIST."""

import os
import pathlib

import numpy as np
import pytest

from mnist_derived.core import idx
from mnist_derived.core import sources

REPO = pathlib.Path(__file__).resolve().parents[1]
DUMMY_DATA = REPO / "dummy_data"
# Real MNIST for the full-data checks: $MNIST_DIR, else the shared copy that
# sits beside a checkout on the project's machines.
REAL_MNIST = pathlib.Path(
    os.environ.get("MNIST_DIR", REPO.parent / "shared" / "data" / "mnist"))


def read_source_folder(folder):
  """{split: (images, labels)} of an MNIST-format folder."""
  return {
      split: idx.read_split(folder / images, folder / labels, 10)
      for split, (images, labels) in sources.SPLIT_FILES.items()
  }


@pytest.fixture(scope="session")
def real_mnist():
  """Real MNIST as {split: (images, labels)}; skips where it is absent."""
  if not (REAL_MNIST / sources.ALL_FILES[0]).exists():
    pytest.skip(f"real MNIST not found at {REAL_MNIST}: set MNIST_DIR to the"
                " folder of its four IDX files to run these checks")
  return read_source_folder(REAL_MNIST)


@pytest.fixture(scope="session")
def real_images(real_mnist):
  """All 70000 real MNIST images, train then test."""
  return np.concatenate([real_mnist["train"][0], real_mnist["test"][0]])


@pytest.fixture(scope="session")
def dummy_mnist():
  return read_source_folder(DUMMY_DATA / "mnist")


# The dummy builds most tests read: fg and circles of the dummy MNIST, and a
# tiny mosaic config (tests.builder_testing.TinyMosaic).
DUMMY_BUILDS = {"fg": "mnist_fg/mnist", "circles": "mnist_circles/mnist",
                "mosaic": "mnist_mosaic_tiny/2x2"}
# A scattered mosaic with scaled digits, built beside them (no training task).
DUMMY_SCATTER = "mnist_mosaic_tiny/scatter_scaled"
# MultiMNIST's shape, for the pairs task.
DUMMY_PAIRS = "mnist_mosaic_tiny/multimnist"
# Scattered digits of one size, for the scatter task.
DUMMY_SCATTER_TASK = "mnist_mosaic_tiny/scatter"


@pytest.fixture(scope="session")
def dummy_data_dir(tmp_path_factory):
  """A TFDS data dir holding DUMMY_BUILDS, built once per session."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import tests.builder_testing  # noqa: F401  (registers the tiny mosaic)
  path = tmp_path_factory.mktemp("tfds")
  config = tfds.download.DownloadConfig(manual_dir=str(DUMMY_DATA))
  for name in [*DUMMY_BUILDS.values(), DUMMY_SCATTER, DUMMY_PAIRS,
               DUMMY_SCATTER_TASK]:
    tfds.builder(name, data_dir=path).download_and_prepare(
        download_config=config)
  return path


def pytest_collection_modifyitems(items):
  # tf.test.TestCase (under tfds.testing.DatasetBuilderTestCase) defines a
  # `test_session` helper that pytest would collect and skip as "Not a test".
  items[:] = [item for item in items if item.name != "test_session"]
