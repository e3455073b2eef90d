"""Generated splits (examples computed when read) against the builds."""

import dataclasses
import pickle

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived import MnistMosaic
from mnist_derived import loaders
from mnist_derived.core import errors
from mnist_derived.core import idx
from mnist_derived.datasets.mnist_mosaic import scatter
from mnist_derived.loaders import order
from tests import builder_testing
from tests.conftest import DUMMY_BUILDS
from tests.conftest import DUMMY_DATA
from tests.conftest import DUMMY_PAIRS
from tests.conftest import DUMMY_SCATTER


def _small(config):
  """A config's rule with a few dozen examples per split (multimnist's
  validation pool a quarter of the dummy train digits: a tenth is one
  class)."""
  extra = {"validation_fraction": 0.25} if config.layout == "pairs" else {}
  return dataclasses.replace(config, num_train=30, num_validation=6,
                             num_test=12, **extra)


class EveryMosaic(MnistMosaic):
  """Every mnist_mosaic config, a few dozen mosaics each."""

  name = "mnist_mosaic_every"
  code_path = builder_testing.MNIST_MOSAIC_CODE
  pkg_dir_path = builder_testing.MNIST_MOSAIC_CODE.parent
  BUILDER_CONFIGS = [_small(c) for c in MnistMosaic.BUILDER_CONFIGS]


EVERY_CONFIG = ([f"{name}/{config.name}" for name in ("mnist_fg", "mnist_circles")
                 for config in tfds.builder_cls(name).BUILDER_CONFIGS]
                + [f"mnist_mosaic_every/{c.name}" for c in EveryMosaic.BUILDER_CONFIGS])


def _by_index(split):
  """A built split's arrays in `index` order (TFDS stores them shuffled)."""
  fixed, _ = split.batch_columns(np.arange(len(split)))
  return np.argsort(fixed["index"], kind="stable")


def assert_same_columns(got, want, where=""):
  """Two batch_columns results: same leaves, dtypes, shapes and values."""
  if isinstance(want, tuple):  # (fixed, ragged)
    for g, w in zip(got, want):
      assert_same_columns(g, w, where)
    return
  if isinstance(want, dict):
    assert sorted(got) == sorted(want), where
    for key in want:
      assert_same_columns(got[key], want[key], f"{where}/{key}")
    return
  got, want = np.asarray(got), np.asarray(want)
  assert (got.dtype, got.shape) == (want.dtype, want.shape), where
  np.testing.assert_array_equal(got, want, err_msg=where)


@pytest.fixture(scope="module")
def every_build(tmp_path_factory):
  path = tmp_path_factory.mktemp("every")
  config = tfds.download.DownloadConfig(manual_dir=str(DUMMY_DATA))
  for name in EVERY_CONFIG:
    tfds.builder(name, data_dir=path).download_and_prepare(
        download_config=config)
  return path


@pytest.mark.slow
@pytest.mark.parametrize("name", EVERY_CONFIG)
def test_every_config_generates_its_build(every_build, name):
  for split in tfds.builder(name, data_dir=every_build).info.splits:
    built = loaders.DecodedSplit(name, split, data_dir=every_build)
    generated = loaders.GeneratedSplit(name, split, manual_dir=DUMMY_DATA,
                                       data_dir=every_build)
    assert len(generated) == len(built)
    # Every example, in a shuffled order: a batch need not be consecutive.
    shuffled = np.random.default_rng(0).permutation(len(built))
    assert_same_columns(generated.batch_columns(shuffled),
                        built.batch_columns(_by_index(built)[shuffled]),
                        f"{name} {split}")
    for i in (0, len(built) - 1):
      assert_same_columns(generated[i], built[_by_index(built)[i]])


@pytest.mark.parametrize("name", [DUMMY_BUILDS["mosaic"], DUMMY_SCATTER,
                                  DUMMY_PAIRS])
def test_an_example_does_not_depend_on_the_count(dummy_data_dir, name):
  few = loaders.GeneratedSplit(name, "train", manual_dir=DUMMY_DATA,
                               data_dir=dummy_data_dir, num_examples=7)
  many = loaders.GeneratedSplit(name, "train", manual_dir=DUMMY_DATA,
                                data_dir=dummy_data_dir,
                                num_examples=10_000_000)
  assert (len(few), len(many)) == (7, 10_000_000)
  assert_same_columns(many.batch_columns(np.arange(7)),
                      few.batch_columns(np.arange(7)))


@pytest.mark.parametrize("name", [DUMMY_SCATTER, DUMMY_PAIRS])
def test_far_examples_are_the_builders_own(dummy_data_dir, dummy_mnist, name):
  # Example i far past the config's count, generated alone, against the
  # builder's chunk [i, i + 1) as a build would write it, decoded by TFDS.
  generated = loaders.GeneratedSplit(name, "train", manual_dir=DUMMY_DATA,
                                     data_dir=dummy_data_dir,
                                     num_examples=60_000_000)
  found = tfds.builder(name, data_dir=dummy_data_dir)
  images, labels = dummy_mnist["train"]
  for i in (59_999_999, 1_234_567):
    [(key, encoded)] = found.examples_of_chunk("train", images, labels, i,
                                               i + 1)
    features = found.info.features
    want = tfds.as_numpy(features.deserialize_example(
        features.serialize_example(encoded)))
    got = generated[i]
    assert key == i == got["index"]
    for feature in ("image", "mask", "instances"):
      np.testing.assert_array_equal(got[feature], want[feature])
    for leaf, values in want["objects"].items():
      np.testing.assert_array_equal(got["objects"][leaf], values)


def test_far_digit_ranges_equal_summing_every_count():
  config = MnistMosaic.builder_configs["scatter"]
  count = 3 * scatter._COUNT_BLOCK + 17  # pylint: disable=protected-access
  counts = scatter.digit_counts(count, config.min_digits, config.max_digits,
                                config.seed, "train")
  starts = np.cumsum(counts) - counts
  asked = np.array([count - 1, 0, 2 * scatter._COUNT_BLOCK, 70_001])  # pylint: disable=protected-access
  first, num = scatter.digit_ranges(config, "train", asked)
  np.testing.assert_array_equal(first, starts[asked])
  np.testing.assert_array_equal(num, counts[asked])


def test_a_generated_split_pickles_without_its_digits(dummy_data_dir):
  generated = loaders.GeneratedSplit(DUMMY_SCATTER, "test",
                                     manual_dir=DUMMY_DATA,
                                     data_dir=dummy_data_dir)
  data = pickle.dumps(generated)
  assert len(data) < 20_000  # the dummy test digits alone are 7840 bytes
  assert_same_columns(pickle.loads(data).batch_columns([3, 1]),
                      generated.batch_columns([3, 1]))


@pytest.mark.parametrize("num,block", [(10_000, 4096), (4096, 4096),
                                       (5, 4096), (1000, 7)])
def test_block_order_is_a_seeded_permutation(num, block):
  first = order.BlockOrder(num, seed=3, epoch=0, block=block)
  whole = first[0:num]
  assert sorted(whole.tolist()) == list(range(num))
  pieces = np.concatenate([first[a:a + 64] for a in range(0, num, 64)])
  np.testing.assert_array_equal(pieces, whole)
  np.testing.assert_array_equal(
      order.BlockOrder(num, seed=3, epoch=0, block=block)[0:num], whole)
  if num > 10:
    assert not np.array_equal(
        order.BlockOrder(num, seed=3, epoch=1, block=block)[0:num], whole)
  # Each batch reads at most two blocks of consecutive examples.
  assert len(np.unique(whole[:block] // block)) <= 2


def test_torch_batches_do_not_depend_on_the_workers(dummy_data_dir):
  pytest.importorskip("torch")
  generated = loaders.GeneratedSplit(DUMMY_PAIRS, "train",
                                     manual_dir=DUMMY_DATA,
                                     data_dir=dummy_data_dir, num_examples=300)

  def epochs(workers):
    loader = loaders.torch_loader(generated, batch_size=16, seed=5,
                                  num_workers=workers)
    return [[{"index": b["index"].numpy(), "image": b["image"].numpy(),
              "labels": b["objects"]["label"].numpy()} for b in loader]
            for _ in range(2)]

  alone, with_workers = epochs(0), epochs(2)
  for epoch_alone, epoch_workers in zip(alone, with_workers):
    assert len(epoch_alone) == len(epoch_workers) == 19
    for a, b in zip(epoch_alone, epoch_workers):
      assert_same_columns(b, a)
  # Two epochs, two orders, every example once in each.
  for epoch in alone:
    assert sorted(np.concatenate([b["index"] for b in epoch])) == list(
        range(300))
  assert not np.array_equal(alone[0][0]["index"], alone[1][0]["index"])


def test_grain_batches_are_the_generated_examples(dummy_data_dir):
  pytest.importorskip("grain")
  generated = loaders.GeneratedSplit(DUMMY_BUILDS["fg"], "test",
                                     manual_dir=DUMMY_DATA,
                                     data_dir=dummy_data_dir)
  batches = list(loaders.grain_dataset(generated, batch_size=4, seed=1))
  indices = np.concatenate([b["index"] for b in batches])
  assert sorted(indices.tolist()) == list(range(len(generated)))
  for batch in batches:
    assert_same_columns(batch, generated.batch(batch["index"]))


@pytest.mark.parametrize("kwargs,error,match", [
    ({"num_examples": 0}, errors.InputError, "at least 1"),
    ({"num_examples": 2.5}, errors.InputError, "whole number"),
    ({"split": "valid"}, errors.InputError, "has no split 'valid'"),
    ({"manual_dir": "/nonexistent/mnist"}, errors.InputFileError,
     "does not exist"),
])
def test_bad_arguments_are_refused(dummy_data_dir, kwargs, error, match):
  arguments = {"split": "train", "manual_dir": DUMMY_DATA, **kwargs}
  with pytest.raises(error, match=match):
    loaders.GeneratedSplit(DUMMY_PAIRS, data_dir=dummy_data_dir, **arguments)


def test_more_examples_than_source_images_are_refused(dummy_data_dir):
  with pytest.raises(errors.InputError, match="at most 10 examples"):
    loaders.GeneratedSplit(DUMMY_BUILDS["fg"], "test", manual_dir=DUMMY_DATA,
                           data_dir=dummy_data_dir, num_examples=11)


def test_an_index_out_of_range_is_refused(dummy_data_dir):
  generated = loaders.GeneratedSplit(DUMMY_PAIRS, "test",
                                     manual_dir=DUMMY_DATA,
                                     data_dir=dummy_data_dir, num_examples=5)
  with pytest.raises(IndexError, match="no example 5"):
    generated[5]
  with pytest.raises(IndexError, match="no example -1"):
    generated.batch([0, -1])


def test_a_damaged_source_file_is_refused(tmp_path, dummy_data_dir):
  folder = tmp_path / "mnist"
  folder.mkdir()
  for path in (DUMMY_DATA / "mnist").iterdir():
    (folder / path.name).write_bytes(path.read_bytes())
  labels = next(folder.glob("t10k-labels*"))
  labels.write_bytes(labels.read_bytes()[:-3])  # a truncated copy
  with pytest.raises(idx.IdxFormatError, match=labels.name):
    loaders.GeneratedSplit(DUMMY_PAIRS, "test", manual_dir=tmp_path,
                           data_dir=dummy_data_dir)

