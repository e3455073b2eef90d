"""Bouncing digits (Srivastava et al. 2015's Moving MNIST rule), seeded.

Sequence i of a split:

* its digits are positions i D .. i D + D - 1 of the split's draw stream
  (the mosaics' pools and passes, `mnist_mosaic/streams.py`);
* a PCG64 stream keyed by (seed, "moving", split, i) gives 3 raw 64-bit
  words per digit: its start row and column, uniform integers in
  [0, UNIT), and its direction, an angle uniform in [0, 2 pi);
* positions and velocities are integers in units of 1 / UNIT of the free
  range (canvas - 28): the velocity is (sin, cos) of the angle times
  `step` UNIT, rounded; so everything after the draw is exact;
* each frame first moves every digit by its velocity, then bounces it: a
  coordinate at or below 0 is set to 0 and its velocity component negated,
  one at or above UNIT is set to UNIT and negated (as Srivastava's code
  does, before the first frame too); the frame's cell position is
  floor((canvas - 28) p / UNIT) pixels;
* the digits are drawn as the scattered mosaics draw them
  (`mnist_mosaic/drawing.compose`): image the pixelwise maximum, a pixel
  covered by several foreground masks owned by the brightest there (ties to
  the later digit).
"""

import numpy as np

from mnist_derived import geometry
from mnist_derived.core import examples as examples_lib
from mnist_derived.datasets.mnist_mosaic import drawing
from mnist_derived.datasets.mnist_mosaic import streams

UNIT = 1 << 20
CELL_SIDE = drawing.CELL_SIDE


def sequence_stream(seed, split, index):
  return streams.stream(seed, streams.crc("moving"), streams.crc(split), index)


def starts(config, split, sequences):
  """(start positions, velocities), each (E, D, 2) int64 in UNITs."""
  raw = np.stack([
      sequence_stream(config.seed, split, index).random_raw(3 * config.num_digits)
      for index in sequences.tolist()]).reshape(len(sequences), -1, 3)
  start = streams.uniform_integers(raw[..., :2], 0, UNIT - 1)
  # 53 random bits, exact in float64; rounding the velocity to whole units
  # leaves sin's last bit (which may differ between machines) no say.
  angle = (raw[..., 2] >> np.uint64(11)).astype(np.float64) * 2.0**-53 * 2 * np.pi
  speed = config.step * UNIT
  velocity = np.rint(np.stack([speed * np.sin(angle), speed * np.cos(angle)],
                              axis=-1)).astype(np.int64)
  return start, velocity


def trajectories(start, velocity, num_frames):
  """(positions, velocities) (E, D, T, 2) int64 in UNITs: each frame's
  position after its step and bounce, and the velocity it leaves with."""
  position, velocity = start.copy(), velocity.copy()
  positions = np.empty(start.shape[:-1] + (num_frames, 2), np.int64)
  velocities = np.empty_like(positions)
  for t in range(num_frames):
    position += velocity
    bounced = (position <= 0) | (position >= UNIT)
    np.clip(position, 0, UNIT, out=position)
    velocity = np.where(bounced, -velocity, velocity)
    positions[..., t, :], velocities[..., t, :] = position, velocity
  return positions, velocities


def pixels(positions, canvas_side):
  """Cell positions in pixels (top-left corner) of positions in UNITs."""
  return (positions * (canvas_side - CELL_SIDE)) // UNIT


def _frame_rows(rows, num_frames):
  """Each sequence's per-digit rows once per frame: its frames are the
  examples `drawing` draws."""
  return [list(row) for row in rows for _ in range(num_frames)]


def _frame_positions(cell_positions):
  """(E T, D, 2) cell positions, frame by frame, of (E, D, T, 2) ones."""
  return np.swapaxes(cell_positions, 1, 2).reshape(
      -1, cell_positions.shape[1], 2)


def frames_of(cells, masks, labels, cell_positions, canvas):
  """Every frame of every sequence drawn: (images, owners, classes), each
  (E, T, H, W) uint8. cells, masks (E, D, 28, 28), labels (E, D), cell
  positions (E, D, T, 2) in pixels."""
  num, _, num_frames = cell_positions.shape[:3]
  drawn = drawing.compose(*(_frame_rows(rows, num_frames)
                            for rows in (cells, masks, labels)),
                          _frame_positions(cell_positions), canvas)
  return [a.reshape((num, num_frames) + tuple(canvas)) for a in drawn]


def visible_fractions(owners, fg_pixels):
  """(E, D, T) float32: pixels each digit owns in each frame over its
  foreground's (0 for an empty foreground)."""
  depth = fg_pixels.shape[1]
  owned = np.stack([(owners == k + 1).sum(axis=(2, 3)) for k in range(depth)],
                   axis=1)
  return (owned / np.maximum(fg_pixels, 1)[..., None]).astype(np.float32)


def owned_boxes(owners, cells, cell_positions):
  """(E, D, T, 4) float32 TFDS boxes of the pixels each digit owns in each
  frame (all zeros where it owns none)."""
  num, depth, num_frames = cell_positions.shape[:3]
  flat_owners = owners.reshape((-1,) + owners.shape[2:])
  boxes = drawing.owned_boxes(flat_owners, _frame_rows(cells, num_frames),
                              _frame_positions(cell_positions),
                              np.full(num * num_frames, depth))
  normalized = geometry.normalized_boxes(boxes.reshape(-1, 4),
                                         *owners.shape[2:])
  return np.swapaxes(normalized.reshape(num, num_frames, depth, 4), 1, 2)


def sequence_examples(config, split, images, labels, sequences):
  """`Examples` at positions `sequences` (int64) of a split."""
  depth = config.num_digits
  pool = streams.source_pool(len(images), config.seed, split,
                             config.validation_fraction)
  indices = streams.draw_at(pool, config.seed, split,
                            (sequences[:, None] * depth + np.arange(depth))
                            .reshape(-1)).reshape(-1, depth)
  cells = images[indices]
  masks = geometry.foreground_masks(
      cells.reshape(-1, CELL_SIDE, CELL_SIDE)).reshape(cells.shape).astype(bool)
  positions, velocities = trajectories(*starts(config, split, sequences),
                                       config.num_frames)
  cell_positions = pixels(positions, config.canvas_side)
  frames, owners, classes = frames_of(cells, masks, labels[indices],
                                      cell_positions, config.canvas)
  scale = (config.canvas_side - CELL_SIDE) / UNIT
  objects = {
      "label": labels[indices].reshape(-1),
      "index": indices.reshape(-1),
      "position": cell_positions.astype(np.int32).reshape(-1, config.num_frames, 2),
      "velocity": (velocities * scale).astype(np.float32).reshape(
          -1, config.num_frames, 2),
      "bbox": owned_boxes(owners, cells, cell_positions).reshape(
          -1, config.num_frames, 4),
      "visible": visible_fractions(owners, masks.sum(axis=(2, 3))).reshape(
          -1, config.num_frames),
      "mask": masks.reshape(-1, CELL_SIDE, CELL_SIDE),
  }
  counts = np.full(len(sequences), depth, np.int64)
  return examples_lib.Examples(sequences, {
      "image": frames[..., None], "mask": classes[..., None],
      "instances": owners[..., None],
      "num_digits": counts.astype(np.int32), "index": sequences,
  }, {"objects": (objects, counts)})
