"""Boxes of binary masks, vectorised over a batch: tight boxes, their TFDS
and COCO forms, and how much two boxes overlap."""

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


def box_overlaps(boxes_a, boxes_b):
  """Overlap of every box of boxes_a with every box of boxes_b: float64 (A, B).

  The overlap of two boxes is their intersection's area over the smaller
  box's area. Boxes are inclusive pixel boxes (row_min, col_min, row_max,
  col_max); an empty box (max < min) overlaps nothing.
  """
  a = np.asarray(boxes_a, np.int64).reshape(-1, 1, 4)
  b = np.asarray(boxes_b, np.int64).reshape(1, -1, 4)
  return overlaps(a, b)


def overlaps(a, b):
  """`box_overlaps` of boxes a (..., 4) and b (..., 4), broadcast."""
  rows = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1
  cols = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1
  inter = np.maximum(rows, 0) * np.maximum(cols, 0)
  smaller = np.minimum(_areas(a), _areas(b))
  return np.divide(inter, smaller, out=np.zeros(inter.shape),
                   where=smaller > 0)


def _areas(boxes):
  return (np.maximum(boxes[..., 2] - boxes[..., 0] + 1, 0)
          * np.maximum(boxes[..., 3] - boxes[..., 1] + 1, 0))


def coco_boxes(boxes):
  """Inclusive pixel boxes as COCO's (x, y, width, height) along pixel edges,
  int64 (..., 4): the box of a single pixel at (i, j) is (j, i, 1, 1)."""
  boxes = np.asarray(boxes, np.int64)
  return np.stack([boxes[..., 1], boxes[..., 0],
                   boxes[..., 3] + 1 - boxes[..., 1],
                   boxes[..., 2] + 1 - boxes[..., 0]], axis=-1)


def edge_rectangle(box, height, width):
  """A TFDS box (ymin, xmin, ymax, xmax in [0, 1] along pixel edges) as
  (x, y, width, height) in pixels along pixel edges: pixel (i, j) spans
  [j, j + 1] x [i, i + 1]."""
  ymin, xmin, ymax, xmax = (float(v) for v in box)
  return (xmin * width, ymin * height, (xmax - xmin) * width,
          (ymax - ymin) * height)
