"""Checks of datasets built in full from real MNIST (run by .ci/run).

Set MNIST_DERIVED_DATA_DIR to a TFDS data dir where `tfds build` has written
mnist_fg/mnist, mnist_circles/mnist, mnist_mosaic/2x2 and the scattered
mnist_mosaic configs from real MNIST; the
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
from mnist_derived import builds
from mnist_derived import decoding
from mnist_derived import fingerprint
from tests.export_checks import assert_same_example
from tests.export_checks import records_as_rows
from tests.scatter_reference import check_pair_example
from tests.scatter_reference import check_scatter_example

DATA_DIR = os.environ.get("MNIST_DERIVED_DATA_DIR")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not DATA_DIR, reason=(
        "MNIST_DERIVED_DATA_DIR not set: build the default configs from real"
        " MNIST into a data dir (`mnist-derived build ... --manual_dir"
        " <your MNIST folder> --data_dir DIR`, as .ci/run does) and set"
        " MNIST_DERIVED_DATA_DIR=DIR and MNIST_DIR=<your MNIST folder>"))]
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
  masks = got["mask"][order, ..., 0]
  np.testing.assert_array_equal(masks, _otsu_masks(images))
  # The stored threshold is the card's rule: mask = image >= t, every pixel.
  t = got["threshold"][order]
  np.testing.assert_array_equal(masks, images >= t[:, None, None])


def _literal_cover(circles, masks):
  """Per example: every mask pixel center (j, i) within the stored circle,
  (j - cx)^2 + (i - cy)^2 <= r^2 computed in float64, with no slack."""
  cx, cy, r = (np.asarray(circles, np.float64)[:, k, None, None]
               for k in range(3))
  i, j = np.mgrid[:28, :28]
  inside = (j - cx) ** 2 + (i - cy) ** 2 <= r * r
  return ~np.any((masks > 0) & ~inside, axis=(1, 2))


@pytest.mark.parametrize("split", sorted(COUNTS))
def test_mnist_circles_in_full(real_mnist, split):
  images, labels = real_mnist[split]
  got = _load("mnist_circles/mnist", split, ["index", "label", "circle",
                                              "bbox"])
  order = np.argsort(got["index"])
  np.testing.assert_array_equal(got["label"][order], labels)
  masks = _otsu_masks(images)
  circles = got["circle"][order]
  cv = np.array([[*c, r] for c, r in (
      cv2.minEnclosingCircle(cv2.findNonZero(m)) for m in masks)])
  np.testing.assert_allclose(circles, cv, atol=3e-4)
  # Every stored float32 circle holds its whole mask under the card's rule.
  covered = _literal_cover(circles, masks)
  assert covered.all(), f"{np.count_nonzero(~covered)} circles leave pixels out"
  # The box of every example is OpenCV's bounding rectangle of its mask.
  rects = np.array([cv2.boundingRect(m) for m in masks], np.float64)
  x, y, w, h = rects.T
  np.testing.assert_allclose(got["bbox"][order],
                             np.stack([y, x, y + h, x + w], axis=1) / 28,
                             atol=1e-6)


MOSAIC_COUNTS = {"train": 60000, "validation": 6000, "test": 10000}


@pytest.mark.parametrize("split", sorted(MOSAIC_COUNTS))
def test_mnist_mosaic_in_full(real_mnist, split):
  source = "test" if split == "test" else "train"
  images, labels = real_mnist[source]
  builder = tfds.builder("mnist_mosaic/2x2", data_dir=DATA_DIR)
  assert builder.info.splits[split].num_examples == MOSAIC_COUNTS[split]
  # Provenance of every mosaic, without decoding its pictures.
  skip = {k: tfds.decode.SkipDecoding() for k in ("image", "mask",
                                                   "instances")}
  batches = list(tfds.as_numpy(builder.as_dataset(
      split=split, decoders=skip).batch(10000)))
  indices = np.concatenate([b["objects"]["index"] for b in batches])
  np.testing.assert_array_equal(
      np.sort(np.concatenate([b["index"] for b in batches])),
      np.arange(MOSAIC_COUNTS[split]))
  uses = np.bincount(indices.ravel(), minlength=len(images))
  if split == "test":  # 10000 x 4 cells over 10000 digits: 4 uses each
    np.testing.assert_array_equal(uses, np.full(len(images), 4))
  else:  # the two splits share no digit; each draws its pool evenly
    held_out = np.concatenate([b["objects"]["index"] for b in tfds.as_numpy(
        builder.as_dataset(split="validation", decoders=skip).batch(10000))])
    trained = indices if split == "train" else np.concatenate([
        b["objects"]["index"] for b in tfds.as_numpy(builder.as_dataset(
            split="train", decoders=skip).batch(10000))])
    assert not np.intersect1d(held_out, trained).size
    used = uses[uses > 0]
    assert used.max() - used.min() <= 1
    assert len(np.unique(held_out)) == 6000
  ds = builder.as_dataset(split=split, shuffle_files=False).take(2000)
  cells = [np.s_[:28, :28], np.s_[:28, 28:], np.s_[28:, :28], np.s_[28:, 28:]]
  for ex in tfds.as_numpy(ds):
    idx = ex["objects"]["index"]
    masks = _otsu_masks(images[idx])
    np.testing.assert_array_equal(ex["objects"]["label"], labels[idx])
    for k, cell in enumerate(cells):
      np.testing.assert_array_equal(ex["image"][cell][..., 0], images[idx[k]])
      np.testing.assert_array_equal(ex["mask"][cell][..., 0],
                                    masks[k] * (labels[idx[k]] + 1))
      np.testing.assert_array_equal(ex["instances"][cell][..., 0],
                                    masks[k] * (k + 1))
      x, y, w, h = cv2.boundingRect(masks[k])
      r, c = divmod(k, 2)
      np.testing.assert_allclose(
          ex["objects"]["bbox"][k],
          np.array([r * 28 + y, c * 28 + x, r * 28 + y + h, c * 28 + x + w])
          / 56, atol=1e-6)


SCATTER_LAYOUTS = ["scatter", "scatter_m2nist", "scatter_scaled"]


@pytest.mark.parametrize("layout", SCATTER_LAYOUTS)
def test_scattered_mosaics_follow_the_rules(real_mnist, layout):
  images, labels = real_mnist["test"]
  builder = tfds.builder(f"mnist_mosaic/{layout}", data_dir=DATA_DIR)
  config = builder.builder_config
  assert builder.info.splits["test"].num_examples == config.num_test
  ds = builder.as_dataset(split="test", shuffle_files=False).take(2000)
  counts = []
  for ex in tfds.as_numpy(ds):
    check_scatter_example(ex, images, labels, config)
    counts.append(ex["num_digits"])
  assert set(counts) == set(range(config.min_digits, config.max_digits + 1))


def test_multimnist_follows_the_rule(real_mnist):
  images, labels = real_mnist["test"]
  builder = tfds.builder("mnist_mosaic/multimnist", data_dir=DATA_DIR)
  config = builder.builder_config
  assert builder.info.splits["test"].num_examples == config.num_test == 10000
  pool = np.arange(len(images))  # test mosaics draw from the whole split
  firsts = {}
  for ex in decoding.stored_examples(builder, "test"):
    if len(firsts) < 2000:
      firsts[int(ex["index"])] = check_pair_example(ex, images, labels, config,
                                                    "test", pool)
    else:
      firsts[int(ex["index"])] = int(ex["objects"]["index"][0])
  # One pass over the 10000 test digits: each is a first digit once.
  assert sorted(firsts.values()) == list(range(10000))


# What .ci/run builds: every dataset with fingerprints published in its folder.
PUBLISHED = fingerprint.published_datasets()


@pytest.mark.parametrize("name", PUBLISHED)
def test_full_builds_match_the_published_fingerprints(name):
  builder = tfds.builder(name, data_dir=DATA_DIR)
  assert fingerprint.builder_fingerprints(builder) == (
      fingerprint.published_fingerprints()[builds.key(builder)])


@pytest.mark.parametrize("name", ["mnist_fg/mnist", "mnist_mosaic/2x2"])
def test_exports_of_the_real_test_split(name, tmp_path):
  # Parquet read by `datasets`, Croissant by mlcroissant, COCO by
  # pycocotools: every one of the 10000 test examples equals tfds.load's.
  import datasets  # pylint: disable=g-import-not-at-top
  import mlcroissant as mlc  # pylint: disable=g-import-not-at-top
  from pycocotools.coco import COCO  # pylint: disable=g-import-not-at-top
  from mnist_derived import cli  # pylint: disable=g-import-not-at-top
  folder = tmp_path / "parquet"
  for fmt in ("parquet", "croissant"):
    assert cli.main(["export", name, "--format", fmt, "--out", str(folder), "--split",
                     "test", "--data_dir", DATA_DIR]) == 0
  want = {int(ex["index"]): ex for ex in tfds.as_numpy(
      tfds.load(name, split="test", data_dir=DATA_DIR))}
  rows = datasets.load_dataset(str(folder), split="test")
  assert len(rows) == len(want) == 10000
  for row in rows:
    assert_same_example(row, want[row["index"]])
  croissant = mlc.Dataset(jsonld=str(folder / "croissant.json"))
  assert not croissant.metadata.ctx.issues.warnings
  seen = 0
  for row in records_as_rows(croissant.records(record_set="test")):
    assert_same_example(row, want[row["index"]])
    seen += 1
  assert seen == 10000
  if name.startswith("mnist_mosaic"):
    assert cli.main(["export", name, "--format", "coco", "--out", str(tmp_path / "coco"),
                     "--split", "test", "--data_dir", DATA_DIR]) == 0
    coco = COCO(str(tmp_path / "coco" / "annotations" / "instances_test.json"))
    assert len(coco.getImgIds()) == 10000
    for index, ex in want.items():
      anns = coco.loadAnns(coco.getAnnIds(imgIds=[index]))
      instances = ex["instances"][..., 0]
      assert len(anns) == (np.unique(instances) > 0).sum()
      for ann in anns:
        pixels = coco.annToMask(ann).astype(bool)
        owners = np.unique(instances[pixels])
        assert len(owners) == 1 and (instances == owners[0]).sum() == ann["area"]
        assert ex["objects"]["label"][owners[0] - 1] + 1 == ann["category_id"]


@pytest.mark.parametrize("name", PUBLISHED)
def test_generated_test_examples_equal_the_build(real_mnist, name):
  # The first 2000 test examples computed from the IDX files when read,
  # against the build's decoded ones, feature by feature.
  del real_mnist  # skips where real MNIST is absent
  from mnist_derived import loaders  # pylint: disable=g-import-not-at-top
  from tests.conftest import REAL_MNIST  # pylint: disable=g-import-not-at-top
  from tests.test_generated import assert_same_columns  # pylint: disable=g-import-not-at-top
  built = loaders.DecodedSplit(name, "test", data_dir=DATA_DIR)
  generated = loaders.GeneratedSplit(name, "test", manual_dir=REAL_MNIST,
                                     data_dir=DATA_DIR)
  assert len(generated) == len(built)
  stored = np.argsort(built.batch_columns(np.arange(len(built)))[0]["index"])
  wanted = np.random.default_rng(0).permutation(len(built))[:2000]
  assert_same_columns(generated.batch_columns(wanted),
                      built.batch_columns(stored[wanted]), name)


def test_real_moving_sequences_follow_the_rule(real_mnist):
  # 500 test sequences of the full build, every frame recomputed from the
  # IDX files by the card's rule (tests/test_moving.py's plain loop).
  from mnist_derived import loaders  # pylint: disable=g-import-not-at-top
  from tests.test_moving import assert_follows_the_rule  # pylint: disable=g-import-not-at-top
  name = "mnist_moving/mnist"
  built = loaders.DecodedSplit(name, "test", data_dir=DATA_DIR)
  config = tfds.builder(name, data_dir=DATA_DIR).builder_config
  for j in np.random.default_rng(0).permutation(len(built))[:500]:
    assert_follows_the_rule(built[int(j)], config, "test", *real_mnist["test"])
