"""Scores of the three tasks, as numpy functions of predictions and truths.

Each reference protocol (see the README's results table) sits beside the
standard metric it approximates. Jaccard index = |A and B| / |A or B|.
"""

import numpy as np

from mnist_derived import geometry

# Sub-pixels per pixel side when rasterising discs: fine enough that the
# score measures the circles, not the pixel grid.
DISC_SUPERSAMPLE = 4
_DISC_CHUNK = 500


def _jaccard(pred, true, axis):
  """Jaccard over `axis` of boolean arrays; 1.0 where both are empty."""
  inter = np.logical_and(pred, true).sum(axis=axis)
  union = np.logical_or(pred, true).sum(axis=axis)
  return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


# Foreground (mnist_fg) ------------------------------------------------------


def foreground_scores(pred_masks, true_masks):
  """Binary masks (N, H, W[, 1]) -> mean per-image Jaccard and dataset IoU.

  `mean_image_jaccard` is the reference's score (mean over images of each
  image's foreground Jaccard); `foreground_iou` pools every pixel of the split.
  """
  pred = np.asarray(pred_masks).astype(bool).reshape(len(pred_masks), -1)
  true = np.asarray(true_masks).astype(bool).reshape(len(true_masks), -1)
  inter = np.logical_and(pred, true).sum()
  union = np.logical_or(pred, true).sum()
  return {
      "mean_image_jaccard": float(_jaccard(pred, true, axis=1).mean()),
      "foreground_iou": float(inter / union) if union else 1.0,
  }


# Circles (mnist_circles) ----------------------------------------------------


def disc_jaccards(pred_circles, true_circles, height=28, width=28,
                  supersample=DISC_SUPERSAMPLE):
  """Per-image Jaccard of two discs rasterised on the image frame.

  Circles are (cx, cy, r) in pixels, pixel (row i, col j) centered at (j, i),
  as in mnist_circles. Each pixel is split into supersample^2 sub-pixels; a
  sub-pixel belongs to a disc when its center lies within r. With
  supersample=1 this is the reference's 28x28 rasterisation.
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


def circle_scores(pred_labels, true_labels, pred_circles, true_circles):
  """Accuracy and disc Jaccards of a label + circle model on one split.

  `disc_jaccard_reference`: the reference's rule (mean over all images, 0 for
  a wrong label), against the right split's circles, on a supersampled grid;
  `disc_jaccard_reference_pixels`: the same on the reference's 28x28 pixel
  grid; `disc_jaccard_correct`: mean over correctly labelled images only;
  `disc_jaccard`: mean over all images, whatever the label.
  """
  correct = np.asarray(pred_labels) == np.asarray(true_labels)
  fine = disc_jaccards(pred_circles, true_circles)
  pixels = disc_jaccards(pred_circles, true_circles, supersample=1)
  return {
      "accuracy": float(correct.mean()),
      "disc_jaccard_reference": float(np.where(correct, fine, 0).mean()),
      "disc_jaccard_reference_pixels": float(
          np.where(correct, pixels, 0).mean()),
      "disc_jaccard_correct": float(fine[correct].mean()) if correct.any()
                              else 0.0,
      "disc_jaccard": float(fine.mean()),
  }


def mean_circle_baseline(train_circles, test_circles):
  """Disc Jaccard of predicting the mean training circle for every image."""
  mean = np.broadcast_to(np.mean(train_circles, axis=0), np.shape(test_circles))
  return float(disc_jaccards(mean, test_circles).mean())


# Mosaics (mnist_mosaic) -----------------------------------------------------


class ConfusionAccumulator:
  """Pixel confusion matrix of class maps, accumulated batch by batch."""

  def __init__(self, num_classes):
    self.num_classes = num_classes
    self.matrix = np.zeros((num_classes, num_classes), np.int64)

  def add(self, pred, true):
    index = np.asarray(true).astype(np.int64).ravel() * self.num_classes
    index += np.asarray(pred).astype(np.int64).ravel()
    self.matrix += np.bincount(
        index, minlength=self.num_classes**2).reshape(self.matrix.shape)

  def scores(self):
    """Mean IoU over all classes (none skipped), per-class IoU, accuracy."""
    inter = np.diag(self.matrix)
    union = self.matrix.sum(axis=0) + self.matrix.sum(axis=1) - inter
    iou = inter / np.maximum(union, 1)
    return {
        "mean_iou": float(iou.mean()),
        "pixel_accuracy": float(inter.sum() / self.matrix.sum()),
        "class_iou": [float(v) for v in iou],
    }


def reference_mosaic_jaccards(pred, true, num_classes):
  """The reference's per-mosaic score, for class maps (N, H, W).

  Per mosaic: the binary Jaccard of each class channel that is non-empty in
  both truth and prediction (background included), averaged over those
  channels. Classes the model missed or invented are skipped, which is why it
  reads higher than mean IoU.
  """
  pred = np.asarray(pred).reshape(len(pred), -1)
  true = np.asarray(true).reshape(len(true), -1)
  classes = np.arange(num_classes)[None, :, None]
  p, t = pred[:, None, :] == classes, true[:, None, :] == classes
  counted = p.any(axis=2) & t.any(axis=2)
  jac = _jaccard(p, t, axis=2)
  return (jac * counted).sum(axis=1) / counted.sum(axis=1)


def circles_from_normalized(normalized, height=28, width=28):
  """The circle head's (cx/W, cy/H, r/half-diagonal) back in pixels."""
  return geometry.denormalize_circles(normalized, height, width)
