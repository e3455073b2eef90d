"""Instance scores (PQ, FG-ARI, mBO, count accuracy) against hand
computations, scikit-learn's ARI and a brute-force PQ from the paper."""

import itertools

import numpy as np
import pytest
from sklearn import metrics as sk_metrics

from mnist_derived.evaluation import instances


def _random_maps(rng, n, shape=(12, 12), max_objects=4):
  """Instance maps of n images with up to max_objects rectangles each, later
  ones on top; and each object's class."""
  maps, labels = np.zeros((n, *shape), np.int64), []
  for i in range(n):
    count = rng.integers(0, max_objects + 1)
    for k in range(1, count + 1):
      r, c = rng.integers(0, shape[0] - 3), rng.integers(0, shape[1] - 3)
      h, w = rng.integers(2, 6, size=2)
      maps[i, r:r + h, c:c + w] = k
    labels.append(rng.integers(0, 10, size=count))
  return maps, labels


def _jitter(rng, maps):
  """Predictions: the truth with ids renumbered, some objects grown or cut,
  some merged, some noise objects."""
  pred = maps.copy()
  for i in range(len(pred)):
    ids = np.unique(pred[i])
    ids = ids[ids > 0]
    renumber = dict(zip(ids, rng.permutation(100)[:len(ids)] + 7))
    pred[i] = np.vectorize(lambda v: renumber.get(v, 0))(pred[i])
    if rng.random() < 0.3:  # a stray object
      r, c = rng.integers(0, 10, size=2)
      pred[i, r:r + 2, c:c + 2] = 999
    if rng.random() < 0.3:  # one row erased
      pred[i, rng.integers(0, 12)] = 0
  return pred


def _brute_force_pq(pred_maps, true_maps, true_classes, pred_classes, classes):
  """PQ, SQ, RQ from Kirillov et al.'s definition, pair by pair."""
  stats = {c: [0, 0, 0, 0.0] for c in classes}  # tp, fp, fn, iou sum
  for i, (pred, true) in enumerate(zip(pred_maps, true_maps)):
    true_objects = [(k, true == k) for k in np.unique(true) if k > 0]
    pred_objects = [(k, pred == k) for k in np.unique(pred) if k > 0]
    matched_t, matched_p = set(), set()
    for (tk, t), (pk, p) in itertools.product(true_objects, pred_objects):
      iou = (t & p).sum() / (t | p).sum()
      same = true_classes[i][tk] == pred_classes[i][pk]
      if iou > 0.5 and same:
        stats[true_classes[i][tk]][0] += 1
        stats[true_classes[i][tk]][3] += iou
        matched_t.add(tk)
        matched_p.add(pk)
    for tk, _ in true_objects:
      if tk not in matched_t:
        stats[true_classes[i][tk]][2] += 1
    for pk, _ in pred_objects:
      if pk not in matched_p and pred_classes[i][pk] >= 0:
        stats[pred_classes[i][pk]][1] += 1
  pq, sq, rq = [], [], []
  for tp, fp, fn, iou in stats.values():
    if tp + fp + fn == 0:
      continue
    pq.append(iou / (tp + fp / 2 + fn / 2))
    sq.append(iou / tp if tp else 0.0)
    rq.append(tp / (tp + fp / 2 + fn / 2))
  return np.mean(pq), np.mean(sq), np.mean(rq)


def test_ari_is_scikit_learns():
  rng = np.random.default_rng(0)
  cases = [(np.zeros(5), np.zeros(5)), (np.zeros(5), np.arange(5)),
           (np.arange(5), np.arange(5)), (np.arange(4), np.zeros(4)),
           (np.array([1]), np.array([3]))]
  for _ in range(200):
    n = rng.integers(1, 60)
    cases.append((rng.integers(0, rng.integers(1, 6), n),
                  rng.integers(0, rng.integers(1, 6), n)))
  for true, pred in cases:
    assert instances.adjusted_rand_index(true, pred) == pytest.approx(
        sk_metrics.adjusted_rand_score(true, pred), abs=1e-12), (true, pred)


def test_scores_by_hand():
  true = np.zeros((1, 4, 6), np.int64)
  true[0, :, :3] = 1  # 12 pixels
  true[0, :, 3:] = 2  # 12 pixels
  pred = np.zeros_like(true)
  pred[0, :, :2] = 5  # 8 of object 1: IoU 8/12
  pred[0, :, 2:] = 9  # all of object 2 and 4 of object 1: IoU 12/16
  scores = instances.instance_scores(pred, true, [np.array([3, 4])],
                                     np.array([2]), num_classes=10)
  # Class-agnostic: two matches, IoUs 2/3 and 3/4.
  assert scores["agnostic_sq"] == pytest.approx((2 / 3 + 3 / 4) / 2)
  assert scores["agnostic_rq"] == 1.0
  assert scores["agnostic_pq"] == pytest.approx((2 / 3 + 3 / 4) / 2)
  assert scores["mbo"] == pytest.approx((2 / 3 + 3 / 4) / 2)
  assert scores["count_accuracy"] == 1.0
  # Pairs of the 24 pixels: 2 * C(12, 2) = 132 in the same true object.
  assert scores["fg_ari"] == pytest.approx(sk_metrics.adjusted_rand_score(
      true.ravel(), pred.ravel()))


def test_classes_from_the_mask_split_a_match():
  true = np.zeros((1, 4, 4), np.int64)
  true[0, :, :2], true[0, :, 2:] = 1, 2
  pred_mask = np.zeros_like(true)
  pred_mask[0, :, :2] = 3 + 1  # right class for object 1 (a 3)
  pred_mask[0, :, 2:] = 5 + 1  # wrong for object 2 (a 4)
  scores = instances.instance_scores(true.copy(), true, [np.array([3, 4])],
                                     np.array([2]), 10, pred_masks=pred_mask)
  # Class 3: one TP (IoU 1). Class 4: one FN. Class 5: one FP.
  assert scores["pq"] == pytest.approx((1.0 + 0 + 0) / 3)
  assert scores["rq"] == pytest.approx(1 / 3)
  assert scores["sq"] == pytest.approx(1 / 3)
  assert scores["class_pq"][3] == 1.0 and scores["class_pq"][4] == 0.0
  assert scores["class_pq"][0] is None
  assert scores["agnostic_pq"] == 1.0


def test_pq_is_the_papers_pair_by_pair():
  rng = np.random.default_rng(1)
  true, labels = _random_maps(rng, 60)
  pred = _jitter(rng, true)
  pred_masks = np.zeros_like(pred)
  pred_classes, true_classes = [], []
  for i in range(len(pred)):
    true_classes.append({k: labels[i][k - 1] for k in range(1, len(labels[i]) + 1)})
    classes = {}
    for k in np.unique(pred[i]):
      if k == 0:
        continue
      # Mostly right, sometimes another digit, sometimes background.
      choice = rng.choice(3, p=[0.7, 0.2, 0.1])
      under = true[i][pred[i] == k]
      right = np.bincount(under[under > 0]).argmax() if (under > 0).any() else 0
      cls = {0: labels[i][right - 1] if right else 1, 1: rng.integers(0, 10),
             2: -1}[choice]
      pred_masks[i][pred[i] == k] = cls + 1
      classes[k] = cls
    pred_classes.append(classes)
  scores = instances.instance_scores(
      pred, true, labels, np.array([len(l) for l in labels]), 10, pred_masks)
  want = _brute_force_pq(pred, true, true_classes, pred_classes, range(10))
  assert (scores["pq"], scores["sq"], scores["rq"]) == pytest.approx(want)
  agnostic = _brute_force_pq(
      pred, true, [{k: 0 for k in d} for d in true_classes],
      [{k: 0 for k in d} for d in pred_classes], [0])
  assert (scores["agnostic_pq"], scores["agnostic_sq"],
          scores["agnostic_rq"]) == pytest.approx(agnostic)


def test_fg_ari_mbo_and_count_against_direct_computations():
  rng = np.random.default_rng(2)
  true, labels = _random_maps(rng, 40)
  pred = _jitter(rng, true)
  scores = instances.instance_scores(pred, true, labels,
                                     np.array([len(l) for l in labels]), 10)
  fg = [sk_metrics.adjusted_rand_score(t[t > 0], p[t > 0])
        for t, p in zip(true, pred) if (t > 0).any()]
  assert scores["fg_ari"] == pytest.approx(np.mean(fg))
  assert scores["fg_ari_images"] == len(fg)
  assert scores["ari"] == pytest.approx(np.mean([
      sk_metrics.adjusted_rand_score(t.ravel(), p.ravel())
      for t, p in zip(true, pred)]))
  best = []
  for t, p in zip(true, pred):
    for k in np.unique(t[t > 0]):
      ious = [((t == k) & (p == j)).sum() / ((t == k) | (p == j)).sum()
              for j in np.unique(p[p > 0])]
      best.append(max(ious, default=0.0))
  assert scores["mbo"] == pytest.approx(np.mean(best))
  assert scores["count_accuracy"] == pytest.approx(np.mean([
      len(np.unique(p[p > 0])) == len(l) for p, l in zip(pred, labels)]))


def test_perfect_and_renumbered_predictions_score_one():
  rng = np.random.default_rng(3)
  true, labels = _random_maps(rng, 30)
  masks = np.zeros_like(true)
  for i, lab in enumerate(labels):
    for k, cls in enumerate(lab, 1):
      masks[i][true[i] == k] = cls + 1
  counts = np.array([len(np.unique(t[t > 0])) for t in true])
  renumbered = np.where(true > 0, 1000 - 3 * true, 0)
  for pred in (true, renumbered):
    scores = instances.instance_scores(pred, true, labels, counts, 10, masks)
    for name in ("pq", "sq", "rq", "agnostic_pq", "fg_ari", "ari", "mbo",
                 "count_accuracy"):
      assert scores[name] == 1.0, name
