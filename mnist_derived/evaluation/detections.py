"""Detections of mosaic datasets: COCO results files, scored by COCOeval.

A detections file is COCO's results format: a JSON list of objects, each
with `image_id` (the example's `index`), `category_id` (d + 1 for class d),
`score` (a finite number) and `bbox` ([x, y, width, height] in pixels, width
and height >= 0) and/or `segmentation` (an RLE {size: [H, W], counts}).
Every detection of a file has the same kinds of geometry; boxes are scored
as `bbox`, masks as `segm`. The ground truth is the COCO export of the split
(`mnist_derived.export.coco`), so both score through pycocotools in the same
way. Every check raises PredictionsError naming the file and the problem.
`results_of` writes such a list from a semantic model's class
probabilities.
"""

import contextlib
import io
import json
import math

import numpy as np

from mnist_derived import geometry
from mnist_derived.core import errors
from mnist_derived.evaluation import instances
from mnist_derived.evaluation.predictions import PredictionsError

# COCOeval's summary lines 0, 1 and 2: AP at IoU 0.50:0.95, 0.50 and 0.75.
_SUMMARY = {"AP": 0, "AP50": 1, "AP75": 2}


def _pycocotools():
  try:
    from pycocotools.coco import COCO  # pylint: disable=g-import-not-at-top
    from pycocotools.cocoeval import COCOeval  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise errors.InputError(
        "scoring detections needs pycocotools: pip install"
        " 'mnist-derived[coco]'") from None
  return COCO, COCOeval


def _finite(value):
  return (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value))


def load_detections(path, image_ids, category_ids, image_size):
  """Reads and checks a COCO results file; returns (detections, iou_types)."""
  try:
    with open(path, encoding="utf-8") as f:
      detections = json.load(f)
  except FileNotFoundError:
    raise PredictionsError(path, "file not found") from None
  except (OSError, UnicodeDecodeError, ValueError) as e:
    raise PredictionsError(path, f"not a JSON file ({e})") from None
  if not isinstance(detections, list) or not detections:
    raise PredictionsError(path, "expected a non-empty JSON list of"
                           " detections (COCO's results format)")
  kinds = None
  for n, det in enumerate(detections):
    where = f"detection {n}"
    if not isinstance(det, dict):
      raise PredictionsError(path, f"{where} is not an object")
    for key in ("image_id", "category_id", "score"):
      if key not in det:
        raise PredictionsError(path, f"{where} has no {key!r}")
    if det["image_id"] not in image_ids or isinstance(det["image_id"], bool):
      raise PredictionsError(path, f"{where}: image_id {det['image_id']!r}"
                             " is not the index of an example of the split")
    if det["category_id"] not in category_ids or isinstance(
        det["category_id"], bool):
      raise PredictionsError(
          path, f"{where}: category_id {det['category_id']!r} is not one of"
          f" {min(category_ids)}..{max(category_ids)} (class d is d + 1)")
    if not _finite(det["score"]):
      raise PredictionsError(path, f"{where}: score {det['score']!r} is not"
                             " a finite number")
    has = tuple(k for k in ("bbox", "segmentation") if k in det)
    if not has:
      raise PredictionsError(path, f"{where} has neither 'bbox' nor"
                             " 'segmentation'")
    if kinds is not None and has != kinds:
      raise PredictionsError(path, f"{where} has {list(has)}, detection 0"
                             f" has {list(kinds)}: use the same kinds for all")
    kinds = has
    if "bbox" in det:
      box = det["bbox"]
      if (not isinstance(box, list) or len(box) != 4
          or not all(_finite(v) for v in box) or box[2] < 0 or box[3] < 0):
        raise PredictionsError(path, f"{where}: bbox {box!r} is not [x, y,"
                               " width, height] with width, height >= 0")
    if "segmentation" in det:
      seg = det["segmentation"]
      if (not isinstance(seg, dict) or seg.get("size") != list(image_size)
          or not isinstance(seg.get("counts"), (str, list))):
        raise PredictionsError(
            path, f"{where}: segmentation is not an RLE {{'size':"
            f" {list(image_size)}, 'counts': ...}}")
  iou_types = [t for t, key in (("bbox", "bbox"), ("segm", "segmentation"))
               if key in kinds]
  return detections, iou_types


def coco_scores(ground_truth, detections, iou_types):
  """{iou_type: {AP, AP50, AP75}} of detections against a COCO dataset dict.

  pycocotools' own evaluation (100 detections per image), its printing
  kept off stdout.
  """
  COCO, COCOeval = _pycocotools()  # pylint: disable=invalid-name
  scores = {}
  with contextlib.redirect_stdout(io.StringIO()):
    truth = COCO()
    truth.dataset = ground_truth
    truth.createIndex()
    results = truth.loadRes(detections)
    for iou_type in iou_types:
      evaluation = COCOeval(truth, results, iou_type)
      evaluation.evaluate()
      evaluation.accumulate()
      evaluation.summarize()
      scores[iou_type] = {name: float(evaluation.stats[i])
                          for name, i in _SUMMARY.items()}
  return scores


def results_of(image_ids, instance_maps, class_maps, probabilities):
  """COCO results of predicted objects: one per id of each instance map.

  image_ids (N,); instance_maps and class_maps (N, H, W), 0 background;
  probabilities (N, H, W, classes + 1), background first. An object's
  class is the scorer's (`instances.object_classes`: the majority class of
  its pixels), and its score that class's mean probability over them, so
  COCOeval ranks confident objects first. Objects without a digit pixel
  are left out.
  """
  from mnist_derived.export import coco  # pylint: disable=g-import-not-at-top
  results = []
  for image_id, ids, classes, probs in zip(image_ids, instance_maps,
                                           class_maps, probabilities):
    object_ids = np.unique(ids[ids > 0])
    for object_id, digit in zip(
        object_ids, instances.object_classes(ids, classes, object_ids)):
      if digit < 0:
        continue
      owned = ids == object_id
      box = geometry.coco_boxes(geometry.tight_boxes(owned[None])[0])
      results.append({
          "image_id": int(image_id), "category_id": int(digit) + 1,
          "score": round(float(probs[owned, digit + 1].mean()), 6),
          "bbox": box.tolist(), "segmentation": coco.rle(owned)})
  return results
