"""Scattered mosaics: placement, drawing, ownership and boxes, checked
independently from the source images (tests/scatter_reference.py)."""

import dataclasses

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest
import tensorflow as tf

from mnist_derived.datasets.mnist_mosaic import mnist_mosaic_dataset_builder as mosaic
from mnist_derived.datasets.mnist_mosaic import configs
from mnist_derived.datasets.mnist_mosaic import scatter
from mnist_derived.datasets.mnist_mosaic import streams
from tests import builder_testing
from tests.scatter_reference import check_scatter_example

LAYOUTS = sorted(configs.SCATTER_LAYOUTS)


def _config(layout, **changes):
  config = next(c for c in configs.BUILDER_CONFIGS if c.name == layout)
  return dataclasses.replace(config, **changes)


def _examples(config, split, images, labels, bounds):
  """The builder's examples of chunks `bounds`, PNGs decoded as TFDS does."""
  examples = [pair for start, stop in bounds
              for pair in builder_testing.chunk_examples(
                  mosaic.Builder, config, split, images, labels, start, stop)]
  for _, ex in examples:
    for key in ("image", "mask", "instances"):
      ex[key] = tf.io.decode_png(ex[key], channels=1).numpy()
  return examples


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_example_follows_the_rules(dummy_mnist, layout):
  images, labels = dummy_mnist["test"]
  config = _config(layout, num_test=60)
  examples = _examples(config, "test", images, labels, [(0, 60)])
  assert [key for key, _ in examples] == list(range(60))
  for key, ex in examples:
    assert ex["index"] == key
    check_scatter_example(ex, images, labels, config)
  counts = [ex["num_digits"] for _, ex in examples]
  # Every count of the range occurs.
  assert set(counts) == set(range(config.min_digits, config.max_digits + 1))
  if config.max_scale == 1:  # and digits do overlap: fewer inked pixels
    assert any((ex["image"] > 0).sum() < (images[ex["objects"]["index"]] > 0)
               .sum() for _, ex in examples)


@settings(max_examples=20, deadline=None)
@given(hnp.arrays(np.uint8, (12, 28, 28),
                  elements=st.sampled_from([0, 1, 128, 200, 255])),
       st.sampled_from(LAYOUTS), st.floats(0, 1))
def test_any_images_follow_the_rules(images, layout, max_overlap):
  # Constant, empty and saturated digits, ties in brightness, any bound.
  labels = np.arange(12, dtype=np.uint8) % 10
  config = _config(layout, num_test=6, max_overlap=max_overlap)
  for _, ex in _examples(config, "test", images, labels, [(0, 6)]):
    check_scatter_example(ex, images, labels, config)


def test_examples_do_not_depend_on_chunking(dummy_mnist):
  images, labels = dummy_mnist["train"]
  config = _config("scatter_scaled", num_train=13)
  whole = _examples(config, "train", images, labels, [(0, 13)])
  parts = _examples(config, "train", images, labels, [(0, 4), (4, 5), (5, 13)])
  for (ka, a), (kb, b) in zip(whole, parts, strict=True):
    assert ka == kb
    for key in ("image", "mask", "instances", "index", "num_digits"):
      np.testing.assert_array_equal(a[key], b[key])
    for key in a["objects"]:
      np.testing.assert_array_equal(a["objects"][key], b["objects"][key])


def test_digits_are_drawn_without_replacement_within_a_pass(dummy_mnist):
  images, labels = dummy_mnist["train"]
  config = _config("scatter", num_train=200, num_validation=40)
  pool = streams.source_pool(len(images), 0, "train", 0.1)
  train = np.concatenate([ex["objects"]["index"] for _, ex in _examples(
      config, "train", images, labels, [(0, 200)])])
  validation = np.concatenate([ex["objects"]["index"] for _, ex in _examples(
      config, "validation", images, labels, [(0, 40)])])
  assert not np.intersect1d(train, validation).size
  for p in range(len(train) // len(pool)):
    assert sorted(train[p * len(pool):(p + 1) * len(pool)]) == list(pool)


def test_example_streams_are_pinned():
  # Counts, sides and positions of mnist_mosaic/scatter* 2.1.0: a change
  # here changes every published scattered mosaic, so it needs a new version.
  counts = scatter.digit_counts(6, 0, 4, 0, "test")
  np.testing.assert_array_equal(counts, [4, 2, 2, 0, 4, 3])
  rng = scatter.example_stream(0, "test", 1)
  np.testing.assert_array_equal(scatter.digit_sides(2, 0.6, 1.4, rng),
                                [22, 30])
  raw = np.asarray(scatter.example_stream(0, "train", 5).random_raw(3),
                   np.uint64)
  np.testing.assert_array_equal(streams.uniform_integers(raw, 0, 36),
                                [1, 22, 21])


def test_uniform_integers_cover_the_range_evenly():
  raw = np.asarray(np.random.PCG64(1).random_raw(70_000), np.uint64)
  values = streams.uniform_integers(raw, 17, 23)
  counts = np.bincount(values - 17)
  assert values.min() == 17 and values.max() == 23 and len(counts) == 7
  assert counts.min() > 9_500  # 10000 expected each


@pytest.mark.parametrize("fields,problem", [
    ({"min_digits": 3, "max_digits": 2}, "min_digits"),
    ({"max_scale": 2.5}, "does not fit"),
    ({"min_scale": 0}, "min_scale"),
    ({"max_overlap": 1.5}, "max_overlap"),
])
def test_impossible_configs_are_refused(fields, problem):
  with pytest.raises(ValueError, match=problem):
    configs.ScatterConfig(name="bad", **fields)


@pytest.mark.parametrize("layout,crowded", [
    ("scatter", False), ("scatter_scaled", False), ("scatter", True),
    ("scatter_scaled", True)])
def test_batched_placement_equals_placing_one_digit_at_a_time(
    dummy_mnist, layout, crowded, monkeypatch):
  # The builder places a chunk's digits at once and replays an example
  # digit by digit only where a digit needs a second batch of candidates;
  # both must give what `place` gives for every example alone. On a crowded
  # canvas with no overlap allowed, many digits need more batches (and some
  # are left out), so the replay path runs too.
  images, labels = dummy_mnist["test"]
  crowding = {"canvas_height": 40, "canvas_width": 40, "max_overlap": 0.0,
              "max_scale": min(_config(layout).max_scale, 40 / 28)}
  config = _config(layout, num_test=80, **(crowding if crowded else {}))
  replays = []
  real_place = scatter.place
  monkeypatch.setattr(scatter, "place", lambda *a: replays.append(1) or
                      real_place(*a))
  examples = builder_testing.chunk_examples(mosaic.Builder, config, "test",
                                            images, labels, 0, 80)
  monkeypatch.setattr(scatter, "place", real_place)
  offsets = np.concatenate([[0], np.cumsum(scatter.digit_counts(
      80, config.min_digits, config.max_digits, 0, "test"))])
  pool = streams.source_pool(len(images), 0, "test", 0.1)
  digits = streams.draw_at(pool, 0, "test", np.arange(offsets[80]))
  dropped = 0
  for i, (_, ex) in enumerate(examples):
    rng = scatter.example_stream(0, "test", i)
    mine = digits[offsets[i]:offsets[i + 1]]
    sides = scatter.digit_sides(len(mine), config.min_scale, config.max_scale,
                                rng)
    cells = [scatter.resize_digit(images[d], s) for d, s in zip(mine, sides)]
    boxes = np.array([np.concatenate([np.argwhere(m).min(0), np.argwhere(m).max(0)])
                      if m.any() else [0, 0, -1, -1] for m in
                      (check_mask(c) for c in cells)]).reshape(-1, 4)
    positions, kept = real_place(sides, boxes, config.canvas,
                                 config.max_overlap, rng)
    # objects are lists (TFDS encodes them faster): an empty one has no shape
    np.testing.assert_array_equal(
        np.reshape(ex["objects"]["position"], (-1, 2)), positions)
    np.testing.assert_array_equal(ex["objects"]["index"], mine[kept])
    dropped += (~kept).sum()
  if crowded:
    assert replays and dropped > 0
  else:
    assert not replays


def check_mask(cell):
  from tests.scatter_reference import otsu_mask  # pylint: disable=g-import-not-at-top
  return otsu_mask(cell)
