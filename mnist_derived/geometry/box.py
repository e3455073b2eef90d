"""Tight bounding boxes of binary masks, vectorised over a batch."""

import numpy as np


def tight_boxes(masks):
  """Returns the tight box of each mask's foreground, int64 (N, 4).

  Convention: (row_min, col_min, row_max, col_max), all inclusive pixel
  indices, so the box of a single pixel at (i, j) is (i, j, i, j). An empty
  mask gets (0, 0, -1, -1): a box of no pixels.
  """
  masks = (np.asarray(masks) != 0).view(np.uint8)
  # Pixel counts per row and column: einsum's summing loop is several times
  # faster than numpy's reduction over a short last axis.
  rows = np.einsum("nhw->nh", masks, dtype=np.int64) > 0
  cols = np.einsum("nhw->nw", masks, dtype=np.int64) > 0
  h, w = masks.shape[1:]
  boxes = np.stack([
      np.argmax(rows, axis=1),
      np.argmax(cols, axis=1),
      h - 1 - np.argmax(rows[:, ::-1], axis=1),
      w - 1 - np.argmax(cols[:, ::-1], axis=1),
  ], axis=1).astype(np.int64)
  boxes[~rows.any(axis=1)] = (0, 0, -1, -1)
  return boxes


def normalized_boxes(boxes, height, width):
  """Converts inclusive pixel boxes to TFDS BBox form, float32 (N, 4).

  TFDS boxes are (ymin, xmin, ymax, xmax) in [0, 1] along pixel edges: the box
  of rows i..k spans [i / height, (k + 1) / height]. An empty box (max < min)
  becomes all zeros.
  """
  boxes = np.asarray(boxes, dtype=np.float64)
  scale = np.array([height, width, height, width], dtype=np.float64)
  edges = (boxes + np.array([0, 0, 1, 1])) / scale
  empty = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
  edges[empty] = 0
  return edges.astype(np.float32)
