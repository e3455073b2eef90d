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
    xs, ys: float64 (N, 2H) pixel coordinates; rows without foreground repeat
      the image's first point, so they never change a maximum distance.
    has_points: bool (N,), False for empty masks.
  """
  masks = np.asarray(masks)
  foreground = masks if masks.dtype == bool else masks != 0
  n, h, w = foreground.shape
  # Column j + 1 of the first / last foreground pixel, 0 for an empty row.
  # One pass per column over all rows at once: numpy reduces a short last
  # axis row by row, several times slower.
  first = np.zeros((n, h), np.int32)
  last = np.zeros((n, h), np.int32)
  for j in range(w):
    np.copyto(last, j + 1, where=foreground[:, :, j])
  for j in reversed(range(w)):
    np.copyto(first, j + 1, where=foreground[:, :, j])
  xs = np.concatenate([first, last], axis=1).astype(np.float64) - 1
  ys = np.tile(np.arange(h, dtype=np.float64), (n, 2))
  valid = np.concatenate([last, last], axis=1) > 0
  has_points = valid[:, :h].any(axis=1)
  first_point = np.argmax(valid, axis=1)[:, None]
  xs = np.where(valid, xs, np.take_along_axis(xs, first_point, axis=1))
  ys = np.where(valid, ys, np.take_along_axis(ys, first_point, axis=1))
  return xs, ys, has_points


def _circle_from_2(ax, ay, bx, by):
  """Circles with segment ab as diameter: (cx, cy, r^2)."""
  cx, cy = (ax + bx) / 2, (ay + by) / 2
  return cx, cy, (ax - cx) ** 2 + (ay - cy) ** 2


def _circle_from_3(ax, ay, bx, by, cx, cy):
  """Circumcircles of triangles abc; r^2 = inf where they are collinear."""
  bx, by, cx, cy = bx - ax, by - ay, cx - ax, cy - ay
  det = 2 * (bx * cy - by * cx)
  bb, cc = bx * bx + by * by, cx * cx + cy * cy
  collinear = det == 0
  det = np.where(collinear, 1, det)
  ux = np.where(collinear, 0, (cy * bb - by * cc) / det)
  uy = np.where(collinear, 0, (bx * cc - cx * bb) / det)
  r2 = np.where(collinear, np.inf, ux * ux + uy * uy)
  return ax + ux, ay + uy, r2


# Support points joined with the new point: the minimal circle of support +
# {p} has p on its boundary and at most two support points beside it.
_SUPPORT_SUBSETS = ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2))


def _enclose_with(sx, sy, num_support, px, py):
  """Smallest circle through p enclosing the support points (p outside them).

  sx, sy: (n, 3) support coordinates, the first num_support of each valid.
  Returns center x, y, r^2, the new support (n, 3) x and y, and its size.
  """
  n = len(px)
  best = [np.zeros(n), np.zeros(n), np.full(n, np.inf)]
  best_sx, best_sy = sx.copy(), sy.copy()
  best_count = np.ones(n, dtype=np.int64)
  valid = [num_support > i for i in range(3)]
  for subset in _SUPPORT_SUBSETS:
    if len(subset) == 1:
      (i,) = subset
      cx, cy, r2 = _circle_from_2(px, py, sx[:, i], sy[:, i])
    else:
      i, j = subset
      cx, cy, r2 = _circle_from_3(px, py, sx[:, i], sy[:, i], sx[:, j], sy[:, j])
    better = valid[max(subset)] & (r2 < best[2])
    for k in range(3):  # p lies on the circle by construction
      d2 = (sx[:, k] - cx) ** 2 + (sy[:, k] - cy) ** 2
      better &= (d2 <= r2 + _COVER_TOL) | ~valid[k]
    for value, kept in zip((cx, cy, r2), best):
      np.copyto(kept, value, where=better)
    new_columns = [0] + [c + 1 for c in subset] + [0] * (2 - len(subset))
    with_p = lambda s, p: np.stack([p, s[:, 0], s[:, 1], s[:, 2]], axis=1)
    np.copyto(best_sx, with_p(sx, px)[:, new_columns], where=better[:, None])
    np.copyto(best_sy, with_p(sy, py)[:, new_columns], where=better[:, None])
    best_count[better] = len(subset) + 1
  return (*best, best_sx, best_sy, best_count)


def enclosing_circles_of_points(xs, ys, has_points):
  """Exact minimal enclosing circles of padded point sets, (N, 3) float64.

  An Elzinga-Hearn style iteration, in lockstep over all sets: keep the
  circle of a support set of at most 3 points, add the farthest point while it
  lies outside, and replace the support by that of the new minimal circle. The
  radius grows strictly each step, so the loop ends at the minimal circle.
  Sets without points get (nan, nan, nan); `min_enclosing_circles` defines
  them.

  Args:
    xs, ys: float64 (N, M) point coordinates, M >= 1 per set.
    has_points: bool (N,), False where the set is empty (its points ignored).
  """
  n = len(xs)
  cx, cy, r2 = xs[:, 0].copy(), ys[:, 0].copy(), np.zeros(n)
  sx, sy = np.repeat(xs[:, :1], 3, axis=1), np.repeat(ys[:, :1], 3, axis=1)
  num_support = np.ones(n, dtype=np.int64)
  idx = np.flatnonzero(has_points)
  while len(idx):
    d2 = (xs[idx] - cx[idx, None]) ** 2 + (ys[idx] - cy[idx, None]) ** 2
    far = np.argmax(d2, axis=1)
    outside = d2[np.arange(len(idx)), far] > r2[idx] + _COVER_TOL
    idx, far = idx[outside], far[outside]
    if not len(idx):
      break
    (cx[idx], cy[idx], r2[idx], sx[idx], sy[idx],
     num_support[idx]) = _enclose_with(
         sx[idx], sy[idx], num_support[idx], xs[idx, far], ys[idx, far])
  circles = np.stack([cx, cy, np.sqrt(r2)], axis=1)
  circles[~has_points] = np.nan
  return circles


def empty_mask_circle(height, width):
  """The circle of an empty mask: the frame's center, radius 0.

  Finite, so it never poisons a loss; on an even-sized frame (28x28) its
  disc holds no pixel center, like the mask.
  """
  return np.array([(width - 1) / 2, (height - 1) / 2, 0.0])


def min_enclosing_circles(masks):
  """Minimal enclosing circle of all foreground pixel centers of each mask.

  Every connected component counts. Convention: pixel (row i, column j) has
  center (x=j, y=i); the result is float64 (N, 3) of (cx, cy, r) in pixels.
  An empty mask gets ``empty_mask_circle``. ``disc_masks`` of the result
  covers the whole mask.
  """
  masks = np.asarray(masks)
  xs, ys, has_points = support_points(masks)
  circles = enclosing_circles_of_points(xs, ys, has_points)
  circles[~has_points] = empty_mask_circle(*masks.shape[1:3])
  return circles


def covering_float32(circles, masks):
  """Rounds circles to float32 so that each disc still covers its mask.

  Centers are rounded to the nearest float32. Each radius is then the
  smallest float32 r for which every foreground pixel center (x, y) of the
  mask satisfies (x - cx)^2 + (y - cy)^2 <= r^2, computed in float64 from
  the float32 values, with no slack: the float32 radius nearest the exact
  one can fall short of a boundary pixel by about 1e-6 px. Empty masks keep
  their circle.
  """
  stored = np.asarray(circles).astype(np.float32)
  xs, ys, has_points = support_points(masks)  # hull vertices: the far points
  cx, cy = (stored[:, i, None].astype(np.float64) for i in range(2))
  far2 = np.max((xs - cx) ** 2 + (ys - cy) ** 2, axis=1)
  radius = np.where(has_points, np.sqrt(far2), stored[:, 2]).astype(np.float32)
  short = has_points & (radius.astype(np.float64) ** 2 < far2)
  while short.any():  # at most a few float32 steps
    radius[short] = np.nextafter(radius[short], np.float32(np.inf))
    short = has_points & (radius.astype(np.float64) ** 2 < far2)
  stored[:, 2] = radius
  return stored


def disc_subpixels(circles, height, width, supersample=1, tolerance=0.0):
  """Rasterises circles as boolean (N, H * s, W * s) sub-pixel discs.

  Each pixel is split into s x s sub-pixels (s = ``supersample``); a sub-pixel
  is inside when its center lies within r + tolerance of the circle's center.
  With s = 1 the sub-pixels are the pixels, centered at (x=j, y=i). Circles
  with a negative or NaN radius give empty discs.
  """
  circles = np.asarray(circles, dtype=np.float64)
  step = 1.0 / supersample
  ys = np.arange(height * supersample) * step + (step / 2 - 0.5)
  xs = np.arange(width * supersample) * step + (step / 2 - 0.5)
  cx, cy, r = (circles[:, i, None, None] for i in range(3))
  with np.errstate(invalid="ignore"):
    inside = (xs[None, None, :] - cx) ** 2 + (ys[None, :, None] - cy) ** 2 <= (
        r + tolerance) ** 2
    return inside & (r >= 0)


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
