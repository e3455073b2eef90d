"""mnist_fg on dummy data, every source config."""

import tensorflow_datasets as tfds

from mnist_derived import MnistFg
from tests.builder_testing import dummy_split_sizes
from tests.conftest import DUMMY_DATA


class MnistFgTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = MnistFg
  EXAMPLE_DIR = str(DUMMY_DATA)
  SPLITS = dummy_split_sizes()
