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
from mnist_derived.datasets.mnist_mosaic import records
from mnist_derived.datasets.mnist_mosaic import streams

CELL_SIDE = 28
# Candidate positions tried per batch, and batches before a digit is left
# out (see `place`): none in the MNIST builds of `scatter` and
# `scatter_m2nist`, 0.13% of the digits of `scatter_scaled`.
CANDIDATES = 64
_MAX_BATCHES = 16


def uniform_integers(raw, low, high):
  """Maps raw uint64 words to integers in [low, high] (inclusive).

  Multiply-shift on the top 32 bits: exact in integers, so the same on every
  machine; the bias is below 2**-24 for these ranges.
  """
  span = (np.asarray(high, np.int64) - low + 1).astype(np.uint64)
  return (low + (((raw >> np.uint64(32)) * span) >> np.uint64(32))).astype(
      np.int64)


def digit_counts(num_examples, min_digits, max_digits, seed, split):
  """Number of digits of each example of a split: int64 (num_examples,).

  Uniform in [min_digits, max_digits]; example i's count is the i-th word of
  a stream keyed by (seed, split), so it depends only on (seed, split, i).
  """
  raw = streams.stream(seed, streams.crc("digit counts"), streams.crc(split)).random_raw(
      num_examples)
  return uniform_integers(np.asarray(raw, np.uint64), min_digits, max_digits)


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
  rows = uniform_integers(raw[..., :CANDIDATES], 0, height - sides)
  cols = uniform_integers(raw[..., CANDIDATES:], 0, width - sides)
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


def _cells_at(cells, positions, counts, k):
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
    for group, at in _cells_at(cells, positions, counts, k):
      inside = geometry.tight_boxes(owners[at] == k + 1)
      # An empty box stays empty (max < min) when moved.
      boxes[group, k] = inside + np.tile(positions[group, k], 2)
  return boxes


def example_stream(seed, split, index):
  """The bit generator of example `index`'s sides and positions."""
  return streams.stream(seed, streams.crc("placement"), streams.crc(split), index)


@functools.lru_cache(maxsize=8)
def scatter_offsets(config, split):
  """Draw-stream position of each scattered example's first digit, and one
  past the last example's: int64 (num + 1,), read-only."""
  counts = digit_counts(config.num_mosaics[split], config.min_digits,
                                config.max_digits, config.seed, split)
  offsets = np.concatenate([[0], np.cumsum(counts)])
  offsets.flags.writeable = False
  return offsets


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


def _first_draws(config, split, start, counts, depth):
  """(raw side words (E, D), first candidate batches (E, D, 2 CANDIDATES)).

  Each example's stream gives its sides (`digit_sides`: count words, or
  none when the scale is fixed), then each digit's first batch of
  candidates: one read per example, as if read in turn.
  """
  low, high = side_range(config.min_scale, config.max_scale)
  side_words = int(low != high)
  side_raw = np.zeros((len(counts), depth), np.uint64)
  batches = np.zeros((len(counts), depth, 2 * CANDIDATES), np.uint64)
  for j, count in enumerate(counts.tolist()):
    if count:  # an empty canvas reads nothing
      raw = example_stream(config.seed, split, start + j).random_raw(
          count * (side_words + 2 * CANDIDATES))
      side_raw[j, :count * side_words] = raw[:count * side_words]
      batches[j, :count] = raw[count * side_words:].reshape(count, -1)
  return side_raw, batches


def _place_chunk(config, split, start, sides, fg_boxes, first, counts,
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
    rng = example_stream(config.seed, split, start + j)
    digit_sides(counts[j], config.min_scale, config.max_scale, rng)
    mine = first[j, :counts[j]]
    placed, kept = place(sides[j, :counts[j]], fg_boxes[mine], config.canvas,
                         config.max_overlap, rng)
    digit[j] = -1
    digit[j, :kept.sum()] = mine[kept]
    positions[j, :kept.sum()] = placed
  return digit, positions


def _drawn(config, start, digit, positions, cells, masks, indices, labels):
  """The chunk's examples from its placed digits (`compose`, boxes)."""
  is_kept = digit >= 0  # kept digits come first in each row
  kept_counts = is_kept.sum(axis=1)
  kept_digits = digit[is_kept]
  digit_labels = labels[indices[kept_digits]]
  kept_rows = [row[:count] for row, count in zip(digit.tolist(), kept_counts)]
  kept_cells = [[cells[d] for d in row] for row in kept_rows]
  images_out, owners, class_masks = compose(
      kept_cells, [[masks[d] for d in row] for row in kept_rows],
      np.split(digit_labels, np.cumsum(kept_counts)[:-1]), positions,
      config.canvas)
  owned = geometry.normalized_boxes(
      owned_boxes(owners, kept_cells, positions, kept_counts).reshape(-1, 4),
      *config.canvas).reshape(len(digit), -1, 4)
  kept_sides = np.array([cells[d].shape[0] for d in kept_digits], np.float64)
  objects = {
      "bbox": owned[is_kept[:, :owned.shape[1]]], "label": digit_labels,
      "index": indices[kept_digits],
      "position": positions[is_kept].astype(np.int32),
      "scale": (kept_sides / CELL_SIDE).astype(np.float32),
  }
  return records.chunk_examples(start, images_out, class_masks, owners,
                                objects, kept_counts)


def scatter_examples(config, split, images, labels, start, stop):
  """Examples [start, stop) of a scatter config: [(index, example)].

  Example i takes the digits at positions offsets[i]..offsets[i+1] of the
  split's draw stream, and its sides and positions from a stream keyed by
  (seed, split, i); so it depends only on (seed, split, i). Placement and
  drawing run for the whole chunk at once (`place_many`, `compose`); an
  example where some digit needs a second batch of candidates is placed one
  digit at a time (`place`), with the same result as if all were.
  """
  pool = streams.source_pool(len(images), config.seed, split,
                             config.validation_fraction)
  offsets = scatter_offsets(config, split)
  indices = streams.draw_from_stream(pool, config.seed, split, offsets[start],
                                     offsets[stop])
  counts = np.diff(offsets[start:stop + 1])
  depth = max(int(counts.max(initial=0)), 1)
  first = (offsets[start:stop] - offsets[start])[:, None] + np.arange(depth)
  valid = np.arange(depth)[None, :] < counts[:, None]
  side_raw, batches = _first_draws(config, split, start, counts, depth)
  low, high = side_range(config.min_scale, config.max_scale)
  sides = np.where(valid, uniform_integers(side_raw, low, high), CELL_SIDE)
  cells, masks, fg_boxes = _scaled_cells(images[indices], sides[valid])
  digit, positions = _place_chunk(config, split, start, sides, fg_boxes,
                                  first, counts, batches)
  return _drawn(config, start, digit, positions, cells, masks, indices,
                labels)
