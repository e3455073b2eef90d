"""mnist_mosaic: grids of MNIST-format digits with per-pixel class masks."""

import dataclasses
import functools
import zlib

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived import encoding
from mnist_derived import geometry
from mnist_derived import sources

CELL_HEIGHT, CELL_WIDTH = sources.IMAGE_SHAPE[:2]
BACKGROUND_NAME = "background"


@dataclasses.dataclass(eq=False)
class MosaicConfig(sources.SourceConfig):
  """A source, a grid shape and how many mosaics each split gets."""

  grid_rows: int = 2
  grid_cols: int = 2
  num_train: int = 60_000
  num_test: int = 10_000
  seed: int = 0

  @property
  def cells(self):
    return self.grid_rows * self.grid_cols

  @property
  def num_mosaics(self):
    return {"train": self.num_train, "test": self.num_test}


def _config(source, rows, cols, **counts):
  # MNIST configs are named by their grid alone: "2x2" is the default.
  grid = f"{rows}x{cols}"
  name = grid if source == sources.DEFAULT_SOURCE else f"{source}_{grid}"
  return MosaicConfig(
      name=name, source=source, grid_rows=rows, grid_cols=cols,
      description=f"{grid} mosaics of {source} digits.", **counts)


# 60000/10000 mosaics use every source image exactly 4 times (2x2) and give a
# U-Net more distinct training layouts than it sees in a 20-minute CPU run.
BUILDER_CONFIGS = [
    _config(source, rows, cols, **counts)
    for rows, cols, counts in [
        (2, 2, {}),
        (3, 3, {"num_train": 40_000, "num_test": 10_000}),
    ]
    for source in sources.SOURCES
]


# Consecutive chunks read the same pass: compute each permutation once.
@functools.lru_cache(maxsize=4)
def source_permutation(num_sources, seed, split, draw_pass):
  """The order of source images in one pass over a split (read-only array).

  Sorting PCG64's raw 64-bit stream gives a uniform permutation that depends
  only on (seed, split, pass): NumPy keeps SeedSequence and bit-generator
  streams fixed across versions, unlike its higher-level samplers.
  """
  key = [seed, zlib.crc32(split.encode()), draw_pass]
  raw = np.random.PCG64(np.random.SeedSequence(key)).random_raw(num_sources)
  perm = np.argsort(raw, kind="stable")
  perm.flags.writeable = False
  return perm


def draw_source_indices(num_sources, cells, seed, split, start, stop):
  """Source indices of mosaics [start, stop): int64 (stop - start, cells).

  The cells of all mosaics, in order, read consecutive positions of a stream
  of permutations of the split: every pass uses each source once, so sources
  are drawn without replacement within a pass and all are used equally often.
  Mosaic i depends only on (seed, split, i), whatever the sharding.
  """
  positions = np.arange(start * cells, stop * cells, dtype=np.int64)
  passes = positions // num_sources
  indices = np.empty_like(positions)
  for draw_pass in np.unique(passes):
    in_pass = passes == draw_pass
    perm = source_permutation(num_sources, seed, split, int(draw_pass))
    indices[in_pass] = perm[positions[in_pass] % num_sources]
  return indices.reshape(stop - start, cells)


def tile(cells, grid_rows, grid_cols):
  """Places (B, rows*cols, h, w, ...) cell arrays row-major into (B, H, W, ...)."""
  b, _, h, w = cells.shape[:4]
  rest = cells.shape[4:]
  grid = cells.reshape((b, grid_rows, grid_cols, h, w) + rest)
  grid = np.swapaxes(grid, 2, 3)
  return grid.reshape((b, grid_rows * h, grid_cols * w) + rest)


def object_boxes(cell_boxes, grid_rows, grid_cols):
  """Moves (B, cells, 4) inclusive cell boxes into the mosaic, TFDS form."""
  cell = np.arange(grid_rows * grid_cols)
  offset = np.stack([
      cell // grid_cols * CELL_HEIGHT, cell % grid_cols * CELL_WIDTH,
      cell // grid_cols * CELL_HEIGHT, cell % grid_cols * CELL_WIDTH,
  ], axis=1)
  # An empty cell box (0, 0, -1, -1) stays empty (max < min) when moved.
  boxes = cell_boxes + offset
  normalized = geometry.normalized_boxes(
      boxes.reshape(-1, 4), grid_rows * CELL_HEIGHT, grid_cols * CELL_WIDTH)
  return normalized.reshape(boxes.shape)


class Builder(sources.SourceBuilder):
  """Semantic segmentation: a grid of digits -> background + 10-class mask."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = BUILDER_CONFIGS

  def _info(self):
    config = self.builder_config
    source = sources.SOURCES[config.source]
    shape = (config.grid_rows * CELL_HEIGHT, config.grid_cols * CELL_WIDTH, 1)
    digit = sources.class_label(source.name)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=shape),
            "mask": tfds.features.LabeledImage(
                labels=[BACKGROUND_NAME, *source.class_names], shape=shape,
                doc="0 = background, d + 1 = class d"),
            "labels": tfds.features.Sequence(digit, length=config.cells),
            "indices": tfds.features.Tensor(
                shape=(config.cells,), dtype=np.int64,
                doc="Source-split positions of the cells, row-major"),
            "objects": tfds.features.Sequence({
                "bbox": tfds.features.BBoxFeature(),
                "label": digit,
            }),
        }),
        supervised_keys=("image", "mask"),
        homepage=source.homepage,
    )

  @classmethod
  def num_examples(cls, config, split, num_sources):
    del num_sources  # mosaics reuse sources as often as the count needs
    return config.num_mosaics[split]

  @classmethod
  def examples_of_chunk(cls, config, split, images, labels, start, stop):
    indices = draw_source_indices(
        len(images), config.cells, config.seed, split, start, stop)
    cells = images[indices]
    cell_labels = labels[indices]
    # Each cell's TSS mask, valued with its class: background 0, digit d + 1.
    # Made from the chunk's own cells, so a chunk needs nothing but its split.
    flat_cells = cells.reshape(-1, CELL_HEIGHT, CELL_WIDTH)
    class_masks = geometry.foreground_masks(flat_cells) * (
        cell_labels.reshape(-1, 1, 1) + 1)
    cell_boxes = geometry.tight_boxes(class_masks).reshape(indices.shape + (4,))
    class_masks = class_masks.reshape(cells.shape)
    mosaics = tile(cells, config.grid_rows, config.grid_cols)
    masks = tile(class_masks, config.grid_rows, config.grid_cols)
    boxes = object_boxes(cell_boxes, config.grid_rows, config.grid_cols)
    return [(start + j, {
        "image": encoding.png_bytes(mosaics[j]),
        "mask": encoding.png_bytes(masks[j]),
        "labels": cell_labels[j],
        "indices": indices[j],
        "objects": {"bbox": boxes[j], "label": cell_labels[j]},
    }) for j in range(stop - start)]
