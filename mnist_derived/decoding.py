"""Built examples as numpy: the one reader of a split, for either file format.

A split built as array_record is read through `tfds.data_source` (numpy,
no TensorFlow); one built as tfrecord through tf.data, which needs
TensorFlow. Both give the values `tfds.load` gives, in stored order.
"""

import importlib.util
import os
import re
import sys

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


class DamagedRecord(errors.InputError):
  """A record file of a build cannot be read back: its bytes have changed
  since it was written (a bad disk, a partial copy, an edit)."""


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


def frame_keys(features):
  """Top-level sequences of images (a sequence's frames and their masks)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return [key for key, feature in features.items()
          if isinstance(feature, tfds.features.Sequence)
          and isinstance(feature.feature, tfds.features.Image)]


def is_array_record(builder):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD


def read_records(source, indices):
  """Examples at `indices` of a TFDS data source, in one call where it can.

  `__getitems__` is the batched read of TFDS's array_record data source
  (what grain and PyTorch call); tests/test_loaders.py checks it is there.
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
  Reads chunk by chunk: memory does not grow with the split. A record that
  cannot be read is a DamagedRecord naming its file.
  """
  from mnist_derived import progress  # pylint: disable=g-import-not-at-top
  decoders = _decoders(builder, keys, decode_images)
  if is_array_record(builder):
    examples = _data_source_examples(builder, split, decoders)
  else:
    examples = _tf_data_examples(builder, split, decoders, keys)
  examples = progress.counted(
      examples, builder.info.splits[split].num_examples,
      f"reading {builder.name}/{builder.builder_config.name} {split}")
  while True:
    try:
      example = next(examples)
    except StopIteration:
      return
    except _read_errors():
      damage = first_damage(builder, split)
      if damage is None:  # not the records: a bug, with its traceback
        raise
      raise damage from None
    yield example


def _read_errors():
  """What the readers raise for bytes that fail their checksums: riegeli's
  RuntimeError (array_record), TensorFlow's DataLossError (tfrecord)."""
  tensorflow = sys.modules.get("tensorflow")
  if tensorflow is None:
    return (RuntimeError,)
  return (RuntimeError, tensorflow.errors.DataLossError)


def split_files(builder, split):
  """[(path, examples)] of a built split's record files, in shard order."""
  info = builder.info.splits[split]
  return list(zip(info.filepaths, info.shard_lengths))


def damaged_records(builder, split):
  """[(path, record, problem)]: the first record of each of a split's files
  that fails its checksum (record None where the file cannot be opened)."""
  if is_array_record(builder):
    return _damaged_array_records(builder, split)
  return [(path, *bad) for path, length in split_files(builder, split)
          for bad in [_first_bad_tfrecord(path, length)] if bad]


def first_damage(builder, split):
  """A DamagedRecord of the first damaged record of a split, or None."""
  found = damaged_records(builder, split)
  if not found:
    return None
  path, record, problem = found[0]
  return DamagedRecord(damage_message(builder, path, record, problem))


def damage_line(path, record, problem):
  where = f"record {record}" if record is not None else "the file"
  return f"{path}: {where} cannot be read ({problem})"


def damage_message(builder, path, record, problem):
  name = f"{builder.name}/{builder.builder_config.name}"
  return (f"{damage_line(path, record, problem)}; the build is damaged:"
          f" `mnist-derived verify {name}` checks all of it; delete"
          f" {os.fspath(builder.data_dir)} and build it again")


def _first_line(error):
  """An error's first line, without the op names TensorFlow wraps it in."""
  line = (str(error).strip().splitlines() or [type(error).__name__])[0]
  line = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", line)
  return re.sub(r"\s*\[Op:[^\]]*\].*$", "", line)


def _first_bad_tfrecord(path, length):
  """(record, problem) of the first record of a tfrecord file that TF's
  reader refuses (a checksum, a truncation, a missing tail), or None."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  count = 0
  try:
    for _ in tf.data.TFRecordDataset(os.fspath(path)):
      count += 1
  except (tf.errors.DataLossError, tf.errors.NotFoundError) as e:
    return count, _first_line(e.message)
  if count != length:
    return count, f"it holds {count} records, its dataset_info.json {length}"
  return None


def _damaged_array_records(builder, split):
  try:
    source = builder.as_data_source(split=split, decoders=_skip_images(builder))
  except _read_errors() as e:
    return [(path, None, _first_line(e)) for path, _ in split_files(builder,
                                                                     split)]
  found, start = [], 0
  for path, length in split_files(builder, split):
    bad = _first_unreadable(source, start, start + length)
    if bad is not None:
      found.append((path, bad[0] - start, bad[1]))
    start += length
  return found


def _first_unreadable(source, start, stop):
  """(index, problem) of the first index in [start, stop) a data source
  cannot read, or None: by chunks, then one by one in a failing chunk."""
  for begin in range(start, stop, _CHUNK):
    end = min(begin + _CHUNK, stop)
    try:
      read_records(source, range(begin, end))
      continue
    except _read_errors():
      pass
    for index in range(begin, end):
      try:
        source[index]
      except _read_errors() as e:
        return index, _first_line(e)
  return None


def _skip_images(builder):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return {key: tfds.decode.SkipDecoding()
          for key in image_keys(builder.info.features)} or None


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
