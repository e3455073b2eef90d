"""What builder tests share: dummy data, its counts, a tiny mosaic builder."""

import dataclasses

from mnist_derived import MnistMosaic
from mnist_derived import idx
from mnist_derived import sources
from tests.conftest import DUMMY_DATA


def dummy_split_sizes(source=sources.DEFAULT_SOURCE):
  """{split: count} read from the dummy files' IDX headers, not hard-coded."""
  folder = DUMMY_DATA / source
  return {
      split: len(idx.read_labels(folder / labels, 10))
      for split, (_, labels) in sources.SPLIT_FILES.items()
  }


class TinyMosaic(MnistMosaic):
  """mnist_mosaic's 2x2 config with a few dozen mosaics, for fast tests."""

  name = "mnist_mosaic_tiny"
  BUILDER_CONFIGS = [
      dataclasses.replace(MnistMosaic.builder_configs["2x2"], num_train=40,
                          num_test=12)
  ]
