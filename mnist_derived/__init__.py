"""mnist-derived: TFDS builders for datasets derived from MNIST.

Importing this package registers the builders, so that
``tfds.load('mnist_fg')``, ``tfds.load('mnist_circles')`` and
``tfds.load('mnist_mosaic')`` work, and ``tfds build --imports mnist_derived``
finds them.
"""

from mnist_derived import errors
from mnist_derived.datasets.mnist_circles import mnist_circles_dataset_builder
from mnist_derived.datasets.mnist_fg import mnist_fg_dataset_builder
from mnist_derived.datasets.mnist_mosaic import mnist_mosaic_dataset_builder

__version__ = "0.1.0"

errors.install_tfds_cli_hook()

MnistFg = mnist_fg_dataset_builder.Builder
MnistCircles = mnist_circles_dataset_builder.Builder
MnistMosaic = mnist_mosaic_dataset_builder.Builder
MosaicConfig = mnist_mosaic_dataset_builder.MosaicConfig
