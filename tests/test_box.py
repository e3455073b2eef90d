"""Tight boxes against a per-mask reference, the TFDS edge convention, COCO's
form (against OpenCV) and box overlaps (against a pixel count)."""

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


def test_box_overlaps_match_a_pixel_count():
  rng = np.random.default_rng(0)
  corners = rng.integers(0, 12, size=(40, 2, 2))
  boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
  boxes[0] = (5, 5, 4, 4)  # empty
  got = geometry.box_overlaps(boxes, boxes)
  grids = np.zeros((40, 12, 12), bool)
  for k, (r0, c0, r1, c1) in enumerate(boxes):
    grids[k, r0:r1 + 1, c0:c1 + 1] = True
  inter = np.einsum("ahw,bhw->ab", grids.astype(int), grids.astype(int))
  area = grids.sum(axis=(1, 2))
  smaller = np.minimum(area[:, None], area[None, :])
  expected = np.divide(inter, smaller, out=np.zeros(inter.shape),
                       where=smaller > 0)
  np.testing.assert_allclose(got, expected)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.uint8, (4, 7, 9), elements=st.integers(0, 1)))
def test_coco_boxes_and_edge_rectangles_hold_the_mask(masks):
  import cv2  # pylint: disable=g-import-not-at-top
  height, width = masks.shape[1:]
  boxes = geometry.tight_boxes(masks)
  normalized = geometry.normalized_boxes(boxes, height, width)
  for mask, coco, tfds_box in zip(masks, geometry.coco_boxes(boxes),
                                  normalized):
    if mask.any():  # OpenCV's upright rectangle of the same pixels
      assert tuple(coco) == cv2.boundingRect(mask)
      np.testing.assert_allclose(
          geometry.edge_rectangle(tfds_box, height, width), coco, atol=1e-5)
