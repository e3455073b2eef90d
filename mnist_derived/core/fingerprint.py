"""Fingerprints of built datasets: one hash over every decoded example.

    mnist-derived-fingerprint mnist_fg/mnist [--data_dir DIR]

A fingerprint is the SHA-256, per split, over each example's decoded
features in the order TFDS stores them, which TFDS derives from the example
keys alone (a fixed hash of each key, or the keys themselves for an
unshuffled dataset). Each feature contributes its path, dtype, shape and
bytes, so two builds agree exactly when every decoded pixel, label and
number agrees, in the same order. Shard count, file format (tfrecord or
array_record), Beam or not, and the PNG encoder's bytes do not change it.

The fingerprints of the default configs built from real MNIST are published
in mnist_derived/FINGERPRINTS.json and in the README; the command says
whether a build matches them.
"""

import argparse
import hashlib
import json
import pathlib
import sys

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived.core import cli_support

# Beside the package root, where setup.cfg ships it.
PUBLISHED = pathlib.Path(__file__).parents[1] / "FINGERPRINTS.json"


def _leaves(example, prefix=""):
  """(path, value) of every feature of a nested example, sorted by path."""
  for key in sorted(example):
    value = example[key]
    path = f"{prefix}/{key}"
    if isinstance(value, dict):
      yield from _leaves(value, path)
    else:
      yield path, value


def example_digest(example, specs=None):
  """SHA-256 bytes of one decoded (numpy) example.

  specs: `feature_specs` of its dataset, to read each value as its feature's
  array (the two TFDS readers hand out scalars as numpy scalars or Python
  ints, and variable-length sequences as arrays or lists).
  """
  digest = hashlib.sha256()
  if specs is not None:
    example = as_arrays(example, specs)
  for path, value in _leaves(example):
    value = np.asarray(value)
    if value.dtype == object:  # strings: hash the bytes themselves
      data = b"\0".join(bytes(v) for v in value.ravel())
    else:
      data = np.ascontiguousarray(value).tobytes()
    digest.update(f"{path}|{value.dtype.str}|{value.shape}|{len(data)}|".encode())
    digest.update(data)
  return digest.digest()


def split_fingerprint(examples, specs=None):
  """Hex SHA-256 over the digests of examples, in their order."""
  digest = hashlib.sha256()
  for example in examples:
    digest.update(example_digest(example, specs))
  return digest.hexdigest()


def feature_specs(features):
  """{feature path: (numpy dtype, shape)} of a FeaturesDict, paths as
  `_leaves` names them ("/objects/bbox"); None for a dimension of unknown
  length (a variable-length sequence)."""
  return {path: (np.dtype(info.np_dtype), info.shape)
          for path, info in _leaves(features.get_tensor_info())}


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


def dataset_fingerprints(name, data_dir=None):
  """{split: hex fingerprint} of a built dataset, e.g. 'mnist_fg/mnist'."""
  return builder_fingerprints(tfds.builder(name, data_dir=data_dir))


def builder_fingerprints(builder):
  """{split: hex fingerprint} of the dataset a builder has built."""
  if not builder.is_prepared():
    raise FileNotFoundError(
        f"{builder.name} is not built in {builder.data_dir}: run `tfds build`"
        " first")
  specs = feature_specs(builder.info.features)
  return {split: split_fingerprint(_decoded_examples(builder, split), specs)
          for split in sorted(builder.info.splits)}


def _decoded_examples(builder, split):
  """A split's examples as numpy, in stored order, for either file format."""
  if builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD:
    source = builder.as_data_source(split=split)
    return (source[i] for i in range(len(source)))
  return tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))


def builder_key(builder):
  """'name/config/version', as FINGERPRINTS.json names a dataset."""
  return f"{builder.name}/{builder.builder_config.name}/{builder.version}"


def published_fingerprints():
  return json.loads(PUBLISHED.read_text())


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog="mnist-derived-fingerprint",
      description="Fingerprint built mnist_derived datasets and check them"
      " against the published fingerprints (built from real MNIST).")
  parser.add_argument("datasets", nargs="+",
                      help="e.g. mnist_fg/mnist mnist_mosaic/2x2")
  cli_support.add_data_dir(parser)
  args = parser.parse_args(argv)
  cli_support.import_tensorflow_quietly()
  published = published_fingerprints()
  mismatches = 0
  for name in args.datasets:
    with cli_support.one_line_errors():
      builder = cli_support.built_builder(name, args.data_dir)
    key = builder_key(builder)
    expected = published.get(key)
    for split, value in builder_fingerprints(builder).items():
      if expected is None:
        verdict = "(none published)"
      elif expected.get(split) == value:
        verdict = "matches the published fingerprint"
      else:
        verdict = f"DIFFERS from the published {expected.get(split)}"
        mismatches += 1
      print(f"{key} {split} {value} {verdict}")
  return 1 if mismatches else 0


if __name__ == "__main__":
  sys.exit(main())
