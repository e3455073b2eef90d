"""Tight boxes against a per-mask reference, and the TFDS edge convention."""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np

from mnist_derived import geometry


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.uint8, (3, 5, 6), elements=st.integers(0, 1)))
def test_boxes_are_tight(masks):
  boxes = geometry.tight_boxes(masks)
  for mask, box in zip(masks, boxes):
    rows, cols = np.nonzero(mask)
    if not len(rows):
      assert tuple(box) == (0, 0, -1, -1)
    else:
      assert tuple(box) == (rows.min(), cols.min(), rows.max(), cols.max())


def test_normalized_boxes_follow_pixel_edges():
  boxes = np.array([[0, 0, 27, 27], [2, 3, 2, 3], [0, 0, -1, -1]])
  got = geometry.normalized_boxes(boxes, 28, 28)
  np.testing.assert_allclose(got[0], [0, 0, 1, 1])
  np.testing.assert_allclose(got[1], [2 / 28, 3 / 28, 3 / 28, 4 / 28])
  np.testing.assert_array_equal(got[2], [0, 0, 0, 0])
