"""mnist_mosaic on dummy data: every config, shrunk to a few mosaics."""

import dataclasses

import tensorflow_datasets as tfds

from mnist_derived import MnistMosaic
from mnist_derived import PairConfig
from tests.conftest import DUMMY_DATA

SMALL = {"num_train": 7, "num_validation": 2, "num_test": 3}


class MnistMosaicTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = MnistMosaic
  EXAMPLE_DIR = str(DUMMY_DATA)
  # Every predefined config, with its counts cut so the test takes seconds
  # (and a quarter of the dummy train digits for a pair's validation: its
  # default tenth, two digits, is one class).
  BUILDER_CONFIG_NAMES_TO_TEST = [
      dataclasses.replace(config, name=f"{config.name}_small", **SMALL, **(
          {"validation_fraction": 0.25}
          if isinstance(config, PairConfig) else {}))
      for config in MnistMosaic.BUILDER_CONFIGS
  ]
  SPLITS = {"train": SMALL["num_train"], "validation": SMALL["num_validation"],
            "test": SMALL["num_test"]}
