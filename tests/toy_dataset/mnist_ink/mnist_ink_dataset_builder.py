"""mnist_ink: each image with the number of its foreground pixels. A dataset
written as a new one would be, to show that one folder is all it takes."""

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived import geometry
from mnist_derived.core import builder
from mnist_derived.core import examples
from mnist_derived.core import sources
from mnist_ink import declaration


class Builder(builder.SourceBuilder):
  """Counting: image -> how many of its pixels are foreground."""

  VERSION = tfds.core.Version("0.1.0")
  RELEASE_NOTES = {"0.1.0": "A test's dataset."}
  BUILDER_CONFIGS = builder.source_configs(VERSION)
  DECLARATION = declaration.DECLARATION

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=sources.IMAGE_SHAPE),
            "ink": tfds.features.Scalar(dtype=np.int32,
                                        doc="foreground pixels"),
            "index": tfds.features.Scalar(dtype=np.int64),
        }),
        supervised_keys=("image", "ink"))

  @classmethod
  def arrays_of(cls, config, split, images, labels, indices):
    del config, split, labels
    batch = images[indices]
    masks = geometry.foreground_masks(batch, geometry.tss_thresholds(batch))
    return examples.Examples(indices, {
        "image": batch, "ink": masks.sum(axis=(1, 2)), "index": indices})
