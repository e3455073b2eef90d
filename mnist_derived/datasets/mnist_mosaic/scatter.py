"""Scattered mosaics: digits placed freely on a canvas, overlapping boundedly.

Coordinates: pixel (row i, column j); a digit's `position` is the (row,
column) of the top-left pixel of its placed cell (its 28x28 image, or the
resized image of a scaled config), and the whole cell lies in the canvas.

Every random choice of an example comes from a PCG64 stream keyed by (seed,
split, example index), read as raw 64-bit words: NumPy keeps SeedSequence and
bit-generator streams fixed across versions, unlike its samplers.
"""

import functools

import cv2
import numpy as np

from mnist_derived import geometry
from mnist_derived.core import examples as examples_lib
from mnist_derived.datasets.mnist_mosaic import drawing
from mnist_derived.datasets.mnist_mosaic import records
from mnist_derived.datasets.mnist_mosaic import streams

CELL_SIDE = drawing.CELL_SIDE
# Candidate positions tried per batch, and batches before a digit is left
# out (see `place`): none in the MNIST builds of `scatter` and
# `scatter_m2nist`, 0.13% of the digits of `scatter_scaled`.
CANDIDATES = 64
_MAX_BATCHES = 16
# Examples' digit counts are summed a block at a time, so that the draw
# position of any example, however far, is a few block sums away.
_COUNT_BLOCK = 1 << 16


def _count_stream(seed, split):
  return streams.stream(seed, streams.crc("digit counts"), streams.crc(split))


def digit_counts(num_examples, min_digits, max_digits, seed, split, first=0):
  """Number of digits of examples [first, first + num_examples) of a split.

  Uniform in [min_digits, max_digits]; example i's count is the i-th word of
  a stream keyed by (seed, split), so it depends only on (seed, split, i).
  """
  rng = _count_stream(seed, split)
  rng.advance(first)
  raw = np.asarray(rng.random_raw(num_examples), np.uint64)
  return streams.uniform_integers(raw, min_digits, max_digits)


@functools.lru_cache(maxsize=16)
def _block_counts(min_digits, max_digits, seed, split, block):
  counts = digit_counts(_COUNT_BLOCK, min_digits, max_digits, seed, split,
                        first=block * _COUNT_BLOCK)
  counts.flags.writeable = False
  return counts


# {(min_digits, max_digits, seed, split): [0, digits of block 0, of blocks
# 0-1, ...]}, grown as far as an example asked for needs.
_BLOCK_TOTALS = {}


def _digits_before_block(key, block):
  totals = _BLOCK_TOTALS.setdefault(key, [0])
  while len(totals) <= block:
    totals.append(totals[-1] + int(_block_counts(*key, len(totals) - 1).sum()))
  return totals[block]


def digit_ranges(config, split, examples):
  """(first, count): draw-stream position of the first digit of each of
  `examples` (int64) and its number of digits, each int64 (E,)."""
  key = (config.min_digits, config.max_digits, config.seed, split)
  first = np.empty(len(examples), np.int64)
  counts = np.empty(len(examples), np.int64)
  blocks, within = np.divmod(examples, _COUNT_BLOCK)
  for block in np.unique(blocks):
    here = blocks == block
    block_counts = _block_counts(*key, int(block))
    before = np.cumsum(block_counts) - block_counts
    first[here] = _digits_before_block(key, int(block)) + before[within[here]]
    counts[here] = block_counts[within[here]]
  return first, counts


def side_range(min_scale, max_scale):
  """(low, high): placed digits' sides are the integers in [ceil(28
  min_scale), floor(28 max_scale)]; the digit's scale is side / 28 exactly,
  so nothing rounds twice."""
  return (int(np.ceil(CELL_SIDE * min_scale - 1e-9)),
          int(np.floor(CELL_SIDE * max_scale + 1e-9)))


def digit_sides(count, min_scale, max_scale, rng):
  """Side in pixels of each of `count` placed digits, uniform over
  `side_range`: the stream's next `count` words, or none when the range is
  one side."""
  low, high = side_range(min_scale, max_scale)
  if low == high:
    return np.full(count, low, np.int64)
  return streams.uniform_integers(np.asarray(rng.random_raw(count), np.uint64), low,
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


def place(sides, fg_boxes, canvas, max_overlap, rng):
  """Top-left positions of digits placed one after another.

  Digit k (side sides[k], foreground box fg_boxes[k] within its cell) goes
  to the first of a batch of uniform candidate positions (cell inside the
  canvas) whose foreground box overlaps every placed digit's box by at most
  `max_overlap` of the smaller box's area (see `geometry.box_overlaps`). Measuring
  against the smaller box keeps a small digit from hiding inside a large
  one, which IoU would allow. A digit with no candidate in
  `_MAX_BATCHES` batches is left out.

  Returns (positions int64 (n, 2), kept bool (len(sides),)).
  """
  placed_boxes, positions = [], []
  kept = np.zeros(len(sides), bool)
  for k, side in enumerate(sides):
    for _ in range(_MAX_BATCHES):
      raw = np.asarray(rng.random_raw(2 * CANDIDATES), np.uint64)
      rows, cols, candidates = _candidates(raw, side, fg_boxes[k], canvas)
      found, choice = _first_fit(np.array(placed_boxes, np.int64).reshape(
          -1, 4), candidates, max_overlap)
      if found:
        placed_boxes.append(candidates[choice])
        positions.append((rows[choice], cols[choice]))
        kept[k] = True
        break
  return np.array(positions, np.int64).reshape(-1, 2), kept


def _candidates(raw, sides, fg_boxes, canvas):
  """Candidate positions and foreground boxes from one batch of raw words.

  raw (..., 2 * CANDIDATES) uint64, sides (...), fg_boxes (..., 4): rows
  from the first half of the words, columns from the second, as `place`
  reads them. Returns (rows, cols, boxes (..., CANDIDATES, 4)).
  """
  height, width = canvas
  sides = np.asarray(sides)[..., None]
  rows = streams.uniform_integers(raw[..., :CANDIDATES], 0, height - sides)
  cols = streams.uniform_integers(raw[..., CANDIDATES:], 0, width - sides)
  shifts = np.stack([rows, cols, rows, cols], axis=-1)
  return rows, cols, np.asarray(fg_boxes)[..., None, :] + shifts


def _first_fit(placed, candidates, max_overlap):
  """The placement rule: the first candidate box that overlaps each placed
  box by at most max_overlap (any candidate when none is placed).

  placed (..., k, 4), candidates (..., C, 4). Returns (found (...) bool,
  the first fitting candidate (...), 0 where none fits).
  """
  worst = geometry.overlaps(placed[..., :, None, :],
                            candidates[..., None, :, :]).max(
                                axis=-2, initial=0.0)
  fits = worst <= max_overlap
  return fits.any(axis=-1), np.argmax(fits, axis=-1)


def place_many(sides, fg_boxes, counts, canvas, max_overlap, first_batches):
  """`place` for many examples at once, where each digit's first batch fits.

  sides (E, D), fg_boxes (E, D, 4): each example's digits, padded to D;
  counts (E,); first_batches (E, D, 2 * CANDIDATES): the raw words of each
  digit's first batch of candidates, which is where `place` reads them when
  every digit before fits in its first batch. Returns (positions (E, D, 2),
  done (E,)): an example not done needs a second batch for some digit and
  must go through `place`.
  """
  num, depth = sides.shape
  rows, cols, boxes = _candidates(first_batches, sides, fg_boxes, canvas)
  choice = np.zeros((num, depth), np.int64)
  done = np.ones(num, bool)
  for k in range(1, depth):
    active = counts > k
    placed = np.take_along_axis(
        boxes[:, :k], choice[:, :k, None, None], axis=2)[:, :, 0]  # (E, k, 4)
    found, choice[:, k] = _first_fit(placed, boxes[:, k], max_overlap)
    done &= ~active | found
  pick = choice[..., None]
  positions = np.stack([np.take_along_axis(rows, pick, 2)[..., 0],
                        np.take_along_axis(cols, pick, 2)[..., 0]], axis=-1)
  return positions, done


def example_stream(seed, split, index):
  """The bit generator of example `index`'s sides and positions."""
  return streams.stream(seed, streams.crc("placement"), streams.crc(split), index)


def _scaled_cells(images, sides):
  """Each image resized to its side, with its TSS foreground mask and the
  mask's tight box (masks computed in one batch per side)."""
  cells = [resize_digit(image, side)
           for image, side in zip(images, sides)]
  masks = [None] * len(cells)
  boxes = np.empty((len(cells), 4), np.int64)
  for side in np.unique(sides):
    same = np.flatnonzero(sides == side)
    batch = np.stack([cells[k] for k in same])
    foreground = geometry.foreground_masks(batch).astype(bool)
    boxes[same] = geometry.tight_boxes(foreground)
    for k, fg in zip(same, foreground):
      masks[k] = fg
  return cells, masks, boxes


def _first_draws(config, split, examples, counts, depth):
  """(raw side words (E, D), first candidate batches (E, D, 2 CANDIDATES)).

  Each example's stream gives its sides (`digit_sides`: count words, or
  none when the scale is fixed), then each digit's first batch of
  candidates: one read per example, as if read in turn.
  """
  low, high = side_range(config.min_scale, config.max_scale)
  side_words = int(low != high)
  side_raw = np.zeros((len(counts), depth), np.uint64)
  batches = np.zeros((len(counts), depth, 2 * CANDIDATES), np.uint64)
  for j, (index, count) in enumerate(zip(examples.tolist(), counts.tolist())):
    if count:  # an empty canvas reads nothing
      raw = example_stream(config.seed, split, index).random_raw(
          count * (side_words + 2 * CANDIDATES))
      side_raw[j, :count * side_words] = raw[:count * side_words]
      batches[j, :count] = raw[count * side_words:].reshape(count, -1)
  return side_raw, batches


def _place_chunk(config, split, examples, sides, fg_boxes, first, counts,
                 batches):
  """(digit (E, D): each kept digit's position in the chunk's digits, -1
  past the kept ones; positions (E, D, 2)), all examples placed at once,
  those needing more candidates replayed one digit at a time."""
  valid = np.arange(sides.shape[1])[None, :] < counts[:, None]
  padded_boxes = np.zeros(sides.shape + (4,), np.int64)
  padded_boxes[valid] = fg_boxes
  positions, done = place_many(sides, padded_boxes, counts, config.canvas,
                               config.max_overlap, batches)
  digit = np.where(valid, first, -1)
  for j in np.flatnonzero(~done):  # rare: replay this example's stream
    rng = example_stream(config.seed, split, int(examples[j]))
    digit_sides(counts[j], config.min_scale, config.max_scale, rng)
    mine = first[j, :counts[j]]
    placed, kept = place(sides[j, :counts[j]], fg_boxes[mine], config.canvas,
                         config.max_overlap, rng)
    digit[j] = -1
    digit[j, :kept.sum()] = mine[kept]
    positions[j, :kept.sum()] = placed
  return digit, positions


def _drawn(config, examples, digit, positions, cells, masks, indices, labels):
  """The chunk's examples from its placed digits (`compose`, boxes)."""
  is_kept = digit >= 0  # kept digits come first in each row
  kept_counts = is_kept.sum(axis=1)
  kept_digits = digit[is_kept]
  digit_labels = labels[indices[kept_digits]]
  kept_rows = [row[:count] for row, count in zip(digit.tolist(), kept_counts)]
  kept_cells = [[cells[d] for d in row] for row in kept_rows]
  images_out, owners, class_masks = drawing.compose(
      kept_cells, [[masks[d] for d in row] for row in kept_rows],
      np.split(digit_labels, np.cumsum(kept_counts)[:-1]), positions,
      config.canvas)
  owned = geometry.normalized_boxes(
      drawing.owned_boxes(owners, kept_cells, positions, kept_counts).reshape(-1, 4),
      *config.canvas).reshape(len(digit), -1, 4)
  kept_sides = np.array([cells[d].shape[0] for d in kept_digits], np.float64)
  objects = {
      "bbox": owned[is_kept[:, :owned.shape[1]]], "label": digit_labels,
      "index": indices[kept_digits],
      "position": positions[is_kept].astype(np.int32),
      "scale": (kept_sides / CELL_SIDE).astype(np.float32),
  }
  return records.mosaic_examples(examples, images_out, class_masks, owners,
                                 objects, kept_counts)


def scatter_examples(config, split, images, labels, examples):
  """`Examples` at positions `examples` (int64) of a scatter config's split.

  Example i takes the next digit_counts[i] digits of the split's draw
  stream after those of examples 0..i-1, and its sides and positions from a
  stream keyed by (seed, split, i); so it depends only on (seed, split, i).
  Placement and drawing run for all the examples at once (`place_many`,
  `compose`); an example where some digit needs a second batch of
  candidates is placed one digit at a time (`place`), with the same result
  as if all were.
  """
  pool = streams.source_pool(len(images), config.seed, split,
                             config.validation_fraction)
  starts, counts = digit_ranges(config, split, examples)
  indices = streams.draw_at(pool, config.seed, split,
                            examples_lib.ranges(starts, counts))
  depth = max(int(counts.max(initial=0)), 1)
  first = (np.cumsum(counts) - counts)[:, None] + np.arange(depth)
  valid = np.arange(depth)[None, :] < counts[:, None]
  side_raw, batches = _first_draws(config, split, examples, counts, depth)
  low, high = side_range(config.min_scale, config.max_scale)
  sides = np.where(valid, streams.uniform_integers(side_raw, low, high),
                   CELL_SIDE)
  cells, masks, fg_boxes = _scaled_cells(images[indices], sides[valid])
  digit, positions = _place_chunk(config, split, examples, sides, fg_boxes,
                                  first, counts, batches)
  return _drawn(config, examples, digit, positions, cells, masks, indices,
                labels)
