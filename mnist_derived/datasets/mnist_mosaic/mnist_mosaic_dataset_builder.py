"""mnist_mosaic: grids of MNIST-format digits with class and instance masks."""

import dataclasses
import functools
import zlib

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived import geometry
from mnist_derived.core import builder
from mnist_derived.core import encoding
from mnist_derived.core import sources

CELL_HEIGHT, CELL_WIDTH = sources.IMAGE_SHAPE[:2]
BACKGROUND_NAME = "background"
VERSION = tfds.core.Version("2.0.0")


@dataclasses.dataclass(eq=False)
class MosaicConfig(builder.SourceConfig):
  """A source, a grid shape and how many mosaics each split gets.

  `validation` mosaics draw only from a seeded `validation_fraction` of the
  source train split that `train` mosaics never use; `test` mosaics draw
  from the source test split.
  """

  grid_rows: int = 2
  grid_cols: int = 2
  num_train: int = 60_000
  num_validation: int = 6_000
  num_test: int = 10_000
  validation_fraction: float = 0.1
  seed: int = 0
  version: object = VERSION

  @property
  def cells(self):
    return self.grid_rows * self.grid_cols

  @property
  def num_mosaics(self):
    return {"train": self.num_train, "validation": self.num_validation,
            "test": self.num_test}


def _config(source, rows, cols, **counts):
  # MNIST configs are named by their grid alone: "2x2" is the default.
  grid = f"{rows}x{cols}"
  name = grid if source == sources.DEFAULT_SOURCE else f"{source}_{grid}"
  return MosaicConfig(
      name=name, source=source, grid_rows=rows, grid_cols=cols,
      description=f"{grid} mosaics of {source} digits.", **counts)


# 60000/10000 mosaics use every test image exactly 4 times (2x2) and give a
# U-Net more distinct training layouts than it sees in a 20-minute CPU run.
BUILDER_CONFIGS = [
    _config(source, rows, cols, **counts)
    for rows, cols, counts in [
        (2, 2, {}),
        (3, 3, {"num_train": 40_000, "num_validation": 4_000,
                "num_test": 10_000}),
    ]
    for source in sources.SOURCES
]


def _permutation(num, key):
  """A uniform permutation of range(num) that depends only on key.

  Sorting PCG64's raw 64-bit stream: NumPy keeps SeedSequence and
  bit-generator streams fixed across versions, unlike its samplers.
  """
  raw = np.random.PCG64(np.random.SeedSequence(key)).random_raw(num)
  return np.argsort(raw, kind="stable")


def _crc(text):
  return zlib.crc32(text.encode())


@functools.lru_cache(maxsize=8)
def source_pool(num_sources, seed, split, validation_fraction):
  """Sorted source positions a split draws from (read-only array).

  test: the whole source test split. validation: a seeded
  `validation_fraction` of the source train split; train: the rest of it, so
  no source digit is in both.
  """
  if split == "test":
    pool = np.arange(num_sources)
  else:
    held_out = round(num_sources * validation_fraction)
    order = _permutation(num_sources, [seed, _crc("validation sources")])
    pool = np.sort(order[:held_out] if split == "validation"
                   else order[held_out:])
  pool.flags.writeable = False
  return pool


# Consecutive chunks read the same pass: compute each permutation once.
@functools.lru_cache(maxsize=4)
def source_permutation(num_sources, seed, split, draw_pass):
  """The order of a split's pool in one pass over it (read-only array)."""
  perm = _permutation(num_sources, [seed, _crc(split), draw_pass])
  perm.flags.writeable = False
  return perm


def draw_source_indices(pool, cells, seed, split, start, stop):
  """Source indices of mosaics [start, stop): int64 (stop - start, cells).

  The cells of all mosaics, in order, read consecutive positions of a stream
  of permutations of the pool: every pass uses each source once, so sources
  are drawn without replacement within a pass and all are used equally often.
  Mosaic i depends only on (seed, split, i), whatever the sharding.
  """
  positions = np.arange(start * cells, stop * cells, dtype=np.int64)
  passes = positions // len(pool)
  indices = np.empty_like(positions)
  for draw_pass in np.unique(passes):
    in_pass = passes == draw_pass
    perm = source_permutation(len(pool), seed, split, int(draw_pass))
    indices[in_pass] = pool[perm[positions[in_pass] % len(pool)]]
  return indices.reshape(stop - start, cells)


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


class Builder(builder.SourceBuilder):
  """Segmentation and detection: a grid of digits -> class and instance masks."""

  VERSION = VERSION
  RELEASE_NOTES = {
      "1.0.0": "Initial release.",
      "2.0.0": "Adds `index` (position in the split), `instances` (instance"
               " mask) and per-object `index`, `position` and `scale`; drops"
               " the top-level `labels` and `indices` (now `objects/label`,"
               " `objects/index`). Adds a `validation` split drawn from 10%"
               " of the source train digits, which `train` no longer uses.",
  }
  BUILDER_CONFIGS = BUILDER_CONFIGS

  def _info(self):
    config = self.builder_config
    source = sources.SOURCES[config.source]
    shape = (config.grid_rows * CELL_HEIGHT, config.grid_cols * CELL_WIDTH, 1)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=shape),
            "mask": tfds.features.LabeledImage(
                labels=[BACKGROUND_NAME, *source.class_names], shape=shape,
                doc="0 = background, d + 1 = class d"),
            "instances": tfds.features.Image(
                shape=shape, use_colormap=True,
                doc="0 = background, k = the k-th object (1-based)"),
            "objects": tfds.features.Sequence({
                "bbox": tfds.features.BBoxFeature(
                    doc="Tight box of the object's pixels in `instances`"),
                "label": builder.class_label(source.name),
                "index": tfds.features.Scalar(
                    dtype=np.int64, doc="Position in the source split"),
                "position": tfds.features.Tensor(
                    shape=(2,), dtype=np.int32,
                    doc="(row, column) of the placed cell's top-left pixel"),
                "scale": tfds.features.Scalar(
                    dtype=np.float32, doc="Resize factor of the digit"),
            }, length=config.cells),
            "index": tfds.features.Scalar(
                dtype=np.int64, doc="Position in the split"),
        }),
        supervised_keys=("image", "mask"),
        homepage=source.homepage,
    )

  @classmethod
  def split_sources(cls, config):
    return {"train": "train", "validation": "train", "test": "test"}

  @classmethod
  def num_examples(cls, config, split, num_sources):
    del num_sources  # mosaics reuse sources as often as the count needs
    return config.num_mosaics[split]

  @classmethod
  def examples_of_chunk(cls, config, split, images, labels, start, stop):
    pool = source_pool(len(images), config.seed, split,
                       config.validation_fraction)
    indices = draw_source_indices(pool, config.cells, config.seed, split,
                                  start, stop)
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
    positions = cell_positions(config.grid_rows, config.grid_cols)
    scales = np.ones(config.cells, np.float32)
    return [(start + j, {
        "image": encoding.png_bytes(mosaics[j]),
        "mask": encoding.png_bytes(masks[j]),
        "instances": encoding.png_bytes(instances[j]),
        "objects": {"bbox": boxes[j], "label": cell_labels[j],
                    "index": indices[j], "position": positions,
                    "scale": scales},
        "index": start + j,
    }) for j in range(stop - start)]
