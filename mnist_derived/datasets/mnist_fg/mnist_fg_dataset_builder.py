"""mnist_fg: every MNIST-format image with its TSS foreground mask."""

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived import geometry
from mnist_derived.core import builder
from mnist_derived.core import examples
from mnist_derived.core import sources
from mnist_derived.datasets.mnist_fg import declaration


class Builder(builder.SourceBuilder):
  """Foreground extraction: image -> binary mask from a per-image threshold."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = builder.source_configs(VERSION)
  DECLARATION = declaration.DECLARATION

  def _info(self):
    source = sources.SOURCES[self.builder_config.source]
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=sources.IMAGE_SHAPE),
            "mask": tfds.features.Image(
                shape=sources.IMAGE_SHAPE, use_colormap=True,
                doc="1 where image >= threshold (foreground), else 0"),
            "label": builder.class_label(source.name),
            "threshold": tfds.features.Scalar(
                dtype=np.int32,
                doc="TSS threshold t; mask = image >= t; 256 for a constant"
                " image (empty mask)"),
            "index": tfds.features.Scalar(
                dtype=np.int64, doc="Position in the source split"),
        }),
        supervised_keys=("image", "mask"),
        homepage=source.homepage,
    )

  @classmethod
  def arrays_of(cls, config, split, images, labels, indices):
    del config, split  # every source and split is derived the same way
    thresholds = geometry.tss_thresholds(images[indices])
    return examples.Examples(indices, {
        "image": images[indices],
        "mask": geometry.foreground_masks(images[indices], thresholds),
        "label": labels[indices],
        "threshold": thresholds,
        "index": indices,
    })
