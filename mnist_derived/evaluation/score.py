"""Scores a predictions file against a built dataset, the same way for anyone.

    mnist-derived score mnist_fg/mnist --predictions preds.npz [--split test]
        [--data_dir DIR] [--json scores.json]

    mnist-derived score mnist_mosaic/scatter --detections results.json

prints one JSON object of scores. `Evaluator` does the same from Python:

    evaluator = Evaluator("mnist_circles/mnist", split="test")
    scores = evaluator.evaluate({"index": ..., "label": ..., "circle": ...})

The predictions format is in `predictions`, every score in `metrics`;
detections (COCO results files) and their AP in `detections`.
Ground truth is read from the TFDS build (through TensorFlow only for a
tfrecord build; never by `metrics` or `predictions`).
"""

import dataclasses
from typing import Callable

import numpy as np

from mnist_derived import builds
from mnist_derived import decoding
from mnist_derived.core import errors
from mnist_derived.evaluation import metrics
from mnist_derived.evaluation import predictions as preds_lib


@dataclasses.dataclass(frozen=True)
class Scoring:
  """How one dataset's predictions are checked and scored."""

  arrays: tuple  # names a predictions file holds besides `index`
  truth: tuple  # features of the dataset the scores need
  # (path, predictions, number of examples, DatasetInfo) -> checked arrays;
  # needs no ground truth, so a bad file is refused before any is read
  check: Callable
  score: Callable  # (checked predictions, truth, DatasetInfo) -> scores


def _num_classes(info, feature):
  return info.features[feature].num_classes


def _mask_shape(info, n):
  return (n, *info.features["mask"].shape[:2])


def _check_fg(path, pred, n, info):
  mask = preds_lib.binary_mask(path, "mask", pred["mask"])
  preds_lib.check_shape(path, "mask", mask, _mask_shape(info, n))
  return {"mask": mask}


def _score_fg(pred, truth, info):
  del info
  return metrics.foreground_scores(pred["mask"], truth["mask"][..., 0])


def _check_circles(path, pred, n, info):
  preds_lib.check_shape(path, "label", pred["label"], (n,))
  preds_lib.check_class_ids(path, "label", pred["label"],
                            _num_classes(info, "label"))
  return {"label": pred["label"],
          "circle": preds_lib.circles(path, "circle", pred["circle"], n)}


def _score_circles(pred, truth, info):
  height, width = info.features["image"].shape[:2]
  return metrics.circle_scores(pred["label"], truth["label"], pred["circle"],
                               truth["circle"], height, width)


def _check_mosaic(path, pred, n, info):
  preds_lib.check_shape(path, "mask", pred["mask"], _mask_shape(info, n))
  preds_lib.check_class_ids(path, "mask", pred["mask"],
                            _num_classes(info, "mask"))
  return {"mask": pred["mask"]}


def _score_mosaic(pred, truth, info):
  return metrics.mosaic_scores(pred["mask"], truth["mask"][..., 0],
                               _num_classes(info, "mask"))


SCORINGS = {
    "mnist_fg": Scoring(("mask",), ("mask",), _check_fg, _score_fg),
    "mnist_circles": Scoring(("label", "circle"), ("label", "circle"),
                             _check_circles, _score_circles),
    "mnist_mosaic": Scoring(("mask",), ("mask",), _check_mosaic,
                            _score_mosaic),
}


def scoring_of(builder):
  """The Scoring of a builder's dataset (subclasses score as their base)."""
  for cls in type(builder).__mro__:
    if getattr(cls, "name", None) in SCORINGS:
      return SCORINGS[cls.name]
  raise errors.InputError(f"{builder.name}: no scoring is defined for it")


def score_arrays(builder, predictions, truth, path="<predictions>"):
  """Scores predictions against truth of the same examples in the same order.

  predictions: {name: array} as a predictions file holds them (without
  `index`); truth: {feature: array} as the dataset decodes them. The scorer
  and `training` both end here.
  """
  scoring = scoring_of(builder)
  n = len(truth[scoring.truth[0]])
  checked = scoring.check(path, predictions, n, builder.info)
  return scoring.score(checked, truth, builder.info)


def load_truth(builder, split, features):
  """{feature: array} of a built split, sorted by `index`, plus `index`."""
  keys = ("index", *features)
  # TFDS 4.9.10's partial decoding of a Sequence warns that its own code
  # uses a deprecated FeatureConnector.dtype: nothing the user can act on.
  with builds.tfds_errors_only():
    rows = [{k: example[k] for k in keys}
            for example in decoding.stored_examples(builder, split, keys)]
  columns = {k: np.stack([np.asarray(r[k]) for r in rows]) for k in keys}
  order = np.argsort(columns["index"], kind="stable")
  return {k: v[order] for k, v in columns.items()}


class Evaluator:
  """Scores predictions of one split of a built mnist_derived dataset."""

  def __init__(self, dataset, split="test", data_dir=None):
    self.dataset, self.split = dataset, split
    self.builder = builds.built_builder(dataset, data_dir)
    self.scoring = scoring_of(self.builder)
    builds.check_split(self.builder, split)
    self.num_examples = self.builder.info.splits[split].num_examples
    self._truth = None
    self._coco = None

  @property
  def truth(self):
    """The split's ground truth by index, read on first use."""
    if self._truth is None:
      self._truth = load_truth(self.builder, self.split, self.scoring.truth)
    return self._truth

  def evaluate(self, predictions, path="<predictions>"):
    """Scores a predictions file (path) or a {name: array} dict.

    Raises PredictionsError naming `path` when the predictions are not a
    complete, valid set for this split.
    """
    return self.score(self.check(predictions, path))

  def score(self, checked):
    """The scores of predictions `check` returned."""
    scores = self.scoring.score(checked, self.truth, self.builder.info)
    return {"dataset": builds.key(self.builder),
            "split": self.split, "examples": self.num_examples, **scores}

  def check(self, predictions, path="<predictions>"):
    """The predictions checked and sorted by index, read without the truth
    (nor TensorFlow): a bad file is refused before anything else is read."""
    if not isinstance(predictions, dict):
      path = str(predictions)
      predictions = preds_lib.load_npz(predictions)
    predictions = {k: np.asarray(v) for k, v in predictions.items()}
    preds_lib.check_names(path, predictions, ("index", *self.scoring.arrays))
    order = preds_lib.check_index(path, predictions["index"],
                                  self.num_examples, self.split)
    for name in self.scoring.arrays:
      if predictions[name].shape[:1] != (self.num_examples,):
        raise preds_lib.PredictionsError(
            path, f"'{name}' has {predictions[name].shape[:1] or 'no'} rows,"
            f" 'index' has {self.num_examples}")
    ordered = {name: predictions[name][order] for name in self.scoring.arrays}
    return self.scoring.check(path, ordered, self.num_examples,
                              self.builder.info)

  def evaluate_detections(self, path):
    """Scores a COCO results file of a mosaic dataset: AP, AP50, AP75 per
    kind of geometry (bbox, segm), by pycocotools against the split's COCO
    export."""
    from mnist_derived.evaluation import detections as det_lib  # pylint: disable=g-import-not-at-top
    from mnist_derived.export import coco  # pylint: disable=g-import-not-at-top
    coco.check_exportable(self.builder)
    if self._coco is None:
      self._coco = coco.ground_truth(self.builder, self.split)
    image_ids = {image["id"] for image in self._coco["images"]}
    category_ids = {c["id"] for c in self._coco["categories"]}
    found, iou_types = det_lib.load_detections(
        path, image_ids, category_ids,
        self.builder.info.features["image"].shape[:2])
    return {"dataset": builds.key(self.builder),
            "split": self.split, "examples": self.num_examples,
            "detections": len(found),
            **det_lib.coco_scores(self._coco, found, iou_types)}
