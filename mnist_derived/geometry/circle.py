"""Minimal enclosing circles of binary masks, vectorised over a batch.

Coordinates follow OpenCV: the pixel in row i, column j has its center at
(x=j, y=i). A circle is (cx, cy, r) in those pixel units.
"""

import numpy as np

# On integer points a point outside a candidate circle lies at least 1/729
# beyond r^2 (the circumcenter's denominator is at most 2 * 27^2 on a 28x28
# grid, larger grids scale it), so this slack only absorbs float rounding.
_COVER_TOL = 1e-6


def support_points(masks):
  """Returns the leftmost and rightmost foreground pixel of every row.

  Every convex-hull vertex of the foreground is among them, so they have the
  same minimal enclosing circle as the whole mask at a fraction of the points.

  Args:
    masks: array (N, H, W), nonzero = foreground.

  Returns:
    points: float64 (N, 2H, 2) of (x, y); rows without foreground repeat the
      image's first point, so they never change a maximum distance.
    has_points: bool (N,), False for empty masks.
  """
  masks = np.asarray(masks) != 0
  n, h, w = masks.shape
  row_has = masks.any(axis=2)
  left = np.argmax(masks, axis=2)
  right = w - 1 - np.argmax(masks[:, :, ::-1], axis=2)
  rows = np.broadcast_to(np.arange(h), (n, h))
  xs = np.concatenate([left, right], axis=1).astype(np.float64)
  ys = np.concatenate([rows, rows], axis=1).astype(np.float64)
  valid = np.concatenate([row_has, row_has], axis=1)
  has_points = valid.any(axis=1)
  first = np.argmax(valid, axis=1)[:, None]
  xs = np.where(valid, xs, np.take_along_axis(xs, first, axis=1))
  ys = np.where(valid, ys, np.take_along_axis(ys, first, axis=1))
  return np.stack([xs, ys], axis=-1), has_points


def _circle_from_2(a, b):
  center = (a + b) / 2
  return center, np.sum((a - center) ** 2, axis=-1)


def _circle_from_3(a, b, c):
  """Circumcircles of triangles; r^2 = inf where the points are collinear."""
  b, c = b - a, c - a
  det = 2 * (b[..., 0] * c[..., 1] - b[..., 1] * c[..., 0])
  bb, cc = np.sum(b * b, axis=-1), np.sum(c * c, axis=-1)
  with np.errstate(divide="ignore", invalid="ignore"):
    ux = (c[..., 1] * bb - b[..., 1] * cc) / det
    uy = (b[..., 0] * cc - c[..., 0] * bb) / det
  offset = np.stack([ux, uy], axis=-1)
  r2 = np.where(det == 0, np.inf, np.sum(offset**2, axis=-1))
  return a + np.where(det[..., None] == 0, 0, offset), r2


def _enclose_with(support, num_support, p):
  """Smallest circle through p enclosing the support points (p outside them).

  Tries every circle through p and one or two support points and keeps the
  smallest that covers all of them: the minimal circle of support + {p} has p
  on its boundary and at most two support points beside it.
  """
  n = len(p)
  pairs = [(i,) for i in range(3)] + [(0, 1), (0, 2), (1, 2)]
  best_r2 = np.full(n, np.inf)
  best_center = np.zeros((n, 2))
  best_support = support.copy()
  best_count = np.ones(n, dtype=np.int64)
  points = np.concatenate([support, p[:, None]], axis=1)
  point_valid = np.concatenate(
      [np.arange(3)[None] < num_support[:, None], np.ones((n, 1), bool)], axis=1
  )
  for combo in pairs:
    usable = np.all([idx < num_support for idx in combo], axis=0)
    if len(combo) == 1:
      center, r2 = _circle_from_2(p, support[:, combo[0]])
    else:
      center, r2 = _circle_from_3(
          p, support[:, combo[0]], support[:, combo[1]])
    d2 = np.sum((points - center[:, None]) ** 2, axis=-1)
    covers = np.all((d2 <= r2[:, None] + _COVER_TOL) | ~point_valid, axis=1)
    better = usable & covers & (r2 < best_r2)
    best_r2 = np.where(better, r2, best_r2)
    best_center[better] = center[better]
    new_support = np.stack(
        [p] + [support[:, i] for i in combo] + [p] * (2 - len(combo)), axis=1
    )
    best_support[better] = new_support[better]
    best_count[better] = len(combo) + 1
  return best_center, best_r2, best_support, best_count


def enclosing_circles_of_points(points, has_points):
  """Exact minimal enclosing circles of padded point sets, (N, 3) float64.

  An Elzinga-Hearn style iteration, in lockstep over all sets: keep the
  circle of a support set of at most 3 points, add the farthest point while it
  lies outside, and replace the support by that of the new minimal circle. The
  radius grows strictly each step, so the loop ends at the minimal circle.
  Sets without points get (nan, nan, nan).
  """
  n = len(points)
  center = points[:, 0].copy()
  r2 = np.zeros(n)
  support = np.repeat(points[:, :1], 3, axis=1)
  num_support = np.ones(n, dtype=np.int64)
  active = has_points.copy()
  while active.any():
    idx = np.flatnonzero(active)
    d2 = np.sum((points[idx] - center[idx, None]) ** 2, axis=-1)
    far = np.argmax(d2, axis=1)
    outside = d2[np.arange(len(idx)), far] > r2[idx] + _COVER_TOL
    active[idx[~outside]] = False
    idx, far = idx[outside], far[outside]
    if not len(idx):
      break
    p = points[idx, far]
    c, new_r2, s, k = _enclose_with(support[idx], num_support[idx], p)
    center[idx], r2[idx], support[idx], num_support[idx] = c, new_r2, s, k
  circles = np.concatenate([center, np.sqrt(r2)[:, None]], axis=1)
  circles[~has_points] = np.nan
  return circles


def min_enclosing_circles(masks):
  """Minimal enclosing circle of all foreground pixel centers of each mask.

  Every connected component counts. Convention: pixel (row i, column j) has
  center (x=j, y=i); the result is float64 (N, 3) of (cx, cy, r) in pixels,
  (nan, nan, nan) for an empty mask. ``disc_masks`` of the result covers the
  whole mask.
  """
  points, has_points = support_points(masks)
  return enclosing_circles_of_points(points, has_points)


def disc_subpixels(circles, height, width, supersample=1, tolerance=0.0):
  """Rasterises circles as boolean (N, H * s, W * s) sub-pixel discs.

  Each pixel is split into s x s sub-pixels (s = ``supersample``); a sub-pixel
  is inside when its center lies within r + tolerance of the circle's center.
  With s = 1 the sub-pixels are the pixels, centered at (x=j, y=i). Circles
  with NaN radius give empty discs.
  """
  circles = np.asarray(circles, dtype=np.float64)
  step = 1.0 / supersample
  ys = np.arange(height * supersample) * step + (step / 2 - 0.5)
  xs = np.arange(width * supersample) * step + (step / 2 - 0.5)
  cx, cy, r = (circles[:, i, None, None] for i in range(3))
  with np.errstate(invalid="ignore"):
    return (xs[None, None, :] - cx) ** 2 + (ys[None, :, None] - cy) ** 2 <= (
        r + tolerance) ** 2


def disc_masks(circles, height, width, tolerance=1e-6, supersample=1):
  """Rasterises circles as (N, H, W) float32 coverage of each pixel.

  With ``supersample=1`` a pixel is 1 when its center (x=j, y=i) lies within
  r + tolerance of the circle's center, else 0 (the slack absorbs rounding of
  stored radii, so the disc of a mask's circle covers the mask). With
  ``supersample=s`` the value is the covered fraction of s x s sub-pixels.
  """
  inside = disc_subpixels(circles, height, width, supersample, tolerance)
  inside = inside.reshape(len(inside), height, supersample, width, supersample)
  return inside.mean(axis=(2, 4), dtype=np.float32)


def _circle_scale(height, width):
  # x by width, y by height, r by the half-diagonal: each lands in [0, 1]
  # for any circle of points inside the frame.
  return np.array([width, height, 0.5 * np.hypot(width, height)])


def normalize_circles(circles, height, width):
  """(cx, cy, r) in pixels -> (cx / W, cy / H, r / half-diagonal), float32."""
  return (np.asarray(circles) / _circle_scale(height, width)).astype(np.float32)


def denormalize_circles(normalized, height, width):
  """Inverse of ``normalize_circles``, float64 pixels."""
  return np.asarray(normalized, dtype=np.float64) * _circle_scale(height, width)
