"""Instance scores of mosaics: how well predicted objects match true ones.

Numpy only, like `metrics`. An instance map is (H, W) ints, 0 = background
and any positive id an object; ids need not be consecutive, and renumbering
them within an image changes no score. Objects are the pixels of one id in
one image.

* Panoptic quality (Kirillov et al. 2019, "Panoptic Segmentation"): a
  predicted and a true object of the same class match when their IoU
  exceeds 0.5 (such a match is unique). Per class, PQ = (sum of matched
  IoUs) / (TP + FP/2 + FN/2), SQ = (sum of matched IoUs) / TP (0 without a
  match), RQ = TP / (TP + FP/2 + FN/2), counted over the whole split; the
  scores are their means over the classes with any true or predicted
  object. Digits are the only classes ("things"): background is no segment.
  The class-agnostic variant puts every object in one class.
* FG-ARI (as in DeepMind's multi_object_datasets): per image, the adjusted
  Rand index between the true and predicted ids of the pixels that are
  foreground in the truth, averaged over the images with a true object.
  ARI is scikit-learn's `adjusted_rand_score` (its pair-counting form, with
  its conventions: 1.0 when both labellings put the pixels in one group,
  as for one true object predicted as one); images without true foreground
  have none and are left out. `ari` is the same over all pixels, background
  a group of its own, averaged over every image.
* mBO: each true object's best IoU with any predicted object of its image
  (0 when there is none), averaged over the true objects.
* Count accuracy: the share of images whose number of predicted objects is
  their number of digits.
"""

import numpy as np


def components(class_maps):
  """Instance maps from class maps (N, H, W): each 8-connected region of one
  nonzero class is an object. The simplest way from a semantic model to
  instances; it merges touching digits of one class and splits a digit
  drawn in pieces."""
  from skimage import measure  # pylint: disable=g-import-not-at-top
  return np.stack([measure.label(m, background=0, connectivity=2)
                   for m in np.asarray(class_maps)]).astype(np.int64)


def _contingency(true_ids, pred_ids):
  """(true ids, pred ids, counts[t, p]) of two flat id arrays."""
  true_values, true_index = np.unique(true_ids, return_inverse=True)
  pred_values, pred_index = np.unique(pred_ids, return_inverse=True)
  counts = np.bincount(true_index * len(pred_values) + pred_index,
                       minlength=len(true_values) * len(pred_values))
  return true_values, pred_values, counts.reshape(len(true_values), -1)


def _ari(table):
  """ARI of a contingency table, scikit-learn's way (pair counts as Python
  ints: exact for any image size)."""
  table = table.astype(np.int64)
  n = int(table.sum())
  squares = int((table ** 2).sum())
  same_pred = int((table @ table.sum(axis=0)).sum()) - squares
  same_true = int((table.T @ table.sum(axis=1)).sum()) - squares
  both = squares - n
  neither = n * n - same_pred - same_true - squares
  if same_pred == 0 and same_true == 0:
    return 1.0
  return float(2.0 * (both * neither - same_true * same_pred) / (
      (both + same_true) * (same_true + neither)
      + (both + same_pred) * (same_pred + neither)))


def adjusted_rand_index(true_ids, pred_ids):
  """ARI of two labellings of the same samples."""
  return _ari(_contingency(true_ids, pred_ids)[2])


def _object_ious(true_ids, pred_ids, inter):
  """(true object ids, predicted object ids, IoU[t, p]) of one image's
  contingency table (background rows and columns dropped)."""
  true_area, pred_area = inter.sum(axis=1), inter.sum(axis=0)
  keep_t, keep_p = true_ids > 0, pred_ids > 0
  inter = inter[keep_t][:, keep_p]
  union = true_area[keep_t, None] + pred_area[None, keep_p] - inter
  return true_ids[keep_t], pred_ids[keep_p], inter / np.maximum(union, 1)


def object_classes(instance_map, class_map, ids):
  """The class of each object: the most frequent digit class (mask id - 1)
  of its pixels in class_map, the smallest on a tie; -1 for an object with
  no digit pixel (it is no digit, and left out of class-aware PQ)."""
  classes = []
  for object_id in ids:
    values = class_map[instance_map == object_id]
    counts = np.bincount(values[values > 0], minlength=2)
    classes.append(int(np.argmax(counts)) - 1 if counts.any() else -1)
  return np.array(classes, dtype=np.int64)


class _Panoptic:
  """TP, FP, FN and matched IoU sums per class, over a split."""

  def __init__(self, num_classes):
    self.tp, self.fp, self.fn = (np.zeros(num_classes, np.int64)
                                 for _ in range(3))
    self.iou = np.zeros(num_classes)

  def add(self, ious, true_classes, pred_classes):
    """One image: IoU[t, p] of its objects and each object's class."""
    same = true_classes[:, None] == pred_classes[None, :]
    matched = (ious > 0.5) & same
    rows, cols = np.nonzero(matched)
    np.add.at(self.tp, true_classes[rows], 1)
    np.add.at(self.iou, true_classes[rows], ious[rows, cols])
    unmatched_t = ~matched.any(axis=1) & (true_classes >= 0)
    unmatched_p = ~matched.any(axis=0) & (pred_classes >= 0)
    np.add.at(self.fn, true_classes[unmatched_t], 1)
    np.add.at(self.fp, pred_classes[unmatched_p], 1)

  def scores(self, prefix):
    counted = self.tp + self.fp + self.fn > 0
    if not counted.any():  # nothing true, nothing predicted: nothing wrong
      return {f"{prefix}pq": 1.0, f"{prefix}sq": 1.0, f"{prefix}rq": 1.0,
              f"{prefix}class_pq": [None] * len(counted)}
    denominator = np.maximum(self.tp + 0.5 * self.fp + 0.5 * self.fn, 1e-12)
    pq = self.iou / denominator
    sq = np.where(self.tp > 0, self.iou / np.maximum(self.tp, 1), 0.0)
    rq = self.tp / denominator
    return {f"{prefix}pq": float(pq[counted].mean()),
            f"{prefix}sq": float(sq[counted].mean()),
            f"{prefix}rq": float(rq[counted].mean()),
            f"{prefix}class_pq": [float(v) if c else None
                                  for v, c in zip(pq, counted)]}


def instance_scores(pred_instances, true_instances, true_labels, num_digits,
                    num_classes, pred_masks=None):
  """Instance scores of a split (see the module's docstring).

  pred_instances, true_instances: (N, H, W) ints; true_labels: per image,
  the class of true object k at position k - 1; num_digits: (N,);
  pred_masks: (N, H, W) class ids (0 background, d + 1 digit d), giving
  predicted objects classes for class-aware PQ.
  """
  agnostic, classed = _Panoptic(1), _Panoptic(num_classes)
  fg_ari, ari, best, counts = [], [], [], []
  for i, (pred, true) in enumerate(zip(pred_instances, true_instances)):
    # One count of (true id, predicted id) pixels per image serves every
    # score: the truth's foreground is its rows of a nonzero id.
    table = _contingency(true.ravel(), pred.ravel())
    true_ids, pred_ids, ious = _object_ious(*table)
    agnostic.add(ious, np.zeros(len(true_ids), np.int64),
                 np.zeros(len(pred_ids), np.int64))
    if pred_masks is not None:
      classed.add(ious, np.asarray(true_labels[i])[true_ids - 1],
                  object_classes(pred, pred_masks[i], pred_ids))
    if len(true_ids):
      fg_ari.append(_ari(table[2][table[0] > 0]))
    ari.append(_ari(table[2]))
    best.extend(ious.max(axis=1) if ious.shape[1] else np.zeros(len(true_ids)))
    counts.append(len(pred_ids) == num_digits[i])
  scores = {**agnostic.scores("agnostic_"),
            "fg_ari": float(np.mean(fg_ari)) if fg_ari else 1.0,
            "fg_ari_images": len(fg_ari), "ari": float(np.mean(ari)),
            "mbo": float(np.mean(best)) if best else 1.0,
            "count_accuracy": float(np.mean(counts))}
  del scores["agnostic_class_pq"]
  if pred_masks is not None:
    scores.update(classed.scores(""))
  return scores
