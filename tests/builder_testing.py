"""What the DatasetBuilderTestCase tests share: dummy data and its counts."""

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
