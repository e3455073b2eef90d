"""What builder tests share: dummy data, its counts, a tiny mosaic builder,
and builds in a fresh process."""

import dataclasses
import subprocess
import sys

from etils import epath

from mnist_derived import MnistMosaic
from mnist_derived import MnistMoving
from mnist_derived.datasets.mnist_mosaic import mnist_mosaic_dataset_builder
from mnist_derived.datasets.mnist_moving import mnist_moving_dataset_builder
from mnist_derived.core import builder
from mnist_derived.core import examples
from mnist_derived.core import idx
from mnist_derived.core import sources
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

# TFDS reads a builder's card, citations and tags in its pkg_dir_path and its
# checksums beside its code_path: a builder defined outside its dataset's
# folder names both.
MNIST_MOSAIC_CODE = epath.Path(mnist_mosaic_dataset_builder.__file__)


def dummy_split_sizes(source=sources.DEFAULT_SOURCE):
  """{split: count} read from the dummy files' IDX headers, not hard-coded."""
  folder = DUMMY_DATA / source
  return {
      split: len(idx.read_labels(folder / labels, 10))
      for split, (_, labels) in sources.SPLIT_FILES.items()
  }


class TinyMosaic(MnistMosaic):
  """mnist_mosaic's 2x2, scatter, scatter_scaled and multimnist configs with a few
  dozen mosaics, for fast tests (multimnist's validation draws from a
  quarter of the dummy train digits: a tenth, two digits, is one class)."""

  name = "mnist_mosaic_tiny"
  code_path, pkg_dir_path = MNIST_MOSAIC_CODE, MNIST_MOSAIC_CODE.parent
  BUILDER_CONFIGS = [
      dataclasses.replace(MnistMosaic.builder_configs[name], num_train=40,
                          num_validation=6, num_test=12, **extra)
      for name, extra in [("2x2", {}), ("scatter", {}), ("scatter_scaled", {}),
                          ("multimnist", {"validation_fraction": 0.25})]
  ]


class SlowMosaic(MnistMosaic):
  """mnist_mosaic's 2x2 with enough mosaics that a build takes seconds: for
  the faults a running build meets (signals, a second build, a disk that
  fills)."""

  name = "mnist_mosaic_slow"
  code_path, pkg_dir_path = MNIST_MOSAIC_CODE, MNIST_MOSAIC_CODE.parent
  BUILDER_CONFIGS = [
      dataclasses.replace(MnistMosaic.builder_configs["2x2"], num_train=16000,
                          num_validation=6, num_test=2000)]


_BUILD = """
import sys
import apache_beam as beam
import tensorflow_datasets as tfds
import tests.builder_testing  # registers mnist_mosaic_tiny
name, data_dir, manual_dir, file_format, num_shards, beam_flags = sys.argv[1:]
builder = tfds.builder(name, data_dir=data_dir, file_format=file_format)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
    manual_dir=manual_dir, num_shards=int(num_shards) or None,
    beam_options=beam.options.pipeline_options.PipelineOptions(
        flags=[f"--{f}" for f in beam_flags.split(",")]) if beam_flags else None))
print(builder.data_path)
"""


def build_in_new_process(name, data_dir, file_format="tfrecord", num_shards=0,
                         beam_flags=""):
  """Builds from dummy data in a new process; returns the version folder.

  beam_flags: comma-separated Beam pipeline options, as `tfds build
  --beam_pipeline_options` takes them; empty for a plain build.
  """
  proc = subprocess.run(
      [sys.executable, "-c", _BUILD, name, str(data_dir), str(DUMMY_DATA),
       file_format, str(num_shards), beam_flags],
      capture_output=True, text=True, cwd=REPO, check=True)
  return proc.stdout.strip().splitlines()[-1]


def chunk_examples(builder_class, config, split, images, labels, start, stop):
  """[(key, example)] a build of `config` writes for examples [start, stop):
  the builder's encoding of its arrays, for a config of any name (TFDS
  refuses a builder of a changed config that keeps a listed name)."""
  listed = builder_class(config=builder_class.BUILDER_CONFIGS[0].name)
  kinds = examples.feature_kinds(listed.info.features)  # the same for all
  return builder.encoded_chunk(builder_class, config, split, kinds, images,
                               labels, start, stop)


MNIST_MOVING_CODE = epath.Path(mnist_moving_dataset_builder.__file__)


class TinyMoving(MnistMoving):
  """mnist_moving with a few sequences per split, of 1, 2 and 3 digits and
  of another source."""

  name = "mnist_moving_tiny"
  code_path, pkg_dir_path = MNIST_MOVING_CODE, MNIST_MOVING_CODE.parent
  BUILDER_CONFIGS = [
      dataclasses.replace(MnistMoving.builder_configs[source], name=name,
                          num_digits=digits, num_train=8, num_validation=4,
                          num_test=6)
      for name, source, digits in [("mnist", "mnist", 2),
                                   ("one", "mnist", 1), ("three", "mnist", 3),
                                   ("fashion_mnist", "fashion_mnist", 2)]]
