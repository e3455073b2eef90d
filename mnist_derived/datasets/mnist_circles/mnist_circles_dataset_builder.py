"""mnist_circles: MNIST-format digits with their tight (minimal enclosing) circle."""

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived import encoding
from mnist_derived import geometry
from mnist_derived import sources

HEIGHT, WIDTH = sources.IMAGE_SHAPE[:2]


class Builder(sources.SourceBuilder):
  """Classification with circlization: image -> label and enclosing circle."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}

  def _info(self):
    source = sources.SOURCES[self.builder_config.source]
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=sources.IMAGE_SHAPE),
            "label": sources.class_label(source.name),
            "circle": tfds.features.Tensor(
                shape=(3,), dtype=np.float32,
                doc="(cx, cy, r) in pixels; pixel (row i, col j) is at (j, i)"),
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
  def examples_of_chunk(cls, config, split, images, labels, start, stop):
    del config, split  # every source and split is derived the same way
    masks = geometry.foreground_masks(images[start:stop])
    circles = geometry.min_enclosing_circles(masks).astype(np.float32)
    normalized = geometry.normalize_circles(circles, HEIGHT, WIDTH)
    boxes = geometry.normalized_boxes(
        geometry.tight_boxes(masks), HEIGHT, WIDTH)
    return [(i, {
        "image": encoding.png_bytes(images[i]),
        "label": labels[i],
        "circle": circles[i - start],
        "circle_normalized": normalized[i - start],
        "bbox": tfds.features.BBox(*boxes[i - start]),
        "index": i,
    }) for i in range(start, stop)]
