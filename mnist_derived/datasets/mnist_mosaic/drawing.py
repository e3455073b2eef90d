"""Drawing placed digits on a canvas, as every free layout (the scattered
configs, MultiMNIST) does: the image, the owner of each pixel, the class
mask and the boxes of the pixels each digit owns."""

import numpy as np

from mnist_derived import geometry
from mnist_derived.core import sources

# The side of a source digit (MNIST-format images are square).
CELL_SIDE = sources.IMAGE_SHAPE[0]


def cells_at(cells, positions, counts, k):
  """Yields (group, index) per side of the examples' k-th digits: group
  the examples (int array), index the (example, row, column) index arrays
  of their cells on the canvas, shaped (len(group), side, side)."""
  by_side = {}
  for e in np.flatnonzero(counts > k):
    by_side.setdefault(cells[e][k].shape[0], []).append(e)
  for side, group in by_side.items():
    group = np.array(group)
    rows = positions[group, k, 0][:, None, None] + np.arange(side)[None, :, None]
    cols = positions[group, k, 1][:, None, None] + np.arange(side)[None, None, :]
    yield group, (group[:, None, None], rows, cols)


def compose(cells, masks, labels, positions, canvas):
  """Draws placed digits on canvases; returns (images, owners, classes),
  each (E, H, W) uint8.

  cells, masks, labels: per example, a list of its placed digits' cells,
  masks and labels, in placement order; positions (E, D, 2).
  images: each pixel the maximum of the placed cells' pixels there.
  owners: 0 background, k the k-th digit (1-based, placement order): a pixel
  belongs to a digit whose foreground mask covers it; where several do, to
  the one whose own pixel is brightest there, ties to the one placed later.
  classes: 0 background, d + 1 where a digit of class d owns the pixel.
  Each digit is drawn on views of its own cell: a few small numpy calls.
  """
  shape = (len(cells),) + tuple(canvas)
  images = np.zeros(shape, np.uint8)
  owners = np.zeros(shape, np.uint8)
  classes = np.zeros(shape, np.uint8)
  brightest = np.zeros(shape, np.uint8)
  for e, (row_cells, row_masks, row_labels, row_positions) in enumerate(
      zip(cells, masks, labels, np.asarray(positions).tolist())):
    for k, (cell, mask, label, (row, col)) in enumerate(
        zip(row_cells, row_masks, row_labels, row_positions)):
      at = (e, slice(row, row + cell.shape[0]), slice(col, col + cell.shape[1]))
      np.maximum(images[at], cell, out=images[at])
      # >=: ties go to the later digit; an unowned pixel has brightest 0.
      wins = mask & (cell >= brightest[at])
      owners[at][wins] = k + 1
      classes[at][wins] = label + 1
      brightest[at][wins] = cell[wins]
  return images, owners, classes


def owned_boxes(owners, cells, positions, counts):
  """Inclusive tight box of the pixels each digit owns: (E, D, 4).

  A digit owns pixels only inside its own cell, so each box is found in the
  cell's crop of `owners` and moved to the canvas; a digit owning none gets
  an empty box (max < min). Rows past an example's count are empty too.
  """
  depth = max(int(counts.max(initial=0)), 1)
  boxes = np.tile(np.array([0, 0, -1, -1], np.int64), (len(counts), depth, 1))
  for k in range(depth):
    for group, at in cells_at(cells, positions, counts, k):
      inside = geometry.tight_boxes(owners[at] == k + 1)
      # An empty box stays empty (max < min) when moved.
      boxes[group, k] = inside + np.tile(positions[group, k], 2)
  return boxes
