"""mnist_circles: MNIST-format digits with their tight (minimal enclosing) circle."""

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived import geometry
from mnist_derived.core import builder
from mnist_derived.core import examples
from mnist_derived.core import sources
from mnist_derived.datasets.mnist_circles import declaration

HEIGHT, WIDTH = sources.IMAGE_SHAPE[:2]


class Builder(builder.SourceBuilder):
  """Classification with circlization: image -> label and enclosing circle."""

  VERSION = tfds.core.Version("1.1.0")
  RELEASE_NOTES = {
      "1.0.0": "Initial release.",
      "1.1.0": "Each stored float32 circle covers every pixel of its mask"
               " exactly (radius rounded up to the next float32 where the"
               " nearest one fell short by up to 1.5e-6 px); an empty mask"
               " gets the frame center with radius 0 instead of NaN.",
  }
  BUILDER_CONFIGS = builder.source_configs(VERSION)
  DECLARATION = declaration.DECLARATION

  def _info(self):
    source = sources.SOURCES[self.builder_config.source]
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=sources.IMAGE_SHAPE),
            "label": builder.class_label(source.name),
            "circle": tfds.features.Tensor(
                shape=(3,), dtype=np.float32,
                doc="(cx, cy, r) in pixels, pixel (row i, col j) at (j, i):"
                " the minimal circle holding every mask pixel center, which"
                " satisfies (j - cx)^2 + (i - cy)^2 <= r^2 in float64; an"
                " empty mask gets (13.5, 13.5, 0)"),
            "circle_normalized": tfds.features.Tensor(
                shape=(3,), dtype=np.float32,
                doc="(cx / 28, cy / 28, r / (14 sqrt 2)), each in [0, 1]"),
            "bbox": tfds.features.BBoxFeature(
                doc="Tight box of the TSS mask, along pixel edges"),
            "index": tfds.features.Scalar(
                dtype=np.int64, doc="Position in the source split"),
        }),
        supervised_keys=(
            "image", {"label": "label", "circle": "circle_normalized"}),
        homepage=source.homepage,
    )

  @classmethod
  def arrays_of(cls, config, split, images, labels, indices):
    del config, split  # every source and split is derived the same way
    masks = geometry.foreground_masks(images[indices])
    circles = geometry.covering_float32(
        geometry.min_enclosing_circles(masks), masks)
    return examples.Examples(indices, {
        "image": images[indices],
        "label": labels[indices],
        "circle": circles,
        "circle_normalized": geometry.normalize_circles(circles, HEIGHT, WIDTH),
        "bbox": geometry.normalized_boxes(geometry.tight_boxes(masks), HEIGHT,
                                          WIDTH),
        "index": indices,
    })
