"""Fingerprints of built datasets: one hash over every decoded example.

    mnist-derived verify mnist_fg/mnist [--data_dir DIR]

A fingerprint is the SHA-256, per split, over each example's decoded
features in the order TFDS stores them, which TFDS derives from the example
keys alone (a fixed hash of each key, or the keys themselves for an
unshuffled dataset). Each feature contributes its path, dtype, shape and
bytes, so two builds agree exactly when every decoded pixel, label and
number agrees, in the same order. Shard count, file format (tfrecord or
array_record), Beam or not, and the PNG encoder's bytes do not change it.

The fingerprints of the default configs built from real MNIST are published
in each dataset's folder (`FINGERPRINTS.json`, every version's) and in the
README; the command says whether a build matches them, and CI builds and
checks every dataset whose current version has some
(`published_datasets`).
"""

import hashlib
import json
import pathlib

import numpy as np
import tensorflow_datasets as tfds

from mnist_derived import decoding

# In each dataset's folder, beside its builder, where setup.cfg ships it.
PUBLISHED = "FINGERPRINTS.json"


def example_digest(example, specs=None):
  """SHA-256 bytes of one decoded (numpy) example.

  specs: `feature_specs` of its dataset, to read each value as its feature's
  array (the two TFDS readers hand out scalars as numpy scalars or Python
  ints, and variable-length sequences as arrays or lists).
  """
  digest = hashlib.sha256()
  if specs is not None:
    example = decoding.as_arrays(example, specs)
  for path, value in decoding.leaves(example):
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


def dataset_fingerprints(name, data_dir=None):
  """{split: hex fingerprint} of a built dataset, e.g. 'mnist_fg/mnist'."""
  return builder_fingerprints(tfds.builder(name, data_dir=data_dir))


def builder_fingerprints(builder):
  """{split: hex fingerprint} of the dataset a builder has built."""
  if not builder.is_prepared():
    raise FileNotFoundError(
        f"{builder.name} is not built in {builder.data_dir}: run `tfds build`"
        " first")
  # stored_examples types every value as its feature's array already.
  return {split: split_fingerprint(decoding.stored_examples(builder, split))
          for split in sorted(builder.info.splits)}


def published_fingerprints():
  """{'name/config/version': {split: fingerprint}} of every registered
  dataset's folder."""
  from mnist_derived.core import builder as builder_lib  # pylint: disable=g-import-not-at-top
  published = {}
  for builder_class in builder_lib.registered().values():
    path = pathlib.Path(builder_class.code_path).parent / PUBLISHED
    if path.exists():
      published.update(json.loads(path.read_text()))
  return published


def published_datasets():
  """'name/config' of each dataset whose current version has published
  fingerprints: what CI builds from real MNIST and checks."""
  from mnist_derived.core import builder as builder_lib  # pylint: disable=g-import-not-at-top
  published = published_fingerprints()
  return sorted(
      f"{name}/{config}"
      for name, builder_class in builder_lib.registered().items()
      for config in builder_class.builder_configs
      if f"{name}/{config}/{builder_class.VERSION}" in published)
