"""Every score of the three tasks, as numpy functions of predictions and truths.

This is the one implementation of each metric: `mnist-derived score` and the
`training` package both call it. Numpy only: importing it loads neither
TensorFlow nor Keras.

Jaccard index (IoU) = |A and B| / |A or B|, Dice = 2 |A and B| / (|A| + |B|);
both are 1.0 when A and B are both empty. Each "reference" score reproduces
how the original notebooks scored their models (see the README's results),
beside the standard metric it approximates.
"""

import numpy as np

from mnist_derived import geometry

# Sub-pixels per pixel side when rasterising discs: fine enough that the
# score measures the circles, not the pixel grid.
DISC_SUPERSAMPLE = 4
# Shares of images whose disc Jaccard reaches each of these.
DISC_JACCARD_LEVELS = (0.5, 0.75, 0.9)
# The reference scored the first 1000 test mosaics.
REFERENCE_MOSAICS = 1000
_DISC_CHUNK = 500


def _jaccard(pred, true, axis):
  """Jaccard over `axis` of boolean arrays; 1.0 where both are empty."""
  inter = np.logical_and(pred, true).sum(axis=axis)
  union = np.logical_or(pred, true).sum(axis=axis)
  return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


def _dice(pred, true, axis):
  """Dice over `axis` of boolean arrays; 1.0 where both are empty."""
  inter = np.logical_and(pred, true).sum(axis=axis)
  sizes = pred.sum(axis=axis) + true.sum(axis=axis)
  return np.where(sizes == 0, 1.0, 2 * inter / np.maximum(sizes, 1))


# Foreground (mnist_fg) ------------------------------------------------------


def foreground_scores(pred_masks, true_masks):
  """Binary masks (N, H, W[, 1]), nonzero = foreground -> scores.

  `mean_image_jaccard` is the reference's score (the mean over images of each
  image's foreground Jaccard), `mean_image_dice` the same with Dice;
  `foreground_iou` and `foreground_dice` pool every pixel of the split;
  `pixel_accuracy` counts both classes.
  """
  pred = np.asarray(pred_masks).astype(bool).reshape(len(pred_masks), -1)
  true = np.asarray(true_masks).astype(bool).reshape(len(true_masks), -1)
  return {
      "mean_image_jaccard": float(_jaccard(pred, true, axis=1).mean()),
      "mean_image_dice": float(_dice(pred, true, axis=1).mean()),
      "foreground_iou": float(_jaccard(pred, true, axis=None)),
      "foreground_dice": float(_dice(pred, true, axis=None)),
      "pixel_accuracy": float((pred == true).mean()),
  }


# Circles (mnist_circles) ----------------------------------------------------


def disc_jaccards(pred_circles, true_circles, height=28, width=28,
                  supersample=DISC_SUPERSAMPLE):
  """Per-image Jaccard of two discs rasterised on the image frame.

  Circles are (cx, cy, r) in pixels, pixel (row i, col j) centered at (j, i),
  as in mnist_circles. Each pixel is split into supersample^2 sub-pixels; a
  sub-pixel belongs to a disc when its center lies within r (a negative r is
  an empty disc). With supersample=1 this is the reference's 28x28
  rasterisation. Two empty discs score 1.0.
  """
  pred_circles, true_circles = np.asarray(pred_circles), np.asarray(true_circles)
  scores = []
  for start in range(0, len(pred_circles), _DISC_CHUNK):  # bounds memory
    chunk = slice(start, start + _DISC_CHUNK)
    pred = geometry.disc_subpixels(pred_circles[chunk], height, width,
                                   supersample)
    true = geometry.disc_subpixels(true_circles[chunk], height, width,
                                   supersample)
    scores.append(_jaccard(pred, true, axis=(1, 2)))
  return np.concatenate(scores) if scores else np.zeros(0)


def circle_scores(pred_labels, true_labels, pred_circles, true_circles,
                  height=28, width=28):
  """Accuracy, disc Jaccards and circle errors of a label + circle model.

  `disc_jaccard_reference`: the reference's rule (mean over all images, 0 for
  a wrong label), against the right split's circles, on a 4x4-supersampled
  grid; `disc_jaccard_reference_pixels`: the same on the reference's 28x28
  pixel grid; `disc_jaccard_correct`: mean over correctly labelled images
  only; `disc_jaccard`: mean over all images, whatever the label;
  `disc_jaccard_at_least_<q>`: share of images whose disc Jaccard is >= q.
  `center_error_*`: distance between the centers in pixels;
  `radius_error_*`: |r_pred - r_true| in pixels.
  """
  pred_circles = np.asarray(pred_circles, dtype=np.float64)
  true_circles = np.asarray(true_circles, dtype=np.float64)
  correct = np.asarray(pred_labels) == np.asarray(true_labels)
  fine = disc_jaccards(pred_circles, true_circles, height, width)
  pixels = disc_jaccards(pred_circles, true_circles, height, width,
                         supersample=1)
  center_error = np.hypot(*(pred_circles[:, :2] - true_circles[:, :2]).T)
  radius_error = np.abs(pred_circles[:, 2] - true_circles[:, 2])
  return {
      "accuracy": float(correct.mean()),
      "disc_jaccard_reference": float(np.where(correct, fine, 0).mean()),
      "disc_jaccard_reference_pixels": float(
          np.where(correct, pixels, 0).mean()),
      "disc_jaccard_correct": float(fine[correct].mean()) if correct.any()
                              else 0.0,
      "disc_jaccard": float(fine.mean()),
      **{f"disc_jaccard_at_least_{q}": float((fine >= q).mean())
         for q in DISC_JACCARD_LEVELS},
      "center_error_mean": float(center_error.mean()),
      "center_error_median": float(np.median(center_error)),
      "radius_error_mean": float(radius_error.mean()),
      "radius_error_median": float(np.median(radius_error)),
  }


def circles_from_normalized(normalized, height=28, width=28):
  """A circle head's (cx/W, cy/H, r/half-diagonal) back in pixels."""
  return geometry.denormalize_circles(normalized, height, width)


# Mosaics (mnist_mosaic) -----------------------------------------------------


class ConfusionAccumulator:
  """Pixel confusion matrix of class maps, accumulated batch by batch.

  matrix[t, p] counts pixels of true class t predicted as p.
  """

  def __init__(self, num_classes):
    self.num_classes = num_classes
    self.matrix = np.zeros((num_classes, num_classes), np.int64)

  def add(self, pred, true):
    index = np.asarray(true).astype(np.int64).ravel() * self.num_classes
    index += np.asarray(pred).astype(np.int64).ravel()
    self.matrix += np.bincount(
        index, minlength=self.num_classes**2).reshape(self.matrix.shape)

  def scores(self):
    """Mean IoU, per-class IoU and pixel accuracy.

    Convention of `keras.metrics.MeanIoU`: a class absent from both truth and
    prediction (union 0) has no IoU (None in `class_iou`) and is left out of
    the mean; every other class counts, 0 when it was never hit.
    """
    inter = np.diag(self.matrix)
    union = self.matrix.sum(axis=0) + self.matrix.sum(axis=1) - inter
    present = union > 0
    iou = inter / np.maximum(union, 1)
    return {
        "mean_iou": float(iou[present].mean()) if present.any() else 1.0,
        "pixel_accuracy": float(inter.sum() / max(self.matrix.sum(), 1)),
        "class_iou": [float(v) if p else None for v, p in zip(iou, present)],
    }


def reference_mosaic_jaccards(pred, true, num_classes):
  """The reference's per-mosaic score, for class maps (N, H, W).

  Per mosaic: the binary Jaccard of each class channel that is non-empty in
  both truth and prediction (background included), averaged over those
  channels. Classes the model missed or invented are skipped, which is why it
  reads higher than mean IoU; a mosaic that shares no class with its truth
  scores 0.
  """
  pred = np.asarray(pred).reshape(len(pred), -1)
  true = np.asarray(true).reshape(len(true), -1)
  classes = np.arange(num_classes)[None, :, None]
  p, t = pred[:, None, :] == classes, true[:, None, :] == classes
  counted = p.any(axis=2) & t.any(axis=2)
  jac = _jaccard(p, t, axis=2)
  num_counted = counted.sum(axis=1)
  return np.where(num_counted > 0,
                  (jac * counted).sum(axis=1) / np.maximum(num_counted, 1), 0.0)


def mosaic_scores(pred_masks, true_masks, num_classes, batch=1000):
  """Mean and per-class IoU, pixel accuracy and the reference's score.

  pred_masks, true_masks: int class maps (N, H, W) of examples in index
  order; `reference_jaccard_1000` averages `reference_mosaic_jaccards` over
  the first REFERENCE_MOSAICS of them.
  """
  confusion = ConfusionAccumulator(num_classes)
  for start in range(0, len(true_masks), batch):  # bounds memory
    confusion.add(pred_masks[start:start + batch],
                  true_masks[start:start + batch])
  reference = reference_mosaic_jaccards(pred_masks[:REFERENCE_MOSAICS],
                                        true_masks[:REFERENCE_MOSAICS],
                                        num_classes)
  return {
      **confusion.scores(),
      "reference_jaccard_1000": float(reference.mean()) if len(reference)
                                else 0.0,
      "reference_mosaics": int(len(reference)),
  }


# Digits of a mosaic (mnist_mosaic configs with a fixed count) ---------------


def label_set_scores(pred_labels, true_labels, num_classes):
  """(N, K) predicted and true digit classes of N mosaics of K digits each,
  order ignored within a mosaic (MultiMNIST's way).

  `exact_accuracy`: the share of mosaics whose K predicted classes are their
  K true ones, as multisets (for two digits, the paper's exact-pair
  accuracy); `digit_accuracy`: the share of all true digits matched by a
  predicted one of its class (each predicted label matches one digit).
  """
  classes = np.arange(num_classes)
  pred = (np.asarray(pred_labels)[..., None] == classes).sum(axis=1)
  true = (np.asarray(true_labels)[..., None] == classes).sum(axis=1)
  matched = np.minimum(pred, true).sum(axis=1)
  digits = np.asarray(true_labels).shape[1]
  return {"exact_accuracy": float(np.mean(matched == digits)),
          "digit_accuracy": float(matched.sum() / max(matched.size * digits, 1))}


# Frame prediction (mnist_moving) ---------------------------------------------

# SSIM as Wang et al. (2004) and scikit-image's defaults compute it: a 7x7
# uniform window, K1 = 0.01, K2 = 0.03, sample covariances, the mean over
# the pixels whose window lies inside the frame.
SSIM_WINDOW = 7
SSIM_K1, SSIM_K2 = 0.01, 0.03
# A frame predicted exactly has an infinite PSNR: capped here, so averages
# stay finite.
PSNR_CAP = 100.0


def ssim_per_frame(pred, true):
  """(..., ) SSIM of each frame (..., H, W), intensities in [0, 1]."""
  from scipy import ndimage  # pylint: disable=g-import-not-at-top
  pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
  size = (1,) * (pred.ndim - 2) + (SSIM_WINDOW, SSIM_WINDOW)
  mean = lambda x: ndimage.uniform_filter(x, size=size)
  norm = SSIM_WINDOW**2 / (SSIM_WINDOW**2 - 1)
  mu_p, mu_t = mean(pred), mean(true)
  var_p = norm * (mean(pred * pred) - mu_p * mu_p)
  var_t = norm * (mean(true * true) - mu_t * mu_t)
  cov = norm * (mean(pred * true) - mu_p * mu_t)
  c1, c2 = SSIM_K1**2, SSIM_K2**2
  ssim = ((2 * mu_p * mu_t + c1) * (2 * cov + c2)
          / ((mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2)))
  pad = (SSIM_WINDOW - 1) // 2
  return ssim[..., pad:-pad, pad:-pad].mean(axis=(-2, -1))


_FRAME_CHUNK = 500  # sequences at a time: bounds SSIM's temporaries


def _frame_errors(pred, true):
  """{score: (n, T')} of each sequence's predicted frames."""
  pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
  error = pred - true
  mean_squared = (error**2).mean(axis=(2, 3))
  return {
      "mse": (error**2).sum(axis=(2, 3)),
      "mae": np.abs(error).sum(axis=(2, 3)),
      "psnr": 10 * np.log10(1 / np.maximum(mean_squared,
                                           10**(-PSNR_CAP / 10))),
      "ssim": ssim_per_frame(pred, true),
  }


def frame_prediction_scores(pred, true):
  """Scores of predicted frames (N, T', H, W) against the true ones, both
  intensities in [0, 1].

  MSE and MAE per frame are the sum over its pixels of the squared
  (absolute) errors, averaged over sequences: the convention of SimVP
  (Gao et al. 2022) and OpenSTL (Tan et al. 2023), whose Moving MNIST
  tables report them. PSNR (data range 1, capped at PSNR_CAP) and SSIM are
  computed per frame, then averaged. `frame_*` lists give each predicted
  frame's; the unprefixed scores average them.
  """
  parts = [_frame_errors(pred[start:start + _FRAME_CHUNK],
                         true[start:start + _FRAME_CHUNK])
           for start in range(0, len(true), _FRAME_CHUNK)]
  per_frame = {name: np.concatenate([p[name] for p in parts]).mean(axis=0)
               for name in parts[0]}
  return {
      **{name: float(values.mean()) for name, values in per_frame.items()},
      **{f"frame_{name}": values.tolist() for name, values in per_frame.items()},
      "predicted_frames": int(pred.shape[1]),
  }
