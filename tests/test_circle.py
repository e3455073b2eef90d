"""Minimal enclosing circles against brute force and OpenCV, and their discs."""

import itertools

import cv2
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from mnist_derived import geometry


def brute_force_circle(mask):
  """Smallest circle through 2 or 3 foreground pixel centers covering all."""
  ys, xs = np.nonzero(mask)
  pts = np.stack([xs, ys], axis=1).astype(np.float64)
  if len(pts) == 1:
    return np.array([pts[0, 0], pts[0, 1], 0.0])
  hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(float)
  best = None
  candidates = []
  for a, b in itertools.combinations(hull, 2):
    candidates.append(((a + b) / 2, np.linalg.norm(a - b) / 2))
  for a, b, c in itertools.combinations(hull, 3):
    m = np.array([b - a, c - a])
    det = np.linalg.det(m)
    if abs(det) < 1e-12:
      continue
    rhs = 0.5 * np.array([m[0] @ m[0], m[1] @ m[1]])
    center = a + np.linalg.solve(m, rhs)
    candidates.append((center, np.linalg.norm(center - a)))
  for center, r in candidates:
    if np.all(np.linalg.norm(pts - center, axis=1) <= r + 1e-9):
      if best is None or r < best[2]:
        best = np.array([center[0], center[1], r])
  return best


def test_matches_opencv_on_all_points_of_every_real_mask(real_images):
  masks = geometry.foreground_masks(real_images)
  ours = geometry.min_enclosing_circles(masks)
  cv = np.array([
      [*c, r] for c, r in (cv2.minEnclosingCircle(cv2.findNonZero(m))
                           for m in masks)
  ])
  np.testing.assert_allclose(ours[:, :2], cv[:, :2], atol=1e-4)
  # OpenCV pads its radius by about 1e-4 px.
  np.testing.assert_allclose(ours[:, 2], cv[:, 2], atol=2e-4)


def test_disc_covers_every_real_mask_of_several_components(real_images):
  masks = geometry.foreground_masks(real_images)
  discs = geometry.disc_masks(geometry.min_enclosing_circles(masks), 28, 28)
  assert not np.any((masks > 0) & (discs == 0))
  # Masks of several 8-connected components: the circle is that of all of
  # them, so it is at least the largest component's own circle, and larger
  # wherever a smaller component lies outside that one.
  grew = 0
  for mask in masks[::7]:
    count, components = cv2.connectedComponents(mask, connectivity=8)
    if count <= 2:
      continue
    sizes = np.bincount(components.ravel())[1:]
    largest = (components == 1 + np.argmax(sizes)).astype(np.uint8)
    whole_r = geometry.min_enclosing_circles(mask[None])[0, 2]
    largest_r = geometry.min_enclosing_circles(largest[None])[0, 2]
    assert whole_r >= largest_r - 1e-9
    grew += whole_r > largest_r + 1e-6
  assert grew > 0


def test_matches_brute_force_on_real_masks(real_images):
  masks = geometry.foreground_masks(real_images[::100])
  ours = geometry.min_enclosing_circles(masks)
  brute = np.array([brute_force_circle(m) for m in masks])
  np.testing.assert_allclose(ours, brute, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.uint8, (6, 7), elements=st.integers(0, 1)))
def test_matches_brute_force_on_any_mask(mask):
  got = geometry.min_enclosing_circles(mask[None])[0]
  if not mask.any():
    np.testing.assert_array_equal(got, [3, 2.5, 0])  # frame center, r = 0
    return
  np.testing.assert_allclose(got, brute_force_circle(mask), atol=1e-9)
  disc = geometry.disc_masks(got[None], 6, 7)[0]
  assert not np.any((mask > 0) & (disc == 0))


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 9),
                                      st.integers(1, 40)),
                  elements=st.integers(0, 1), fill=st.sampled_from([0, 1])))
def test_batches_of_any_shape_and_fill(masks):
  # Empty, single-pixel, full and sparse masks side by side in one batch.
  got = geometry.min_enclosing_circles(masks)
  for mask, circle in zip(masks, got):
    if not mask.any():
      h, w = masks.shape[1:]
      np.testing.assert_array_equal(circle, [(w - 1) / 2, (h - 1) / 2, 0])
    else:
      np.testing.assert_allclose(circle, brute_force_circle(mask), atol=1e-9)


def test_minimality_no_smaller_circle_covers():
  mask = np.zeros((28, 28), np.uint8)
  mask[3, 4] = mask[20, 9] = mask[10, 25] = mask[12, 12] = 1
  cx, cy, r = geometry.min_enclosing_circles(mask[None])[0]
  pts = np.argwhere(mask)[:, ::-1]
  dist = np.hypot(pts[:, 0] - cx, pts[:, 1] - cy)
  # At least two points on the boundary, and they are not all on one side:
  # moving the center anywhere would leave one of them outside.
  on = pts[np.isclose(dist, r)]
  assert len(on) >= 2
  angles = np.sort(np.arctan2(on[:, 1] - cy, on[:, 0] - cx))
  gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
  assert gaps.max() <= np.pi + 1e-9


def test_single_pixel_and_pair():
  mask = np.zeros((2, 5, 5), np.uint8)
  mask[0, 2, 3] = 1
  mask[1, 0, 0] = mask[1, 4, 4] = 1
  got = geometry.min_enclosing_circles(mask)
  np.testing.assert_allclose(got[0], [3, 2, 0])
  np.testing.assert_allclose(got[1], [2, 2, np.sqrt(8)])


def test_empty_mask_gives_a_finite_empty_disc():
  got = geometry.min_enclosing_circles(np.zeros((1, 28, 28), np.uint8))
  np.testing.assert_array_equal(got, [[13.5, 13.5, 0]])
  # Finite, so an L1 loss on it stays finite; its disc holds no pixel, like
  # its mask, under the exact rule and the rasteriser's slack alike.
  assert geometry.disc_subpixels(got, 28, 28).sum() == 0
  assert geometry.disc_masks(got, 28, 28).sum() == 0


def test_negative_radius_is_an_empty_disc():
  # Today's bug: (d^2 <= r^2) holds for -r as for r.
  disc = geometry.disc_subpixels(np.array([[14.0, 14.0, -5.0]]), 28, 28)
  assert disc.sum() == 0
  positive = geometry.disc_subpixels(np.array([[14.0, 14.0, 5.0]]), 28, 28)
  assert positive.sum() == 81  # lattice points within 5 of a lattice point


def _literal_cover(circles, masks):
  """Whether each float32 circle holds every mask pixel center exactly:
  (j - cx)^2 + (i - cy)^2 <= r^2 in float64, no slack."""
  ok = []
  for (cx, cy, r), mask in zip(np.asarray(circles, np.float64), masks):
    i, j = np.nonzero(mask)
    ok.append(bool(np.all((j - cx) ** 2 + (i - cy) ** 2 <= r * r)))
  return np.array(ok)


def test_stored_float32_circles_cover_their_masks(real_images):
  masks = geometry.foreground_masks(real_images[:10000])
  exact = geometry.min_enclosing_circles(masks)
  # Rounding to the nearest float32 leaves pixels out (the 1.0.0 data):
  assert not _literal_cover(exact.astype(np.float32), masks).all()
  stored = geometry.covering_float32(exact, masks)
  assert stored.dtype == np.float32
  assert _literal_cover(stored, masks).all()
  # Only rounding moved: the radius grows by at most a few float32 steps.
  np.testing.assert_allclose(stored, exact, atol=4e-6, rtol=0)
  assert np.all(stored[:, 2].astype(np.float64) >= exact[:, 2] - 1e-6)


def test_disc_convention_pixel_centers():
  disc = geometry.disc_masks(np.array([[2.0, 1.0, 1.0]]), 3, 5)[0]
  expected = np.array([[0, 0, 1, 0, 0],
                       [0, 1, 1, 1, 0],
                       [0, 0, 1, 0, 0]], np.float32)
  np.testing.assert_array_equal(disc, expected)


def test_supersampled_disc_area_approaches_pi_r2():
  disc = geometry.disc_masks(np.array([[10.0, 10.0, 6.0]]), 21, 21,
                             supersample=8)
  assert disc.sum() == pytest.approx(np.pi * 36, rel=0.01)


def test_normalize_round_trip_and_range():
  circles = np.array([[0, 0, 0], [27, 27, 14 * np.sqrt(2)], [13.5, 3, 7]])
  norm = geometry.normalize_circles(circles, 28, 28)
  np.testing.assert_allclose(norm[1], [27 / 28, 27 / 28, 1], rtol=1e-6)
  np.testing.assert_allclose(
      geometry.denormalize_circles(norm, 28, 28), circles, rtol=1e-6)
