"""Composed mosaics as `Examples`: the features every layout gives."""

import numpy as np

from mnist_derived.core import examples


def mosaic_examples(indices, images, masks, instances, objects, counts):
  """Examples at `indices` from their canvases (E, H, W) and the objects of
  all of them in order, counts[j] of them example j's."""
  return examples.Examples(indices, {
      "image": images, "mask": masks, "instances": instances,
      "num_digits": np.asarray(counts, np.int32), "index": indices,
  }, {"objects": (objects, np.asarray(counts, np.int64))})
