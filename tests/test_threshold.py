"""The TSS threshold against its definition, brute force, and skimage."""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest
from skimage.filters import threshold_otsu

from mnist_derived import geometry


def brute_force_threshold(image):
  """The definition, directly: sum of squared deviations for every level."""
  x = image.ravel().astype(np.float64)
  levels = np.unique(image)[1:]  # both classes non-empty
  if not len(levels):
    return geometry.CONSTANT_IMAGE_THRESHOLD
  fg = x[None, :] >= levels[:, None]
  costs = []
  for cls in (fg, ~fg):
    n = cls.sum(axis=1)
    mean = (cls * x).sum(axis=1) / n
    costs.append((cls * (x[None, :] - mean[:, None]) ** 2).sum(axis=1))
  cost = costs[0] + costs[1]
  # Ties, up to float noise in this direct sum, go to the lowest level.
  return int(levels[np.flatnonzero(cost <= cost.min() * (1 + 1e-12))[0]])


@pytest.mark.slow
def test_matches_brute_force_on_every_real_image(real_images):
  ours = geometry.tss_thresholds(real_images)
  brute = np.array([brute_force_threshold(im) for im in real_images])
  mismatches = np.flatnonzero(ours != brute)
  assert not mismatches.size, f"{mismatches.size} differ, first {mismatches[:5]}"


def test_masks_match_skimage_otsu_on_every_real_image(real_images):
  ours = geometry.foreground_masks(real_images).astype(bool)
  theirs = np.stack([im > threshold_otsu(im) for im in real_images])
  assert np.array_equal(ours, theirs)


def test_matches_brute_force_on_dummy_data(dummy_mnist):
  images = dummy_mnist["train"][0]
  expected = [brute_force_threshold(im) for im in images]
  np.testing.assert_array_equal(geometry.tss_thresholds(images), expected)


def test_constant_image_has_empty_mask():
  images = np.stack([np.zeros((5, 5), np.uint8), np.full((5, 5), 255, np.uint8)])
  t = geometry.tss_thresholds(images)
  assert list(t) == [256, 256]
  assert geometry.foreground_masks(images, t).sum() == 0


def test_two_levels_split_between_them():
  image = np.array([[3, 3, 200, 200]], np.uint8)
  assert geometry.tss_thresholds(image[None])[0] == 200


def test_exact_tie_goes_to_lowest_level():
  # Levels 0, 1, 2 once each: t=1 ({0} | {1,2}) and t=2 ({0,1} | {2}) both
  # leave a TSS of 0.5, an exact tie.
  image = np.array([[0, 1, 2]], np.uint8)
  assert geometry.tss_thresholds(image[None])[0] == 1


def test_rejects_non_uint8():
  with pytest.raises(TypeError, match="uint8"):
    geometry.tss_thresholds(np.zeros((1, 2, 2), np.float32))


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 6),
                                      st.integers(1, 6))))
def test_obeys_definition_on_any_images(images):
  expected = [brute_force_threshold(im) for im in images]
  np.testing.assert_array_equal(geometry.tss_thresholds(images), expected)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.uint8, (3, 4, 4), elements=st.sampled_from([0, 7, 250])))
def test_few_levels_with_many_ties(images):
  expected = [brute_force_threshold(im) for im in images]
  np.testing.assert_array_equal(geometry.tss_thresholds(images), expected)


def test_empty_batch_gives_empty_thresholds_like_its_siblings():
  # Was a reshape error; masks, boxes and circles already took empty batches.
  empty = np.zeros((0, 28, 28), np.uint8)
  thresholds = geometry.tss_thresholds(empty)
  assert thresholds.shape == (0,) and thresholds.dtype == np.int32
  assert geometry.foreground_masks(empty).shape == (0, 28, 28)
  assert geometry.tight_boxes(empty).shape == (0, 4)
  assert geometry.min_enclosing_circles(empty).shape == (0, 3)
