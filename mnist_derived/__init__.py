"""mnist-derived: TFDS builders for datasets derived from MNIST.

Importing this package registers the builders with TFDS (its only side
effect, but for one inside TFDS's own `tfds` command: its input errors
then end in one line, as ours do; see `cli/process.py`), so that ``tfds.load('mnist_fg')``, ``tfds.load('mnist_circles')``
``tfds.load('mnist_mosaic')`` and ``tfds.load('mnist_moving')`` work, and ``tfds build --imports
mnist_derived`` finds them. It imports neither TensorFlow nor Keras.

Where things live: ``core/`` the builder framework, ``datasets/`` one folder
per dataset, ``geometry/`` the ground truth, ``evaluation/`` the scores and
the predictions scorer, ``export/`` Parquet, COCO and Croissant,
``loaders/`` PyTorch and grain, built or generated splits, ``show.py``
montages, ``cli/`` the command.
"""

import sys

from mnist_derived.core import errors as _errors

from mnist_derived import datasets  # noqa: F401  (registers every folder's builder)
from mnist_derived.datasets.mnist_circles import mnist_circles_dataset_builder
from mnist_derived.datasets.mnist_fg import mnist_fg_dataset_builder
from mnist_derived.datasets.mnist_mosaic import configs as mosaic_configs
from mnist_derived.datasets.mnist_mosaic import mnist_mosaic_dataset_builder
from mnist_derived.datasets.mnist_moving import configs as moving_configs
from mnist_derived.datasets.mnist_moving import mnist_moving_dataset_builder

__version__ = "0.8.0"

MnistFg = mnist_fg_dataset_builder.Builder
MnistCircles = mnist_circles_dataset_builder.Builder
MnistMosaic = mnist_mosaic_dataset_builder.Builder
MosaicConfig = mosaic_configs.MosaicConfig
ScatterConfig = mosaic_configs.ScatterConfig
PairConfig = mosaic_configs.PairConfig
MnistMoving = mnist_moving_dataset_builder.Builder
MovingConfig = moving_configs.MovingConfig

if _errors.TFDS_CLI_MODULE in sys.modules:  # inside the `tfds` command
  from mnist_derived.cli import process as _process
  _process.one_line_under_tfds_cli()
