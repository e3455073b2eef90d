"""Scores of object ids kept across a sequence's frames: video instance
segmentation and tracking.

Numpy (and scipy's assignment) only, like `metrics`. A sequence's instance
maps are (T, H, W) ints, 0 = background, any positive id an object that
keeps its id from frame to frame; ids need only be unique within a
sequence.

* J (DAVIS's region similarity, Perazzi et al. 2016): a true object's J with
  a predicted id is the mean over the frames of their masks' IoU, 1 in a
  frame where both are empty. In each sequence true objects and predicted
  ids are matched one to one for the largest sum of J (Hungarian); `j_mean`
  averages the true objects' matched J (0 without a match) over the split.
* MOTA and IDF1 over masks (Bernardin and Stiefelhagen 2008; Ristani et al.
  2016): in each frame a true object seen there (owning a pixel) and a
  predicted object match when their IoU exceeds 0.5 (such a match is
  unique). Misses are seen true objects without a match, false positives
  predicted objects without one, and an identity switch is a true object
  matched to another predicted id than at its previous match. MOTA = 1 -
  (misses + false positives + switches) / (seen true objects, summed over
  frames). IDF1 = 2 IDTP / (seen true objects + predicted objects, summed
  over frames), IDTP the most frame matches a one-to-one assignment of true
  objects to predicted ids keeps (Hungarian over each pair's matched
  frames).
"""

import numpy as np


def _dense_ids(ids):
  """(ids renumbered 1..K, 0 background, and K) of one sequence."""
  values = np.unique(ids[ids > 0])
  return np.where(ids > 0, np.searchsorted(values, ids) + 1, 0), len(values)


def sequence_overlaps(true, pred):
  """(intersections (T, K, P), true areas (T, K), predicted areas (T, P)) of
  a sequence's K true objects and P predicted ids, frame by frame."""
  true, num_true = _dense_ids(np.asarray(true, np.int64))
  pred, num_pred = _dense_ids(np.asarray(pred, np.int64))
  frames = len(true)
  codes = ((np.arange(frames)[:, None, None] * (num_true + 1) + true)
           * (num_pred + 1) + pred)
  table = np.bincount(codes.ravel(), minlength=frames * (num_true + 1) *
                      (num_pred + 1)).reshape(frames, num_true + 1, -1)
  return table[:, 1:, 1:], table.sum(axis=2)[:, 1:], table.sum(axis=1)[:, 1:]


def _assigned(gain):
  """The largest sum of `gain` (K, P) over one-to-one pairs, per true row:
  (K,) each row's gain in the assignment (0 where it has no column)."""
  from scipy import optimize  # pylint: disable=g-import-not-at-top
  rows, cols = optimize.linear_sum_assignment(gain, maximize=True)
  kept = np.zeros(gain.shape[0])
  kept[rows] = gain[rows, cols]
  return kept


def _switches(matched):
  """Identity switches of (T, K) matched predicted ids (-1: no match)."""
  count = 0
  for track in matched.T:
    ids = track[track >= 0]
    count += int((ids[1:] != ids[:-1]).sum())
  return count


def tracking_scores(pred_sequences, true_sequences):
  """j_mean, mota, idf1 and their counts over sequences (N, T, H, W)."""
  j, seen, predicted, misses, false, switches, idtp = [], 0, 0, 0, 0, 0, 0
  for true, pred in zip(true_sequences, pred_sequences):
    inter, true_area, pred_area = sequence_overlaps(true, pred)
    union = true_area[:, :, None] + pred_area[:, None, :] - inter
    ious = inter / np.maximum(union, 1)
    j_pairs = np.where(union > 0, ious, 1.0).mean(axis=0)
    j.extend(_assigned(j_pairs) if j_pairs.size else np.zeros(len(j_pairs)))
    match = (ious > 0.5) & (true_area[:, :, None] > 0)
    matched = np.where(match.any(axis=2), match.argmax(axis=2), -1)
    seen += int((true_area > 0).sum())
    predicted += int((pred_area > 0).sum())
    hits = int(match.sum())
    misses += int((true_area > 0).sum()) - hits
    false += int((pred_area > 0).sum()) - hits
    switches += _switches(matched)
    pair_frames = match.sum(axis=0)
    idtp += int(_assigned(pair_frames).sum()) if pair_frames.size else 0
  return {
      "j_mean": float(np.mean(j)) if j else 1.0,
      "mota": 1 - (misses + false + switches) / max(seen, 1),
      "idf1": 2 * idtp / max(seen + predicted, 1),
      "id_switches": switches, "misses": misses, "false_positives": false,
      "seen_objects": seen,
  }
