"""mnist_mosaic: grids or scatterings of MNIST-format digits, with class and
instance masks."""

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived.core import builder
from mnist_derived.core import sources
from mnist_derived.datasets.mnist_mosaic import configs
from mnist_derived.datasets.mnist_mosaic import declaration
from mnist_derived.datasets.mnist_mosaic import grids
from mnist_derived.datasets.mnist_mosaic import pairs
from mnist_derived.datasets.mnist_mosaic import scatter


class Builder(builder.DrawnSplits):
  """Segmentation and detection: digits in a grid or scattered -> class and
  instance masks, boxes."""

  VERSION = configs.VERSION
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
  BUILDER_CONFIGS = configs.BUILDER_CONFIGS
  DECLARATION = declaration.DECLARATION
  OTHER_CONFIGS_HINT = (
      ". For another grid, canvas or count, pass"
      " config=mnist_derived.MosaicConfig(name=..., grid_rows=...,"
      " grid_cols=...), ScatterConfig(name=..., canvas_height=..., ...) or"
      " PairConfig(name=..., num_train=...) to tfds.builder")

  def _info(self):
    config = self.builder_config
    source = sources.SOURCES[config.source]
    shape = config.canvas + (1,)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=shape),
            "mask": tfds.features.LabeledImage(
                labels=[configs.BACKGROUND_NAME, *source.class_names], shape=shape,
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
            }, length=config.objects_length),
            "num_digits": tfds.features.Scalar(
                dtype=np.int32, doc="Number of objects"),
            "index": tfds.features.Scalar(
                dtype=np.int64, doc="Position in the split"),
        }),
        supervised_keys=("image", "mask"),
        homepage=source.homepage,
    )

  @classmethod
  def arrays_of(cls, config, split, images, labels, indices):
    return _LAYOUTS[config.layout](config, split, images, labels, indices)


_LAYOUTS = {"grid": grids.grid_examples, "scatter": scatter.scatter_examples,
            "pairs": pairs.pair_examples}
