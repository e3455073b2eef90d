"""A chunk of composed mosaics as TFDS examples."""

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived.core import encoding


def chunk_examples(start, images, masks, instances, objects, counts):
  """[(index, example)] of a chunk: canvases (E, H, W) and the objects of
  all its examples in order, counts[j] of them example j's.

  Objects go to TFDS as Python lists and BBox tuples, which its Sequence
  feature encodes faster than numpy rows (the stored values are the same).
  """
  columns = {name: values.tolist() for name, values in objects.items()}
  columns["bbox"] = [tfds.features.BBox(*box) for box in columns["bbox"]]
  ends = np.cumsum(counts).tolist()
  pngs = zip(*(encoding.png_batch(canvases)
               for canvases in (images, masks, instances)))
  return [(start + j, {
      "image": image, "mask": mask, "instances": owners,
      "objects": {name: column[first:last]
                  for name, column in columns.items()},
      "num_digits": last - first,
      "index": start + j,
  }) for j, ((image, mask, owners), first, last) in enumerate(
      zip(pngs, [0] + ends, ends))]
