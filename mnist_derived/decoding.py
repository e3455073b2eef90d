"""Built examples as numpy: the one reader of a split, for either file format.

A split built as array_record is read through `tfds.data_source` (numpy,
no TensorFlow); one built as tfrecord through tf.data, which needs
TensorFlow. Both give the values `tfds.load` gives, in stored order.
"""

import importlib.util

import numpy as np

from mnist_derived.core import errors

# Examples read per call of a data source.
_CHUNK = 1024
TENSORFLOW_INSTALL = "pip install 'mnist-derived[tensorflow]'"


class NeedsTensorFlow(errors.InputError):
  """What was asked for needs TensorFlow, which is not installed."""

  def __init__(self, what, instead=""):
    super().__init__(f"{what} needs TensorFlow, which is not installed:"
                     f" {TENSORFLOW_INSTALL}{instead}")


def tensorflow_installed():
  """True where `import tensorflow` would find the package (nothing imported)."""
  return importlib.util.find_spec("tensorflow") is not None


def leaves(tree, prefix=""):
  """(path, value) of every leaf of a nested dict, sorted by path."""
  for key in sorted(tree):
    value = tree[key]
    path = f"{prefix}/{key}"
    if isinstance(value, dict):
      yield from leaves(value, path)
    else:
      yield path, value


def feature_specs(features):
  """{feature path: (numpy dtype, shape)} of a FeaturesDict, paths as
  `leaves` names them ("/objects/bbox"); None for a dimension of unknown
  length (a variable-length sequence)."""
  return {path: (np.dtype(info.np_dtype), info.shape)
          for path, info in leaves(features.get_tensor_info())}


def as_arrays(example, specs, prefix=""):
  """An example with every leaf a numpy array of its feature's dtype.

  A variable-length sequence may come as a list (array_record data sources)
  and, when empty, without its inner shape: an empty one gets the shape
  (0, ...) of its feature, as tf.data gives it.
  """
  arrays = {}
  for key, value in example.items():
    path = f"{prefix}/{key}"
    if isinstance(value, dict):
      arrays[key] = as_arrays(value, specs, path)
      continue
    dtype, shape = specs[path]
    value = np.asarray(value, dtype=dtype)
    if value.size == 0 and len(shape) > 1:
      value = value.reshape((0,) + tuple(d or 0 for d in shape[1:]))
    arrays[key] = value
  return arrays


def image_keys(features):
  """Top-level image features (images and masks), stored as PNG."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return [key for key, feature in features.items()
          if isinstance(feature, tfds.features.Image)]


def is_array_record(builder):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD


def read_records(source, indices):
  """Examples at `indices` of a TFDS data source, in one call where it can.

  `__getitems__` is the batched read of TFDS's array_record data source
  (what grain and PyTorch call); tests/test_decoding.py checks it is there.
  """
  indices = [int(i) for i in indices]
  batched = getattr(source, "__getitems__", None)
  if batched is None:
    return [source[i] for i in indices]
  return batched(indices)


def stored_examples(builder, split, keys=None, decode_images=True):
  """Yields a built split's examples as numpy dicts, in stored order.

  keys: the top-level features to decode (default all); decode_images=False
  leaves image features as their stored PNG bytes (what an exporter copies).
  Reads chunk by chunk: memory does not grow with the split.
  """
  decoders = _decoders(builder, keys, decode_images)
  if is_array_record(builder):
    yield from _data_source_examples(builder, split, decoders)
  else:
    yield from _tf_data_examples(builder, split, decoders, keys)


def _data_source_examples(builder, split, decoders):
  """A data source's examples with the types tf.data gives: numpy arrays
  for its Python ints and lists (image bytes left as they are)."""
  source = builder.as_data_source(split=split, decoders=decoders)
  specs = feature_specs(builder.info.features)
  for skipped in decoders or ():
    del specs[f"/{skipped}"]
  for start in range(0, len(source), _CHUNK):
    stop = min(start + _CHUNK, len(source))
    for example in read_records(source, range(start, stop)):
      yield {**example, **as_arrays({k: v for k, v in example.items()
                                     if k not in (decoders or ())}, specs)}


def _decoders(builder, keys, decode_images):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  features = builder.info.features
  skip = set(features) - set(keys) if keys is not None else set()
  if not decode_images:
    skip |= set(image_keys(features))
  # Only images can be left undecoded; other unwanted features are dropped.
  return {key: tfds.decode.SkipDecoding() for key in skip
          if key in image_keys(features)} or None


def _tf_data_examples(builder, split, decoders, keys):
  if not tensorflow_installed():
    raise NeedsTensorFlow(
        f"{builder.name}/{builder.builder_config.name} is built as tfrecord,"
        " which", "; or build it again with `mnist-derived build"
        f" {builder.name}/{builder.builder_config.name} --file_format"
        " array_record ...`")
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  if keys is not None:
    # PartialDecoding drops the features not named; it takes decoders of
    # the named ones only.
    named = {k: v for k, v in (decoders or {}).items() if k in keys}
    decoders = tfds.decode.PartialDecoding({k: True for k in keys},
                                           decoders=named or None)
  ds = builder.as_dataset(split=split, shuffle_files=False, decoders=decoders,
                          read_config=tfds.ReadConfig(try_autocache=False))
  yield from tfds.as_numpy(ds)
