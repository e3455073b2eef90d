"""Grid mosaics: rows x cols cells of 28x28, one digit in each."""

import functools

import numpy as np

from mnist_derived import geometry
from mnist_derived.datasets.mnist_mosaic import drawing
from mnist_derived.datasets.mnist_mosaic import records
from mnist_derived.datasets.mnist_mosaic import streams

CELL_HEIGHT = CELL_WIDTH = drawing.CELL_SIDE


def tile(cells, grid_rows, grid_cols):
  """Places (B, rows*cols, h, w, ...) cell arrays row-major into (B, H, W, ...)."""
  b, _, h, w = cells.shape[:4]
  rest = cells.shape[4:]
  grid = cells.reshape((b, grid_rows, grid_cols, h, w) + rest)
  grid = np.swapaxes(grid, 2, 3)
  return grid.reshape((b, grid_rows * h, grid_cols * w) + rest)


def cell_positions(grid_rows, grid_cols):
  """(cells, 2) int32 (row, column) of each cell's top-left pixel, row-major."""
  cell = np.arange(grid_rows * grid_cols)
  return np.stack([cell // grid_cols * CELL_HEIGHT,
                   cell % grid_cols * CELL_WIDTH], axis=1).astype(np.int32)


def object_boxes(cell_boxes, grid_rows, grid_cols):
  """Moves (B, cells, 4) inclusive cell boxes into the mosaic, TFDS form."""
  boxes = cell_boxes + np.tile(cell_positions(grid_rows, grid_cols), 2)
  # An empty cell box (0, 0, -1, -1) stays empty (max < min) when moved.
  normalized = geometry.normalized_boxes(
      boxes.reshape(-1, 4), grid_rows * CELL_HEIGHT, grid_cols * CELL_WIDTH)
  return normalized.reshape(boxes.shape)


def grid_examples(config, split, images, labels, examples):
  """`Examples` at positions `examples` (int64) of a grid config's split."""
  pool = streams.source_pool(len(images), config.seed, split,
                             config.validation_fraction)
  indices = streams.draw_source_indices(pool, config.cells, config.seed,
                                        split, examples)
  cells = images[indices]
  cell_labels = labels[indices]
  # Each cell's TSS mask, made from the chunk's own cells, so a chunk needs
  # nothing but its split: valued d + 1 in the class mask, k + 1 (the
  # cell's object number) in the instance mask.
  foreground = geometry.foreground_masks(
      cells.reshape(-1, CELL_HEIGHT, CELL_WIDTH)).reshape(cells.shape)
  class_masks = foreground * (cell_labels + 1)[:, :, None, None].astype(
      np.uint8)
  object_ids = np.arange(1, config.cells + 1, dtype=np.uint8)
  instance_masks = foreground * object_ids[None, :, None, None]
  cell_boxes = geometry.tight_boxes(
      foreground.reshape(-1, CELL_HEIGHT, CELL_WIDTH)).reshape(
          indices.shape + (4,))
  grid = functools.partial(tile, grid_rows=config.grid_rows,
                           grid_cols=config.grid_cols)
  mosaics, masks, instances = grid(cells), grid(class_masks), grid(
      instance_masks)
  boxes = object_boxes(cell_boxes, config.grid_rows, config.grid_cols)
  num = len(examples)
  return records.mosaic_examples(examples, mosaics, masks, instances, {
      "bbox": boxes.reshape(-1, 4), "label": cell_labels.reshape(-1),
      "index": indices.reshape(-1),
      "position": np.tile(cell_positions(config.grid_rows, config.grid_cols),
                          (num, 1)),
      "scale": np.ones(num * config.cells, np.float32),
  }, np.full(num, config.cells))
