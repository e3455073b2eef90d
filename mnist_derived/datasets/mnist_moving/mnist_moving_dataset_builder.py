"""mnist_moving: MNIST-format digits bouncing in a canvas, with masks,
identities and trajectories."""

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived.core import builder
from mnist_derived.core import sources
from mnist_derived.datasets.mnist_moving import configs
from mnist_derived.datasets.mnist_moving import declaration
from mnist_derived.datasets.mnist_moving import motion


class Builder(builder.DrawnSplits):
  """Video prediction, segmentation and tracking: bouncing digits -> frames,
  class and instance masks, and each digit's path."""

  VERSION = configs.VERSION
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = configs.BUILDER_CONFIGS
  DECLARATION = declaration.DECLARATION
  OTHER_CONFIGS_HINT = (
      ". For another count of digits, frames or sequences, pass"
      " config=mnist_derived.MovingConfig(name=..., num_digits=...) to"
      " tfds.builder")

  def _info(self):
    config = self.builder_config
    source = sources.SOURCES[config.source]
    frames, frame = config.num_frames, config.canvas + (1,)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            # A Sequence of Images, not a Video: TFDS's Video needs
            # TensorFlow even to be declared.
            "image": tfds.features.Sequence(tfds.features.Image(shape=frame),
                                            length=frames),
            "mask": tfds.features.Sequence(tfds.features.LabeledImage(
                labels=[configs.BACKGROUND_NAME, *source.class_names],
                shape=frame), length=frames,
                doc="Per frame: 0 = background, d + 1 = class d"),
            "instances": tfds.features.Sequence(tfds.features.Image(
                shape=frame, use_colormap=True), length=frames,
                doc="Per frame: 0 = background, k = the k-th digit"),
            "objects": tfds.features.Sequence(_object_features(
                source.name, frames), length=config.num_digits),
            "num_digits": tfds.features.Scalar(dtype=np.int32,
                                               doc="Number of digits"),
            "index": tfds.features.Scalar(dtype=np.int64,
                                          doc="Position in the split"),
        }),
        homepage=source.homepage,
    )

  @classmethod
  def arrays_of(cls, config, split, images, labels, indices):
    return motion.sequence_examples(config, split, images, labels, indices)


def _object_features(source_name, frames):
  per_frame = lambda shape, dtype, doc: tfds.features.Tensor(
      shape=(frames, *shape), dtype=dtype, doc=doc)
  return {
      "label": builder.class_label(source_name),
      "index": tfds.features.Scalar(dtype=np.int64,
                                    doc="Position in the source split"),
      "position": per_frame((2,), np.int32, "(row, column) of the cell's"
                            " top-left pixel in each frame"),
      "velocity": per_frame((2,), np.float32, "(row, column) pixels per frame"
                            " it leaves each frame with"),
      "bbox": per_frame((4,), np.float32, "Tight box (ymin, xmin, ymax, xmax"
                        " in [0, 1]) of its pixels in `instances`; zeros"
                        " where it owns none"),
      "visible": per_frame((), np.float32, "Pixels it owns / pixels of its"
                           " foreground mask"),
      "mask": tfds.features.Tensor(
          shape=sources.IMAGE_SHAPE[:2], dtype=np.bool_,
          doc="Its whole foreground (TSS) mask, hidden parts included: at"
          " `position` in frame t it covers its pixels there"),
  }
