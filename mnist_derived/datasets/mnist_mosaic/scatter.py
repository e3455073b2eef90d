"""Scattered mosaics: digits placed freely on a canvas, overlapping boundedly.

Coordinates: pixel (row i, column j); a digit's `position` is the (row,
column) of the top-left pixel of its placed cell (its 28x28 image, or the
resized image of a scaled config), and the whole cell lies in the canvas.

Every random choice of an example comes from a PCG64 stream keyed by (seed,
split, example index), read as raw 64-bit words: NumPy keeps SeedSequence and
bit-generator streams fixed across versions, unlike its samplers.
"""

import zlib

import cv2
import numpy as np

from mnist_derived import geometry

CELL_SIDE = 28
# Candidate positions tried per batch, and batches before a digit is left
# out (see `place`); with the shipped configs no digit is ever left out.
_CANDIDATES = 64
_MAX_BATCHES = 16


def _crc(text):
  return zlib.crc32(text.encode())


def _stream(*key):
  return np.random.PCG64(np.random.SeedSequence(list(key)))


def uniform_integers(raw, low, high):
  """Maps raw uint64 words to integers in [low, high] (inclusive).

  Multiply-shift on the top 32 bits: exact in integers, so the same on every
  machine; the bias is below 2**-24 for these ranges.
  """
  span = np.uint64(high - low + 1)
  return (low + (((raw >> np.uint64(32)) * span) >> np.uint64(32))).astype(
      np.int64)


def digit_counts(num_examples, min_digits, max_digits, seed, split):
  """Number of digits of each example of a split: int64 (num_examples,).

  Uniform in [min_digits, max_digits]; example i's count is the i-th word of
  a stream keyed by (seed, split), so it depends only on (seed, split, i).
  """
  raw = _stream(seed, _crc("digit counts"), _crc(split)).random_raw(
      num_examples)
  return uniform_integers(np.asarray(raw, np.uint64), min_digits, max_digits)


def digit_sides(count, min_scale, max_scale, rng):
  """Side in pixels of each of `count` placed digits.

  Uniform over the integers in [ceil(28 min_scale), floor(28 max_scale)];
  the digit's scale is side / 28 exactly, so nothing rounds twice.
  """
  low = int(np.ceil(CELL_SIDE * min_scale - 1e-9))
  high = int(np.floor(CELL_SIDE * max_scale + 1e-9))
  if low == high:
    return np.full(count, low, np.int64)
  return uniform_integers(np.asarray(rng.random_raw(count), np.uint64), low,
                          high)


def resize_digit(image, side):
  """A 28x28 uint8 digit resized to side x side.

  OpenCV's INTER_LINEAR_EXACT: bilinear in fixed-point integers, bit-exact on
  every platform (OpenCV's plain INTER_LINEAR may use SIMD paths that round
  differently).
  """
  if side == image.shape[0]:
    return image
  return cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR_EXACT)


def box_overlaps(boxes_a, boxes_b):
  """Overlap of every box of boxes_a with every box of boxes_b: float64 (A, B).

  The overlap of two boxes is their intersection's area over the smaller
  box's area. Boxes are inclusive pixel boxes (row_min, col_min, row_max,
  col_max); an empty box (max < min) overlaps nothing.
  """
  a = np.asarray(boxes_a, np.int64).reshape(-1, 1, 4)
  b = np.asarray(boxes_b, np.int64).reshape(1, -1, 4)
  rows = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1
  cols = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1
  inter = np.maximum(rows, 0) * np.maximum(cols, 0)
  area_a, area_b = _areas(a), _areas(b)
  smaller = np.minimum(area_a, area_b)
  return np.divide(inter, smaller, out=np.zeros(inter.shape),
                   where=smaller > 0)


def _areas(boxes):
  return (np.maximum(boxes[..., 2] - boxes[..., 0] + 1, 0)
          * np.maximum(boxes[..., 3] - boxes[..., 1] + 1, 0))


def place(sides, fg_boxes, canvas, max_overlap, rng):
  """Top-left positions of digits placed one after another.

  Digit k (side sides[k], foreground box fg_boxes[k] within its cell) goes
  to the first of a batch of uniform candidate positions (cell inside the
  canvas) whose foreground box overlaps every placed digit's box by at most
  `max_overlap` of the smaller box's area (see `box_overlaps`). Measuring
  against the smaller box keeps a small digit from hiding inside a large
  one, which IoU would allow. A digit with no candidate in
  `_MAX_BATCHES` batches is left out.

  Returns (positions int64 (n, 2), kept bool (len(sides),)).
  """
  height, width = canvas
  placed_boxes, positions = [], []
  kept = np.zeros(len(sides), bool)
  for k, side in enumerate(sides):
    for _ in range(_MAX_BATCHES):
      raw = np.asarray(rng.random_raw(2 * _CANDIDATES), np.uint64)
      rows = uniform_integers(raw[:_CANDIDATES], 0, height - side)
      cols = uniform_integers(raw[_CANDIDATES:], 0, width - side)
      shifts = np.stack([rows, cols, rows, cols], axis=1)
      candidates = fg_boxes[k] + shifts  # (_CANDIDATES, 4)
      if placed_boxes:
        worst = box_overlaps(placed_boxes, candidates).max(axis=0)
        fits = np.flatnonzero(worst <= max_overlap)
      else:
        fits = np.array([0])
      if fits.size:
        choice = fits[0]
        placed_boxes.append(candidates[choice])
        positions.append((rows[choice], cols[choice]))
        kept[k] = True
        break
  return np.array(positions, np.int64).reshape(-1, 2), kept


def compose(cells, masks, positions, canvas):
  """Draws placed digits on a canvas; returns (image, owners).

  image: each pixel the maximum of the placed cells' pixels there (uint8).
  owners: 0 background, k the k-th digit (1-based, placement order): a pixel
  belongs to a digit whose foreground mask covers it; where several do, to
  the one whose own pixel is brightest there, ties to the one placed later.
  """
  image = np.zeros(canvas, np.uint8)
  owners = np.zeros(canvas, np.uint8)
  brightest = np.full(canvas, -1, np.int16)
  for k, (cell, mask, (row, col)) in enumerate(zip(cells, masks, positions)):
    region = np.s_[row:row + cell.shape[0], col:col + cell.shape[1]]
    np.maximum(image[region], cell, out=image[region])
    wins = mask & (cell >= brightest[region])
    owners[region][wins] = k + 1
    brightest[region][wins] = cell[wins]
  return image, owners


def owned_boxes(owners, count):
  """Inclusive tight box of each of the `count` digits' owned pixels."""
  ids = np.arange(1, count + 1, dtype=np.uint8)
  return geometry.tight_boxes(owners[None] == ids[:, None, None])


def example_stream(seed, split, index):
  """The bit generator of example `index`'s sides and positions."""
  return _stream(seed, _crc("placement"), _crc(split), index)
