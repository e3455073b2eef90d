"""Checks of datasets built in full from real MNIST (run by .ci/run).

Set MNIST_DERIVED_DATA_DIR to a TFDS data dir where `tfds build` has written
mnist_fg/mnist, mnist_circles/mnist and mnist_mosaic/2x2 from real MNIST; the
tests skip otherwise. Every value is checked against the raw IDX files with
independent tools (skimage, OpenCV), not against this package's own code.
"""

import os

import cv2
import numpy as np
import pytest
from skimage.filters import threshold_otsu
import tensorflow_datasets as tfds

import mnist_derived  # noqa: F401  (registers the builders)
from mnist_derived.core import fingerprint

DATA_DIR = os.environ.get("MNIST_DERIVED_DATA_DIR")
pytestmark = pytest.mark.skipif(
    not DATA_DIR, reason="MNIST_DERIVED_DATA_DIR not set (see .ci/run)")
COUNTS = {"train": 60000, "test": 10000}


def _load(name, split, keys):
  """All examples of a split as {key: array}, ordered by source index."""
  ds = tfds.load(name, split=split, data_dir=DATA_DIR, shuffle_files=False)
  ds = ds.map(lambda ex: {k: ex[k] for k in keys})
  batches = list(tfds.as_numpy(ds.batch(5000)))
  return {k: np.concatenate([b[k] for b in batches]) for k in keys}


def _otsu_masks(images):
  return np.stack([im > threshold_otsu(im) for im in images]).astype(np.uint8)


@pytest.mark.parametrize("split", sorted(COUNTS))
def test_mnist_fg_in_full(real_mnist, split):
  images, labels = real_mnist[split]
  got = _load("mnist_fg/mnist", split, ["index", "image", "mask", "label",
                                         "threshold"])
  order = np.argsort(got["index"])
  np.testing.assert_array_equal(got["index"][order], np.arange(COUNTS[split]))
  np.testing.assert_array_equal(got["image"][order, ..., 0], images)
  np.testing.assert_array_equal(got["label"][order], labels)
  np.testing.assert_array_equal(got["mask"][order, ..., 0], _otsu_masks(images))
  # The threshold is the first level at or above which pixels are foreground.
  t = got["threshold"][order]
  assert np.all(images.max(axis=(1, 2)) >= t)


@pytest.mark.parametrize("split", sorted(COUNTS))
def test_mnist_circles_in_full(real_mnist, split):
  images, labels = real_mnist[split]
  got = _load("mnist_circles/mnist", split, ["index", "label", "circle",
                                              "bbox"])
  order = np.argsort(got["index"])
  np.testing.assert_array_equal(got["label"][order], labels)
  masks = _otsu_masks(images)
  cv = np.array([[*c, r] for c, r in (
      cv2.minEnclosingCircle(cv2.findNonZero(m)) for m in masks)])
  np.testing.assert_allclose(got["circle"][order], cv, atol=3e-4)
  x, y, w, h = cv2.boundingRect(masks[0])
  np.testing.assert_allclose(got["bbox"][order][0],
                             [y / 28, x / 28, (y + h) / 28, (x + w) / 28],
                             atol=1e-6)


@pytest.mark.parametrize("split", sorted(COUNTS))
def test_mnist_mosaic_in_full(real_mnist, split):
  images, labels = real_mnist[split]
  builder = tfds.builder("mnist_mosaic/2x2", data_dir=DATA_DIR)
  assert builder.info.splits[split].num_examples == COUNTS[split]
  # Provenance of every mosaic, without decoding its pictures.
  skip = {"image": tfds.decode.SkipDecoding(),
          "mask": tfds.decode.SkipDecoding()}
  indices = np.concatenate([
      b["indices"] for b in tfds.as_numpy(builder.as_dataset(
          split=split, decoders=skip).batch(10000))])
  # 60000 x 4 cells over 60000 sources (10000 x 4 over 10000): 4 uses each.
  np.testing.assert_array_equal(np.bincount(indices.ravel()),
                                np.full(len(images), 4))
  ds = builder.as_dataset(split=split, shuffle_files=False).take(2000)
  cells = [np.s_[:28, :28], np.s_[:28, 28:], np.s_[28:, :28], np.s_[28:, 28:]]
  for ex in tfds.as_numpy(ds):
    idx = ex["indices"]
    masks = _otsu_masks(images[idx])
    for k, cell in enumerate(cells):
      np.testing.assert_array_equal(ex["image"][cell][..., 0], images[idx[k]])
      np.testing.assert_array_equal(ex["mask"][cell][..., 0],
                                    masks[k] * (labels[idx[k]] + 1))
    np.testing.assert_array_equal(ex["labels"], labels[idx])


@pytest.mark.parametrize("name", ["mnist_fg/mnist", "mnist_circles/mnist",
                                  "mnist_mosaic/2x2"])
def test_full_builds_match_the_published_fingerprints(name):
  builder = tfds.builder(name, data_dir=DATA_DIR)
  assert fingerprint.builder_fingerprints(builder) == (
      fingerprint.published_fingerprints()[fingerprint.builder_key(builder)])
