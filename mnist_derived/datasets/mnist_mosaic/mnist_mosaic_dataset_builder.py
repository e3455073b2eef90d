"""mnist_mosaic: grids or scatterings of MNIST-format digits, with class and
instance masks."""

import dataclasses
import functools
import zlib

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived import geometry
from mnist_derived.core import builder
from mnist_derived.core import encoding
from mnist_derived.core import sources
from mnist_derived.datasets.mnist_mosaic import pairs
from mnist_derived.datasets.mnist_mosaic import scatter

CELL_HEIGHT, CELL_WIDTH = sources.IMAGE_SHAPE[:2]
BACKGROUND_NAME = "background"
VERSION = tfds.core.Version("2.2.0")


@dataclasses.dataclass(eq=False)
class MosaicSplits(builder.SourceConfig):
  """What every mosaic config shares: the source and each split's count.

  `validation` mosaics draw only from a seeded `validation_fraction` of the
  source train split that `train` mosaics never use; `test` mosaics draw
  from the source test split.
  """

  num_train: int = 60_000
  num_validation: int = 6_000
  num_test: int = 10_000
  validation_fraction: float = 0.1
  seed: int = 0
  version: object = VERSION

  @property
  def num_mosaics(self):
    return {"train": self.num_train, "validation": self.num_validation,
            "test": self.num_test}


@dataclasses.dataclass(eq=False)
class MosaicConfig(MosaicSplits):
  """A grid of digits: rows x cols cells of 28x28, one digit in each."""

  grid_rows: int = 2
  grid_cols: int = 2

  @property
  def cells(self):
    return self.grid_rows * self.grid_cols

  @property
  def canvas(self):
    return (self.grid_rows * CELL_HEIGHT, self.grid_cols * CELL_WIDTH)

  @property
  def max_objects(self):
    return self.cells


@dataclasses.dataclass(eq=False)
class ScatterConfig(MosaicSplits):
  """Digits placed freely on a canvas (see `scatter.py` for the rules).

  Each example gets a uniform number of digits in [min_digits, max_digits],
  each resized (when the scale range is not 1) to a side drawn uniformly
  among the integers in [28 min_scale, 28 max_scale], placed at a uniform
  position with its cell inside the canvas, so that no two digits'
  foreground boxes share more than `max_overlap` of the smaller box.
  """

  canvas_height: int = 64
  canvas_width: int = 64
  min_digits: int = 0
  max_digits: int = 4
  max_overlap: float = 0.3
  min_scale: float = 1.0
  max_scale: float = 1.0

  def __post_init__(self):
    super().__post_init__()
    largest = int(np.floor(CELL_HEIGHT * self.max_scale + 1e-9))
    if not 0 <= self.min_digits <= self.max_digits:
      raise ValueError(f"{self.name}: need 0 <= min_digits <= max_digits")
    if not 0 < self.min_scale <= self.max_scale:
      raise ValueError(f"{self.name}: need 0 < min_scale <= max_scale")
    if largest > min(self.canvas):
      raise ValueError(f"{self.name}: a {largest}-pixel digit does not fit"
                       f" a {self.canvas_height}x{self.canvas_width} canvas")
    if not 0 <= self.max_overlap <= 1:
      raise ValueError(f"{self.name}: max_overlap is a fraction in [0, 1]")

  @property
  def canvas(self):
    return (self.canvas_height, self.canvas_width)

  @property
  def max_objects(self):
    return self.max_digits


@dataclasses.dataclass(eq=False)
class PairConfig(MosaicSplits):
  """MultiMNIST's shape: exactly two digits of different classes, each cell
  at a uniform (row, column) in [0, canvas - 28], overlapping freely (see
  `pairs.py`)."""

  canvas_height: int = 36
  canvas_width: int = 36

  def __post_init__(self):
    super().__post_init__()
    if min(self.canvas) < CELL_HEIGHT:
      raise ValueError(f"{self.name}: a 28-pixel digit does not fit a"
                       f" {self.canvas_height}x{self.canvas_width} canvas")

  @property
  def canvas(self):
    return (self.canvas_height, self.canvas_width)

  max_objects = 2


def _config(source, rows, cols, **counts):
  # MNIST configs are named by their layout alone: "2x2" is the default.
  grid = f"{rows}x{cols}"
  return MosaicConfig(
      name=_config_name(source, grid), source=source, grid_rows=rows,
      grid_cols=cols, description=f"{grid} mosaics of {source} digits.",
      **counts)


def _config_name(source, layout):
  return layout if source == sources.DEFAULT_SOURCE else f"{source}_{layout}"


# The scattered layouts: MultiMNIST-like (0 to 4 digits, empty canvases
# included), M2NIST's 64x84 canvas with 1 to 3 digits, and scaled digits.
SCATTER_LAYOUTS = {
    "scatter": dict(
        description="0 to 4 digits scattered on a 64x64 canvas"),
    "scatter_m2nist": dict(
        canvas_width=84, min_digits=1, max_digits=3,
        description="1 to 3 digits scattered on a 64x84 canvas (M2NIST's)"),
    "scatter_scaled": dict(
        min_scale=0.6, max_scale=1.4,
        description="0 to 4 digits resized by 0.6 to 1.4 (17 to 39 pixels),"
                    " scattered on a 64x64 canvas"),
}


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
] + [
    ScatterConfig(name=_config_name(source, layout), source=source,
                  **dict(fields, description=f"{fields['description']}, of"
                         f" {source} digits."))
    for layout, fields in SCATTER_LAYOUTS.items()
    for source in sources.SOURCES
] + [
    PairConfig(name=_config_name(source, "multimnist"), source=source,
               description="MultiMNIST's shape: two digits of different"
               f" classes on a 36x36 canvas, of {source} digits.")
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


def draw_from_stream(pool, seed, split, first, last):
  """Source indices at positions [first, last) of a split's draw stream.

  The stream is a sequence of permutations of the pool, one per pass: every
  pass uses each source once, so sources are drawn without replacement
  within a pass and all are used equally often.
  """
  positions = np.arange(first, last, dtype=np.int64)
  passes = positions // len(pool)
  indices = np.empty_like(positions)
  for draw_pass in np.unique(passes):
    in_pass = passes == draw_pass
    perm = source_permutation(len(pool), seed, split, int(draw_pass))
    indices[in_pass] = pool[perm[positions[in_pass] % len(pool)]]
  return indices


def draw_source_indices(pool, cells, seed, split, start, stop):
  """Source indices of grid mosaics [start, stop): int64 (stop - start, cells).

  The cells of all mosaics, in order, read consecutive positions of the
  split's draw stream (`draw_from_stream`), so mosaic i depends only on
  (seed, split, i), whatever the sharding.
  """
  return draw_from_stream(pool, seed, split, start * cells,
                          stop * cells).reshape(stop - start, cells)


@functools.lru_cache(maxsize=8)
def scatter_offsets(config, split):
  """Draw-stream position of each scattered example's first digit, and one
  past the last example's: int64 (num + 1,), read-only."""
  counts = scatter.digit_counts(config.num_mosaics[split], config.min_digits,
                                config.max_digits, config.seed, split)
  offsets = np.concatenate([[0], np.cumsum(counts)])
  offsets.flags.writeable = False
  return offsets


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


def _examples(start, images, masks, instances, objects, counts):
  """[(index, example)] of a chunk: canvases (E, H, W) and the objects of
  all its examples in order, counts[j] of them example j's.

  Objects go to TFDS as Python lists and BBox tuples, which its Sequence
  feature encodes faster than numpy rows (the stored values are the same).
  """
  columns = {name: values.tolist() for name, values in objects.items()}
  columns["bbox"] = [tfds.features.BBox(*box) for box in columns["bbox"]]
  ends = np.cumsum(counts).tolist()
  pngs = zip(*(encoding.png_batch(canvases)
               for canvases in (images, masks, instances)))
  return [(start + j, {
      "image": image, "mask": mask, "instances": owners,
      "objects": {name: column[first:last]
                  for name, column in columns.items()},
      "num_digits": last - first,
      "index": start + j,
  }) for j, ((image, mask, owners), first, last) in enumerate(
      zip(pngs, [0] + ends, ends))]


def grid_examples(config, split, images, labels, start, stop):
  """Examples [start, stop) of a grid config: [(index, example)]."""
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
  num = stop - start
  return _examples(start, mosaics, masks, instances, {
      "bbox": boxes.reshape(-1, 4), "label": cell_labels.reshape(-1),
      "index": indices.reshape(-1),
      "position": np.tile(cell_positions(config.grid_rows, config.grid_cols),
                          (num, 1)),
      "scale": np.ones(num * config.cells, np.float32),
  }, np.full(num, config.cells))


def _scaled_cells(images, sides):
  """Each image resized to its side, with its TSS foreground mask and the
  mask's tight box (masks computed in one batch per side)."""
  cells = [scatter.resize_digit(image, side)
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


def scatter_examples(config, split, images, labels, start, stop):
  """Examples [start, stop) of a scatter config: [(index, example)].

  Example i takes the digits at positions offsets[i]..offsets[i+1] of the
  split's draw stream, and its sides and positions from a stream keyed by
  (seed, split, i); so it depends only on (seed, split, i). Placement and
  drawing run for the whole chunk at once (`scatter.place_many`,
  `scatter.compose`); an example where some digit needs a second batch
  of candidates is placed one digit at a time (`scatter.place`), with the
  same result as if all were.
  """
  pool = source_pool(len(images), config.seed, split,
                     config.validation_fraction)
  offsets = scatter_offsets(config, split)
  indices = draw_from_stream(pool, config.seed, split, offsets[start],
                             offsets[stop])
  counts = np.diff(offsets[start:stop + 1])
  num, depth = stop - start, max(int(counts.max(initial=0)), 1)
  first = (offsets[start:stop] - offsets[start])[:, None] + np.arange(depth)
  valid = np.arange(depth)[None, :] < counts[:, None]
  # Each example's stream gives its sides (`scatter.digit_sides`: count
  # words, or none when the scale is fixed), then each digit's first batch
  # of candidates: one read per example, as if read in turn.
  low, high = scatter.side_range(config.min_scale, config.max_scale)
  side_words = int(low != high)
  side_raw = np.zeros((num, depth), np.uint64)
  batches = np.zeros((num, depth, 2 * scatter.CANDIDATES), np.uint64)
  for j, count in enumerate(counts.tolist()):
    if count:  # an empty canvas reads nothing
      raw = scatter.example_stream(config.seed, split, start + j).random_raw(
          count * (side_words + 2 * scatter.CANDIDATES))
      side_raw[j, :count * side_words] = raw[:count * side_words]
      batches[j, :count] = raw[count * side_words:].reshape(count, -1)
  sides = np.where(valid, scatter.uniform_integers(side_raw, low, high),
                   scatter.CELL_SIDE)
  cells, masks, fg_boxes = _scaled_cells(images[indices], sides[valid])
  padded_boxes = np.zeros((num, depth, 4), np.int64)
  padded_boxes[valid] = fg_boxes
  positions, done = scatter.place_many(sides, padded_boxes, counts,
                                       config.canvas, config.max_overlap,
                                       batches)
  digit = np.where(valid, first, -1)  # position in the chunk's digits
  for j in np.flatnonzero(~done):  # rare: replay this example's stream
    rng = scatter.example_stream(config.seed, split, start + j)
    scatter.digit_sides(counts[j], config.min_scale, config.max_scale, rng)
    mine = first[j, :counts[j]]
    placed, kept = scatter.place(sides[j, :counts[j]], fg_boxes[mine],
                                 config.canvas, config.max_overlap, rng)
    digit[j] = -1
    digit[j, :kept.sum()] = mine[kept]
    positions[j, :kept.sum()] = placed
  is_kept = digit >= 0  # kept digits come first in each row
  kept_counts = is_kept.sum(axis=1)
  kept_digits = digit[is_kept]
  digit_labels = labels[indices[kept_digits]]
  kept_rows = [row[:count] for row, count in zip(digit.tolist(), kept_counts)]
  kept_cells = [[cells[d] for d in row] for row in kept_rows]
  images_out, owners, class_masks = scatter.compose(
      kept_cells, [[masks[d] for d in row] for row in kept_rows],
      np.split(digit_labels, np.cumsum(kept_counts)[:-1]), positions,
      config.canvas)
  owned = geometry.normalized_boxes(
      scatter.owned_boxes(owners, kept_cells, positions,
                          kept_counts).reshape(-1, 4),
      *config.canvas).reshape(num, -1, 4)
  kept_sides = np.array([cells[d].shape[0] for d in kept_digits], np.float64)
  objects = {
      "bbox": owned[is_kept[:, :owned.shape[1]]], "label": digit_labels,
      "index": indices[kept_digits],
      "position": positions[is_kept].astype(np.int32),
      "scale": (kept_sides / CELL_HEIGHT).astype(np.float32),
  }
  return _examples(start, images_out, class_masks, owners, objects,
                   kept_counts)


def pair_examples(config, split, images, labels, start, stop):
  """Examples [start, stop) of a pair config: [(index, example)]."""
  pool = source_pool(len(images), config.seed, split,
                     config.validation_fraction)
  pairs.check_classes(config.name, split, pool, labels)
  firsts = draw_from_stream(pool, config.seed, split, start, stop)
  draws = [pairs.pair_draws(config.seed, split, start + j, int(first), pool,
                            labels, config.canvas)
           for j, first in enumerate(firsts)]
  indices = np.array([[first, partner] for first, (partner, _)
                      in zip(firsts, draws)], np.int64).reshape(-1, 2)
  positions = np.array([p for _, p in draws], np.int64).reshape(-1, 2, 2)
  cells = images[indices]
  foreground = geometry.foreground_masks(
      cells.reshape(-1, CELL_HEIGHT, CELL_WIDTH)).reshape(cells.shape)
  digit_labels = labels[indices]
  counts = np.full(len(indices), 2)
  mosaics, owners, class_masks = scatter.compose(
      cells, foreground.astype(bool), digit_labels, positions, config.canvas)
  owned = geometry.normalized_boxes(
      scatter.owned_boxes(owners, cells, positions, counts).reshape(-1, 4),
      *config.canvas)
  return _examples(start, mosaics, class_masks, owners, {
      "bbox": owned, "label": digit_labels.reshape(-1),
      "index": indices.reshape(-1),
      "position": positions.reshape(-1, 2).astype(np.int32),
      "scale": np.ones(indices.size, np.float32),
  }, counts)


class Builder(builder.SourceBuilder):
  """Segmentation and detection: digits in a grid or scattered -> class and
  instance masks, boxes."""

  VERSION = VERSION
  RELEASE_NOTES = {
      "1.0.0": "Initial release.",
      "2.0.0": "Adds `index` (position in the split), `instances` (instance"
               " mask) and per-object `index`, `position` and `scale`; drops"
               " the top-level `labels` and `indices` (now `objects/label`,"
               " `objects/index`). Adds a `validation` split drawn from 10%"
               " of the source train digits, which `train` no longer uses.",
      "2.1.0": "Adds the scattered configs (`scatter`, `scatter_m2nist`,"
               " `scatter_scaled`, for every source) and `num_digits`. The"
               " grid configs' images, masks and objects are unchanged.",
      "2.2.0": "Adds the `multimnist` configs (for every source): MultiMNIST's"
               " two digits of different classes on 36x36. Every other"
               " config's examples are unchanged (same fingerprints).",
  }
  BUILDER_CONFIGS = BUILDER_CONFIGS

  def __init__(self, *, config=None, **kwargs):
    # TFDS would list the closest names only: say how to make any layout.
    if isinstance(config, str) and config not in self.builder_configs:
      raise ValueError(
          f"mnist_mosaic has no config {config!r}; it has"
          f" {', '.join(self.builder_configs)}. For another grid, canvas or"
          " count, pass config=mnist_derived.MosaicConfig(name=...,"
          " grid_rows=..., grid_cols=...) or mnist_derived.ScatterConfig("
          "name=..., canvas_height=..., ...) to tfds.builder")
    super().__init__(config=config, **kwargs)

  def _info(self):
    config = self.builder_config
    source = sources.SOURCES[config.source]
    shape = config.canvas + (1,)
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
                    dtype=np.float32, doc="Side of the placed cell / 28"),
            }, length=None if isinstance(config, ScatterConfig)
               else config.max_objects),
            "num_digits": tfds.features.Scalar(
                dtype=np.int32, doc="Number of objects"),
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
    layout = grid_examples
    if isinstance(config, ScatterConfig):
      layout = scatter_examples
    elif isinstance(config, PairConfig):
      layout = pair_examples
    return layout(config, split, images, labels, start, stop)
