"""Per-image TSS (Otsu) threshold of uint8 images, vectorised over a batch."""

import functools
import math

import numpy as np

NUM_LEVELS = 256
# Threshold given to an image with a single intensity: no pixel reaches it,
# so its mask is empty.
CONSTANT_IMAGE_THRESHOLD = NUM_LEVELS
# Scores within this relative distance of an image's best are re-compared
# exactly in integers, so float rounding can never decide a tie.
_NEAR_TIE_RTOL = 1e-9
# Images per vectorised step: keeps the (chunk x 256) working arrays in cache.
_CHUNK = 256


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
  flat = images.reshape(images.shape[0], math.prod(images.shape[1:]))
  thresholds = np.empty(len(flat), np.int32)
  for start in range(0, len(flat), _CHUNK):
    chunk = flat[start:start + _CHUNK]
    thresholds[start:start + len(chunk)] = _chunk_thresholds(chunk)
  return thresholds


@functools.lru_cache(maxsize=8)
def _inverse_class_sizes(num_pixels):
  """1 / (n_b n_f) for every background size n_b, 0 where a class is empty."""
  below = np.arange(num_pixels + 1, dtype=np.float64)
  product = below * (num_pixels - below)
  inverse = np.divide(1.0, product, out=np.zeros_like(product),
                      where=product > 0)
  inverse.flags.writeable = False
  return inverse


def _chunk_thresholds(flat):
  n, num_pixels = flat.shape
  levels = np.arange(NUM_LEVELS, dtype=np.int64)
  # One bincount over all images, offset so that each image gets its own row.
  keys = np.add(flat, (np.arange(n, dtype=np.int64) * NUM_LEVELS)[:, None])
  hist = np.bincount(keys.ravel(), minlength=n * NUM_LEVELS).reshape(
      n, NUM_LEVELS)
  # Column c stands for threshold t = c + 1, background x <= c.
  # TSS = sum x^2 - s_b^2/n_b - s_f^2/n_f
  #     = const - (P s_b - S n_b)^2 / (P n_b n_f), with P pixels, S the total,
  # so the best t maximises d^2 / (n_b n_f), d = sum_{x<t} hist(x)(P x - S):
  # exact int64 cumulative sums, one float division per (image, level).
  count_below = np.cumsum(hist, axis=1)
  total = flat.sum(axis=1, dtype=np.int64)
  diff = np.cumsum(hist * (num_pixels * levels - total[:, None]), axis=1)
  # A class is empty where n_b is 0 or P: d is 0 there, and so is the score.
  score = np.square(diff, dtype=np.float64)
  score *= _inverse_class_sizes(num_pixels)[count_below]
  # Levels with no pixel repeat the split, hence the score, of the next
  # present level: the last column of the best run is an image intensity.
  first_best = np.argmax(score, axis=1)
  last_best = NUM_LEVELS - 1 - np.argmax(score[:, ::-1], axis=1)
  rows = np.arange(n)
  best_score = score[rows, first_best]
  thresholds = (last_best + 1).astype(np.int32)
  thresholds[best_score == 0] = CONSTANT_IMAGE_THRESHOLD

  # Another split within rounding of the best, or an exact tie with the
  # adjacent split, is decided exactly.
  near = score >= (best_score * (1 - _NEAR_TIE_RTOL))[:, None]
  other_split = (np.count_nonzero(near, axis=1) > last_best - first_best + 1) | (
      count_below[rows, first_best] != count_below[rows, last_best])
  for i in np.flatnonzero(other_split & (best_score > 0)):
    columns = np.flatnonzero(near[i, :-1] & (hist[i, 1:] > 0))
    thresholds[i] = _exact_best(columns, diff[i], count_below[i],
                                num_pixels) + 1
  return thresholds


def _exact_best(columns, diff, count_below, num_pixels):
  """Lowest column maximising diff^2 / (n_b n_f), in exact integers."""
  best, best_num, best_den = None, 0, 1
  for c in columns:
    num = int(diff[c]) ** 2
    den = int(count_below[c]) * (num_pixels - int(count_below[c]))
    if den and num * best_den > best_num * den:  # ties keep the lower column
      best, best_num, best_den = int(c), num, den
  return best


def foreground_masks(images, thresholds=None):
  """Returns uint8 0/1 masks ``images >= t`` with each image's TSS threshold."""
  images = np.asarray(images)
  if thresholds is None:
    thresholds = tss_thresholds(images)
  t = np.asarray(thresholds).reshape((-1,) + (1,) * (images.ndim - 1))
  return (images >= t).astype(np.uint8)
