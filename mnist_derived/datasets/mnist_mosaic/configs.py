"""mnist_mosaic's configs: grids, scatterings and pairs, for every source."""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived.core import builder
from mnist_derived.core import sources
from mnist_derived.datasets.mnist_mosaic import drawing

CELL_HEIGHT = CELL_WIDTH = drawing.CELL_SIDE
BACKGROUND_NAME = "background"
VERSION = tfds.core.Version("2.2.0")


@dataclasses.dataclass(eq=False)
class MosaicSplits(builder.DrawnConfig):
  """What every mosaic config shares: the source, each split's count and
  the version.

  `validation` mosaics draw only from a seeded `validation_fraction` of the
  source train split that `train` mosaics never use; `test` mosaics draw
  from the source test split.
  """

  version: object = VERSION


@dataclasses.dataclass(eq=False)
class MosaicConfig(MosaicSplits):
  """A grid of digits: rows x cols cells of 28x28, one digit in each."""

  layout = "grid"  # the module that draws it: grids.py
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

  objects_length = max_objects  # every cell holds a digit


@dataclasses.dataclass(eq=False)
class ScatterConfig(MosaicSplits):
  """Digits placed freely on a canvas (see `scatter.py` for the rules).

  Each example gets a uniform number of digits in [min_digits, max_digits],
  each resized (when the scale range is not 1) to a side drawn uniformly
  among the integers in [28 min_scale, 28 max_scale], placed at a uniform
  position with its cell inside the canvas, so that no two digits'
  foreground boxes share more than `max_overlap` of the smaller box.
  """

  layout = "scatter"  # scatter.py
  objects_length = None  # any number up to max_digits
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

  layout = "pairs"  # pairs.py
  objects_length = max_objects = 2
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
