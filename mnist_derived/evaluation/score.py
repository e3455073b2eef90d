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
from mnist_derived.evaluation import instances
from mnist_derived.evaluation import metrics
from mnist_derived.evaluation import predictions as preds_lib


@dataclasses.dataclass(frozen=True)
class Scoring:
  """How one dataset's predictions are checked and scored."""

  arrays: tuple  # names a predictions file must hold besides `index`
  truth: tuple  # features of the dataset the scores need
  check: Callable
  score: Callable
  optional: tuple = ()  # names it may hold too
  # {optional name: the features its scores need besides `truth`}
  optional_truth: dict = dataclasses.field(default_factory=dict)
  # check: (path, predictions, number of examples, DatasetInfo) -> checked
  # arrays; needs no ground truth, so a bad file is refused before any is
  # read. score: (checked predictions, truth, DatasetInfo) -> scores.

  def truth_for(self, names):
    """The features the scores of predictions holding `names` need."""
    extra = [f for name in names for f in self.optional_truth.get(name, ())]
    return tuple(dict.fromkeys((*self.truth, *extra)))


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
  if not set(pred) & {"mask", "instances", "labels"}:
    raise preds_lib.PredictionsError(
        path, "missing array 'mask', 'instances' or 'labels' (a mosaic's"
        " predictions hold any of them, beside 'index')")
  checked = {}
  if "mask" in pred:
    preds_lib.check_shape(path, "mask", pred["mask"], _mask_shape(info, n))
    preds_lib.check_class_ids(path, "mask", pred["mask"],
                              _num_classes(info, "mask"))
    checked["mask"] = pred["mask"]
  if "instances" in pred:
    preds_lib.check_shape(path, "instances", pred["instances"],
                          _mask_shape(info, n))
    checked["instances"] = preds_lib.instance_ids(path, "instances",
                                                  pred["instances"])
  if "labels" in pred:
    checked["labels"] = _checked_digit_labels(path, pred["labels"], n, info)
  return checked


def _checked_digit_labels(path, labels, n, info):
  _, (digits,) = decoding.feature_specs(info.features)["/objects/label"]
  if digits is None:
    raise preds_lib.PredictionsError(
        path, f"'labels' needs mosaics of a fixed number of digits;"
        f" {info.full_name}'s vary: give 'mask' or 'instances'")
  preds_lib.check_shape(path, "labels", labels, (n, digits))
  preds_lib.check_class_ids(path, "labels", labels,
                            _num_classes(info, "mask") - 1)
  return labels


def _score_mosaic(pred, truth, info):
  num_classes = _num_classes(info, "mask")
  scores = {}
  if "mask" in pred:
    scores.update(metrics.mosaic_scores(pred["mask"], truth["mask"][..., 0],
                                        num_classes))
  if "instances" in pred:
    scores.update(instances.instance_scores(
        pred["instances"], truth["instances"][..., 0],
        [objects["label"] for objects in truth["objects"]],
        truth["num_digits"], num_classes - 1, pred.get("mask")))
  if "labels" in pred:
    scores.update(metrics.label_set_scores(
        pred["labels"], np.stack([o["label"] for o in truth["objects"]]),
        num_classes - 1))
  return scores


SCORINGS = {
    "mnist_fg": Scoring(("mask",), ("mask",), _check_fg, _score_fg),
    "mnist_circles": Scoring(("label", "circle"), ("label", "circle"),
                             _check_circles, _score_circles),
    "mnist_mosaic": Scoring(
        (), ("mask",), _check_mosaic, _score_mosaic,
        optional=("mask", "instances", "labels"),
        optional_truth={"instances": ("instances", "objects", "num_digits"),
                        "labels": ("objects",)}),
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
  n = len(next(iter(truth.values())))
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
  columns = {k: _column([r[k] for r in rows]) for k in keys}
  order = np.argsort(columns["index"], kind="stable")
  return {k: v[order] if isinstance(v, np.ndarray) else [v[i] for i in order]
          for k, v in columns.items()}


def _column(values):
  """A feature's values over a split: one array, or a list of per-example
  dicts for a sequence of objects (its length varies)."""
  if values and isinstance(values[0], dict):
    return values
  return np.stack([np.asarray(v) for v in values])


class Evaluator:
  """Scores predictions of one split of a built mnist_derived dataset."""

  def __init__(self, dataset, split="test", data_dir=None):
    self.dataset, self.split = dataset, split
    self.builder = builds.built_builder(dataset, data_dir)
    self.scoring = scoring_of(self.builder)
    builds.check_split(self.builder, split)
    self.num_examples = self.builder.info.splits[split].num_examples
    self._truth = {}
    self._coco = None

  def truth(self, names=()):
    """The split's ground truth by index that predictions holding `names`
    are scored against, read on first use."""
    features = self.scoring.truth_for(names)
    if features not in self._truth:
      self._truth[features] = load_truth(self.builder, self.split, features)
    return self._truth[features]

  def evaluate(self, predictions, path="<predictions>"):
    """Scores a predictions file (path) or a {name: array} dict.

    Raises PredictionsError naming `path` when the predictions are not a
    complete, valid set for this split.
    """
    return self.score(self.check(predictions, path))

  def score(self, checked):
    """The scores of predictions `check` returned."""
    scores = self.scoring.score(checked, self.truth(tuple(checked)),
                                self.builder.info)
    return {"dataset": builds.key(self.builder),
            "split": self.split, "examples": self.num_examples, **scores}

  def check(self, predictions, path="<predictions>"):
    """The predictions checked and sorted by index, read without the truth
    (nor TensorFlow): a bad file is refused before anything else is read."""
    if not isinstance(predictions, dict):
      path = str(predictions)
      predictions = preds_lib.load_npz(predictions)
    predictions = {k: np.asarray(v) for k, v in predictions.items()}
    preds_lib.check_names(path, predictions, ("index", *self.scoring.arrays),
                          self.scoring.optional)
    order = preds_lib.check_index(path, predictions["index"],
                                  self.num_examples, self.split)
    given = [n for n in predictions if n != "index"]
    for name in given:
      if predictions[name].shape[:1] != (self.num_examples,):
        raise preds_lib.PredictionsError(
            path, f"'{name}' has {predictions[name].shape[:1] or 'no'} rows,"
            f" 'index' has {self.num_examples}")
    ordered = {name: predictions[name][order] for name in given}
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
