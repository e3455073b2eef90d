"""mnist_moving's configs: bouncing digits of every source."""

import dataclasses

import tensorflow_datasets as tfds

from mnist_derived.core import builder
from mnist_derived.core import sources

VERSION = tfds.core.Version("1.0.0")
BACKGROUND_NAME = "background"


@dataclasses.dataclass(eq=False)
class MovingConfig(builder.DrawnConfig):
  """Sequences of `num_digits` digits bouncing in a square canvas
  (`motion.py` states the rule).

  `validation` sequences draw only from a seeded `validation_fraction` of
  the source train split that `train` never uses (the mosaics' pools);
  `test` sequences from the source test split.
  """

  num_digits: int = 2
  num_frames: int = 20
  canvas_side: int = 64
  step: float = 0.1  # of the free range (canvas - 28) per frame
  num_train: int = 10_000
  num_validation: int = 1_000
  version: object = VERSION

  def __post_init__(self):
    super().__post_init__()
    if self.num_digits < 1 or self.num_frames < 1:
      raise ValueError(f"{self.name}: need num_digits >= 1 and num_frames >= 1")
    if self.canvas_side <= sources.IMAGE_SHAPE[0]:
      raise ValueError(f"{self.name}: a 28-pixel digit needs room to move in"
                       f" a canvas wider than 28, not {self.canvas_side}")
    if not 0 < self.step < 1:
      raise ValueError(f"{self.name}: step is a fraction of the range in"
                       " (0, 1)")

  @property
  def canvas(self):
    return (self.canvas_side, self.canvas_side)


BUILDER_CONFIGS = [
    MovingConfig(name=source, source=source,
                 description=f"Two {source} digits bouncing in 64x64, 20"
                             " frames (Srivastava et al.'s rule).")
    for source in sources.SOURCES
]
