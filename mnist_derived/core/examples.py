"""Examples as arrays: what a builder derives, before TFDS encodes it.

A builder's `arrays_of` gives `Examples`: its top-level features stacked
(one row per example) and each sequence feature (a mosaic's `objects`) as
the rows of every example concatenated, with a count per example. The
build encodes them for TFDS (`tfds_examples`); a generated split hands the
same arrays out as a built split's decoded ones (`decoded_columns`), so
both come from one derivation.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass
class Examples:
  """Examples at `index` (int64 (B,), positions in their split).

  features: {name: array (B, ...)} of the top-level features.
  sequences: {name: ({leaf: rows (R, ...)}, counts (B,))}, the rows of
  example j being the counts[j] after those of the examples before it.
  """

  index: np.ndarray
  features: dict
  sequences: dict = dataclasses.field(default_factory=dict)

  def __len__(self):
    return len(self.index)


def ranges(starts, counts):
  """The concatenation of range(start, start + count) for each pair."""
  starts, counts = np.asarray(starts, np.int64), np.asarray(counts, np.int64)
  first_of_each = np.cumsum(counts) - counts
  return np.arange(counts.sum()) + np.repeat(starts - first_of_each, counts)


def feature_kinds(features):
  """{path: 'png' | 'png frames' | 'bbox'} of the leaves of a FeaturesDict
  TFDS must get encoded (PNG bytes; a list of them per example for a
  sequence of images, as a sequence's frames) or typed (BBox tuples); others go
  as plain values."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  kinds = {}
  for name, feature in features.items():
    if (isinstance(feature, tfds.features.Sequence)
        and isinstance(feature.feature, tfds.features.Image)):
      kinds[name] = "png frames"
      continue
    inner = feature
    if isinstance(feature, tfds.features.Sequence):
      inner = feature.feature
    children = (inner.items() if isinstance(inner, tfds.features.FeaturesDict)
                else [(None, inner)])
    for leaf, child in children:
      path = name if leaf is None else f"{name}/{leaf}"
      if isinstance(child, tfds.features.Image):
        kinds[path] = "png"
      elif isinstance(child, tfds.features.BBoxFeature):
        kinds[path] = "bbox"
  return kinds


def _encoded(values, kind):
  """A column as TFDS takes it fastest: a list of PNG bytes, BBoxes or
  plain Python values (the stored values are the same as numpy's)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from mnist_derived.core import encoding  # pylint: disable=g-import-not-at-top
  if kind == "png":
    return encoding.png_batch(values)
  if kind == "png frames":  # (N, T, H, W, 1): each example's T frames
    values = np.asarray(values)
    frames = encoding.png_batch(values.reshape((-1,) + values.shape[2:]))
    num = values.shape[1]
    return [frames[j * num:(j + 1) * num] for j in range(len(values))]
  if kind == "bbox":
    return [tfds.features.BBox(*box) for box in np.asarray(values).tolist()]
  return np.asarray(values).tolist()


def tfds_examples(examples, kinds):
  """[(key, example)] for TFDS's writer; keys are the examples' positions."""
  columns = {name: _encoded(values, kinds.get(name))
             for name, values in examples.features.items()}
  cut = {}
  for name, (rows, counts) in examples.sequences.items():
    ends = np.cumsum(counts).tolist()
    encoded = {leaf: _encoded(values, kinds.get(f"{name}/{leaf}"))
               for leaf, values in rows.items()}
    cut[name] = [{leaf: column[first:last] for leaf, column in encoded.items()}
                 for first, last in zip([0] + ends[:-1], ends)]
  keys = examples.index.tolist()
  return [(key, {**{name: column[j] for name, column in columns.items()},
                 **{name: per_example[j] for name, per_example in cut.items()}})
          for j, key in enumerate(keys)]


def decoded_columns(examples, specs):
  """(fixed features, {parent: ({leaf: rows}, counts)}) as a built split's
  decoded arrays give them (`loaders.DecodedSplit.batch_columns`): each
  leaf in its feature's dtype and shape; a sequence of fixed length
  (a grid's objects) stacked like any fixed feature."""
  fixed, ragged = {}, {}
  for name, values in examples.features.items():
    dtype, shape = specs[f"/{name}"]
    fixed[name] = np.asarray(values, dtype).reshape((len(examples),) + shape)
  for name, (rows, counts) in examples.sequences.items():
    leaves = {}
    for leaf, values in rows.items():
      dtype, shape = specs[f"/{name}/{leaf}"]
      leaves[leaf] = np.asarray(values, dtype).reshape((-1,) + shape[1:])
      if shape[0] is not None:
        leaves[leaf] = leaves[leaf].reshape((len(examples),) + shape)
    if all(specs[f"/{name}/{leaf}"][1][0] is not None for leaf in rows):
      fixed[name] = leaves
    else:
      ragged[name] = (leaves, np.asarray(counts, np.int64))
  return fixed, ragged


def positions(indices, num_examples, what):
  """indices as int64 positions, each in [0, num_examples), or IndexError."""
  indices = np.asarray(indices, np.int64).reshape(-1)
  bad = (indices < 0) | (indices >= num_examples)
  if bad.any():
    raise IndexError(f"{what} has no example {int(indices[bad][0])}"
                     f" (it has {num_examples})")
  return indices
