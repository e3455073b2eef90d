"""mnist_mosaic/multimnist: every example follows the card's rule,
recomputed from the source digits; and its digits' labels are scored."""

import json
import subprocess

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived import decoding
from mnist_derived.datasets.mnist_mosaic import streams
import tests.builder_testing  # noqa: F401  pylint: disable=unused-import (registers the tiny mosaics)
from tests.commands import command
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO
from tests.scatter_reference import check_pair_example

TINY = "mnist_mosaic_tiny/multimnist"


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
  data = tmp_path_factory.mktemp("multimnist")
  builder = tfds.builder(TINY, data_dir=data)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(DUMMY_DATA)))
  return builder


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_every_tiny_example_follows_the_rule(tiny_build, dummy_mnist, split):
  config = tiny_build.builder_config
  source = "test" if split == "test" else "train"
  images, labels = dummy_mnist[source]
  pool = streams.source_pool(len(images), config.seed, split,
                            config.validation_fraction)
  examples = sorted(decoding.stored_examples(tiny_build, split),
                    key=lambda ex: ex["index"])
  assert len(examples) == config.split_sizes[split]
  firsts = [check_pair_example(ex, images, labels, config, split, pool)
            for ex in examples]
  # First digits: the pool once per pass, in the split's own order.
  for start in range(0, len(firsts) - len(pool) + 1, len(pool)):
    assert sorted(firsts[start:start + len(pool)]) == sorted(pool.tolist())


def test_a_split_of_one_class_is_one_line(tmp_path):
  # The dummy train split's default tenth for validation: two digits, both 0.
  name = "mnist_mosaic/multimnist"
  proc = subprocess.run(
      [*command("build", name), "--data_dir", str(tmp_path), "--manual_dir",
       str(DUMMY_DATA)], capture_output=True, text=True, cwd=REPO, check=False)
  assert proc.returncode == 1, proc.stderr[-2000:]
  assert proc.stderr.strip() == (
      "error: mnist_mosaic/multimnist: the 2 source digits the validation"
      " split draws from are all of one class: no pair of different classes"
      " can be drawn")


def _score(builder, arrays, tmp_path):
  path = tmp_path / "labels.npz"
  np.savez(path, **arrays)
  proc = subprocess.run(
      [*command("score", TINY), "--predictions", str(path), "--data_dir",
       str(builder.data_dir_root)], capture_output=True, text=True, cwd=REPO,
      check=False)
  return proc


def test_labels_are_scored_in_any_order(tiny_build, tmp_path):
  examples = sorted(decoding.stored_examples(tiny_build, "test"),
                    key=lambda ex: ex["index"])
  index = np.array([ex["index"] for ex in examples])
  truth = np.stack([ex["objects"]["label"] for ex in examples])
  guess = truth[:, ::-1].copy()  # swapped: still exactly right
  guess[:4, 0] = (truth[:4, 1] + 1) % 10  # 4 wrong digits, in 4 examples
  guess[:4, 0] = np.where(guess[:4, 0] == truth[:4, 0], (guess[:4, 0] + 1)
                          % 10, guess[:4, 0])
  proc = _score(tiny_build, {"index": index, "labels": guess}, tmp_path)
  assert proc.returncode == 0, proc.stderr[-2000:]
  scores = json.loads(proc.stdout)
  n = len(index)
  assert scores["exact_accuracy"] == pytest.approx((n - 4) / n)
  assert scores["digit_accuracy"] == pytest.approx((2 * n - 4) / (2 * n))


def test_labels_of_another_shape_are_refused(tiny_build, tmp_path):
  n = tiny_build.info.splits["test"].num_examples
  proc = _score(tiny_build, {"index": np.arange(n),
                             "labels": np.zeros((n, 3), np.int64)}, tmp_path)
  assert proc.returncode == 2
  assert proc.stderr.strip().endswith(
      "'labels' has shape (12, 3), expected (12, 2)")
