"""An independent check of scattered mosaics, from the source images alone.

Recomputes an example's image, class mask, instance mask and boxes from its
objects' source indices, positions and scales with other tools than the
builder's (skimage's Otsu threshold, OpenCV's resize and boundingRect, whole
canvas layers instead of the builder's sequential drawing), and checks the
config's placement rules.
"""

import types
import zlib

import cv2
import numpy as np
from skimage.filters import threshold_otsu


def otsu_mask(cell):
  """TSS foreground: skimage's Otsu level s, foreground x > s; a constant
  cell has none."""
  if cell.min() == cell.max():
    return np.zeros(cell.shape, bool)
  return cell > threshold_otsu(cell)


def _box(mask):
  """Inclusive (row_min, col_min, row_max, col_max) by OpenCV, or None."""
  if not mask.any():
    return None
  x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
  return (y, x, y + h - 1, x + w - 1)


def _pairwise_overlap(a, b):
  """Pixels in both boxes over the smaller box's pixels, counted on a grid."""
  if a is None or b is None:
    return 0.0
  size = max(a[2], b[2], a[3], b[3]) + 1
  grid_a = np.zeros((size, size), bool)
  grid_b = np.zeros((size, size), bool)
  grid_a[a[0]:a[2] + 1, a[1]:a[3] + 1] = True
  grid_b[b[0]:b[2] + 1, b[1]:b[3] + 1] = True
  return (grid_a & grid_b).sum() / min(grid_a.sum(), grid_b.sum())


def check_scatter_example(ex, images, labels, config):
  """Asserts every rule of a decoded scatter example (see the dataset card)."""
  height, width = config.canvas
  objects = ex["objects"]
  n = len(objects["label"])
  assert ex["num_digits"] == n
  assert config.min_digits <= n <= config.max_digits
  np.testing.assert_array_equal(objects["label"], labels[objects["index"]])
  layers = np.zeros((n, height, width), np.int16)
  covers = np.zeros((n, height, width), bool)
  fg_boxes = []
  low = int(np.ceil(28 * config.min_scale - 1e-9))
  high = int(np.floor(28 * config.max_scale + 1e-9))
  for k in range(n):
    side = int(round(float(objects["scale"][k]) * 28))
    assert objects["scale"][k] == np.float32(side / 28)
    assert low <= side <= high
    row, col = (int(v) for v in objects["position"][k])
    assert 0 <= row <= height - side and 0 <= col <= width - side
    source = images[objects["index"][k]]
    cell = source if side == 28 else cv2.resize(
        source, (side, side), interpolation=cv2.INTER_LINEAR_EXACT)
    mask = otsu_mask(cell)
    layers[k, row:row + side, col:col + side] = cell
    covers[k, row:row + side, col:col + side] = mask
    box = _box(mask)
    fg_boxes.append(None if box is None else
                    (box[0] + row, box[1] + col, box[2] + row, box[3] + col))
  for a in range(n):
    for b in range(a):
      assert _pairwise_overlap(fg_boxes[a], fg_boxes[b]) <= config.max_overlap
  image = layers.max(axis=0) if n else np.zeros((height, width), np.int16)
  np.testing.assert_array_equal(ex["image"][..., 0], image)
  # Owner: among covering digits the brightest there, ties to the later.
  bids = np.where(covers, layers, -1)[::-1]
  owner = np.where(covers.any(axis=0), n - np.argmax(bids, axis=0), 0) if n \
      else np.zeros((height, width), int)
  np.testing.assert_array_equal(ex["instances"][..., 0], owner)
  classes = np.concatenate([[0], labels[objects["index"]] + 1])
  np.testing.assert_array_equal(ex["mask"][..., 0], classes[owner])
  for k in range(n):
    box = _box(owner == k + 1)
    expected = np.zeros(4) if box is None else np.array(
        [box[0], box[1], box[2] + 1, box[3] + 1]) / np.tile([height, width], 2)
    np.testing.assert_allclose(objects["bbox"][k], expected, atol=1e-6)


def _uniform(word, count):
  """Multiply-shift of a raw word's top 32 bits onto range(count)."""
  return ((int(word) >> 32) * count) >> 32


def expected_pair(seed, split, index, first, pool, labels, canvas):
  """(partner, [(row, col), (row, col)]) of a pair example, by the card's
  rule, in Python integers."""
  bits = np.random.PCG64(np.random.SeedSequence(
      [seed, zlib.crc32(b"pairs"), zlib.crc32(split.encode()), index]))
  words = [int(w) for w in bits.random_raw(12)]
  positions = [(_uniform(words[0], canvas[0] - 27),
                _uniform(words[1], canvas[1] - 27)),
               (_uniform(words[2], canvas[0] - 27),
                _uniform(words[3], canvas[1] - 27))]
  candidates = words[4:]
  while True:
    for word in candidates:
      partner = int(pool[_uniform(word, len(pool))])
      if labels[partner] != labels[first]:
        return partner, positions
    candidates = [int(w) for w in bits.random_raw(8)]


def check_pair_example(ex, images, labels, config, split, pool):
  """Asserts every rule of a decoded multimnist example (see the card)."""
  rules = types.SimpleNamespace(canvas=config.canvas, min_digits=2,
                                max_digits=2, min_scale=1.0, max_scale=1.0,
                                max_overlap=1.0)
  check_scatter_example(ex, images, labels, rules)
  first, second = (int(i) for i in ex["objects"]["index"])
  assert labels[first] != labels[second]
  partner, positions = expected_pair(config.seed, split, int(ex["index"]),
                                     first, pool, labels, config.canvas)
  assert second == partner
  np.testing.assert_array_equal(ex["objects"]["position"], positions)
  return first
