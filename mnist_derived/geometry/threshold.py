"""Per-image TSS (Otsu) threshold of uint8 images, vectorised over a batch."""

import numpy as np

NUM_LEVELS = 256
# Threshold given to an image with a single intensity: no pixel reaches it,
# so its mask is empty.
CONSTANT_IMAGE_THRESHOLD = NUM_LEVELS
# Scores within this relative distance of an image's best are re-compared
# exactly in integers, so float rounding can never decide a tie.
_NEAR_TIE_RTOL = 1e-9
_CHUNK = 2048


def tss_thresholds(images):
  """Returns, per image, the threshold minimising the within-class TSS.

  Convention: for threshold t the foreground is ``x >= t`` and the background
  ``x < t``; the total within-class sum of squares is
  ``sum over both classes of sum (x - class mean)**2``. Candidates are the
  image's own intensities above its minimum (so both classes are non-empty);
  ties go to the lowest t, decided exactly in integer arithmetic. An image
  with a single intensity gets ``CONSTANT_IMAGE_THRESHOLD`` (256): empty mask.

  ``skimage.filters.threshold_otsu`` maximises the same criterion but returns
  the last background level s, with foreground ``x > s``; on every image with
  two or more levels the two masks coincide, and s is the largest level below
  our t.

  Args:
    images: uint8 array of shape (N, ...), one image per leading index.

  Returns:
    int32 array of shape (N,).
  """
  images = np.asarray(images)
  if images.dtype != np.uint8:
    raise TypeError(f"tss_thresholds needs uint8 images, got {images.dtype}")
  flat = images.reshape(images.shape[0], -1)
  # Chunks keep the (chunk x 256) working arrays in cache.
  return np.concatenate(
      [_chunk_thresholds(flat[i:i + _CHUNK]) for i in range(0, len(flat), _CHUNK)]
      or [np.zeros(0, np.int32)]
  )


def _chunk_thresholds(flat):
  n, num_pixels = flat.shape
  # One bincount over all images, offset so that each image gets its own row.
  offsets = (np.arange(n, dtype=np.int64) * NUM_LEVELS)[:, None]
  hist = np.bincount((flat + offsets).ravel(), minlength=n * NUM_LEVELS)
  hist = hist.reshape(n, NUM_LEVELS).astype(np.int64)
  levels = np.arange(NUM_LEVELS, dtype=np.int64)
  # Background below t: counts and intensity sums of levels < t, exact ints.
  count_below = np.cumsum(hist, axis=1) - hist
  sum_below = np.cumsum(hist * levels, axis=1) - hist * levels
  total_sum = sum_below[:, -1:] + hist[:, -1:] * (NUM_LEVELS - 1)
  # TSS = sum x^2 - s_b^2/n_b - s_f^2/n_f
  #     = const - (P s_b - S n_b)^2 / (P n_b n_f), with P pixels, S total sum,
  # so the best t maximises the between-class score d^2 / (n_b n_f).
  count_above = num_pixels - count_below
  diff = num_pixels * sum_below - total_sum * count_below
  candidate = (hist > 0) & (count_below > 0)
  with np.errstate(divide="ignore", invalid="ignore"):
    score = np.square(diff, dtype=np.float64) / (count_below * count_above)
  score[~candidate] = -np.inf
  best = np.argmax(score, axis=1)
  best_score = score[np.arange(n), best]
  thresholds = best.astype(np.int32)
  thresholds[~np.isfinite(best_score)] = CONSTANT_IMAGE_THRESHOLD

  near = candidate & (score >= (best_score * (1 - _NEAR_TIE_RTOL))[:, None])
  for i in np.flatnonzero(np.count_nonzero(near, axis=1) > 1):
    thresholds[i] = _exact_best(
        np.flatnonzero(near[i]), diff[i], count_below[i], count_above[i]
    )
  return thresholds


def _exact_best(ts, diff, count_below, count_above):
  """Lowest t in ts maximising diff^2 / (n_b n_f), in exact integers."""
  best_t = int(ts[0])
  best_num, best_den = int(diff[best_t]) ** 2, int(
      count_below[best_t] * count_above[best_t])
  for t in ts[1:]:
    num, den = int(diff[t]) ** 2, int(count_below[t] * count_above[t])
    if num * best_den > best_num * den:  # strictly better: ties keep lower t
      best_t, best_num, best_den = int(t), num, den
  return best_t


def foreground_masks(images, thresholds=None):
  """Returns uint8 0/1 masks ``images >= t`` with each image's TSS threshold."""
  images = np.asarray(images)
  if thresholds is None:
    thresholds = tss_thresholds(images)
  t = np.asarray(thresholds).reshape((-1,) + (1,) * (images.ndim - 1))
  return (images >= t).astype(np.uint8)
