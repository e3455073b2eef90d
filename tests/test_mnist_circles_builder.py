"""mnist_circles on dummy data, every source config."""

import tensorflow_datasets as tfds

from mnist_derived import MnistCircles
from tests.builder_testing import dummy_split_sizes
from tests.conftest import DUMMY_DATA


class MnistCirclesTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = MnistCircles
  EXAMPLE_DIR = str(DUMMY_DATA)
  SPLITS = dummy_split_sizes()
