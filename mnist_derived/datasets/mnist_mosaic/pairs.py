"""MultiMNIST's shape (Sabour et al. 2017): two digits of different classes
on a 36x36 canvas, each shifted by up to 4 pixels in each direction.

Example i of a split:

* its first digit is position i of the split's draw stream (every source
  digit of the split's pool once per pass, as in the other mosaics);
* its stream keyed by (seed, split, i) gives, as raw 64-bit words, the
  (row, column) of each digit's cell, uniform in [0, canvas - 28] (two words
  per digit), then candidates for the second digit, uniform over the pool,
  taken in turn until one's class differs from the first's;
* the digits are drawn first then second with the scatter rules (image: the
  pixelwise maximum; a pixel covered by both masks belongs to the brighter
  digit there, ties to the second), without any bound on overlap.

So example i depends only on (seed, split, i) and the source split.
"""

import numpy as np

from mnist_derived import geometry
from mnist_derived.core import errors
from mnist_derived.datasets.mnist_mosaic import records
from mnist_derived.datasets.mnist_mosaic import drawing
from mnist_derived.datasets.mnist_mosaic import streams

# Candidate partners read per example at once; more are read (rarely) when
# all of them share the first digit's class.
PARTNER_CANDIDATES = 8


def pair_stream(seed, split, index):
  return streams.stream(seed, streams.crc("pairs"), streams.crc(split), index)


def _partner(rng, pool, labels, first_label, words):
  """The first candidate of a different class than first_label."""
  while True:
    picks = pool[streams.uniform_integers(words, 0, len(pool) - 1)]
    other = labels[picks] != first_label
    if other.any():
      return int(picks[np.argmax(other)])
    words = np.asarray(rng.random_raw(PARTNER_CANDIDATES), np.uint64)


def check_classes(name, split, pool, labels):
  """Two classes at least in a split's pool, or no pair can be drawn."""
  if len(np.unique(labels[pool])) < 2:
    raise errors.InputError(
        f"mnist_mosaic/{name}: the {len(pool)} source digits the {split} split draws from"
        " are all of one class: no pair of different classes can be drawn")


def pair_draws(seed, split, index, first, pool, labels, canvas):
  """(partner source index, (2, 2) positions) of one example."""
  rng = pair_stream(seed, split, index)
  words = np.asarray(rng.random_raw(4 + PARTNER_CANDIDATES), np.uint64)
  high = np.array([canvas[0], canvas[1]] * 2) - drawing.CELL_SIDE
  positions = streams.uniform_integers(words[:4], 0, high).reshape(2, 2)
  partner = _partner(rng, pool, labels, labels[first], words[4:])
  return partner, positions


def pair_examples(config, split, images, labels, examples):
  """`Examples` at positions `examples` (int64) of a pair config's split."""
  pool = streams.source_pool(len(images), config.seed, split,
                             config.validation_fraction)
  check_classes(config.name, split, pool, labels)
  firsts = streams.draw_at(pool, config.seed, split, examples)
  draws = [pair_draws(config.seed, split, index, first, pool, labels,
                      config.canvas)
           for index, first in zip(examples.tolist(), firsts.tolist())]
  indices = np.array([[first, partner] for first, (partner, _)
                      in zip(firsts, draws)], np.int64).reshape(-1, 2)
  positions = np.array([p for _, p in draws], np.int64).reshape(-1, 2, 2)
  cells = images[indices]
  foreground = geometry.foreground_masks(
      cells.reshape(-1, drawing.CELL_SIDE, drawing.CELL_SIDE)
  ).reshape(cells.shape)
  digit_labels = labels[indices]
  counts = np.full(len(indices), 2)
  mosaics, owners, class_masks = drawing.compose(
      cells, foreground.astype(bool), digit_labels, positions, config.canvas)
  owned = geometry.normalized_boxes(
      drawing.owned_boxes(owners, cells, positions, counts).reshape(-1, 4),
      *config.canvas)
  return records.mosaic_examples(examples, mosaics, class_masks, owners, {
      "bbox": owned, "label": digit_labels.reshape(-1),
      "index": indices.reshape(-1),
      "position": positions.reshape(-1, 2).astype(np.int32),
      "scale": np.ones(indices.size, np.float32),
  }, counts)
