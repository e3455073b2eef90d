"""Scores a predictions file against a built dataset, the same way for anyone.

    mnist-derived score mnist_fg/mnist --predictions preds.npz [--split test]
        [--data_dir DIR] [--json scores.json]

    mnist-derived score mnist_mosaic/scatter --detections results.json

prints one JSON object of scores. `Evaluator` does the same from Python:

    evaluator = Evaluator("mnist_circles/mnist", split="test")
    scores = evaluator.evaluate({"index": ..., "label": ..., "circle": ...})

How each dataset's predictions are checked and scored is declared in its
folder (`declarations`); the predictions format is in `predictions`, every
score in `metrics` and `instances`; detections (COCO results files) and their AP in `detections`.
Ground truth is read from the TFDS build (through TensorFlow only for a
tfrecord build; never by `metrics` or `predictions`), or, where it is not
built and `manual_dir` is given, from the split generated on demand.
"""

import numpy as np

from mnist_derived import builds
from mnist_derived import declarations
from mnist_derived import decoding
from mnist_derived.evaluation import predictions as preds_lib


def scoring_of(builder):
  """The Scoring its dataset declares (a subclass scores as its base)."""
  return declarations.of(builder).scoring


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


def generated_truth(generated, features, batch=4096):
  """{feature: array} of a generated split (`loaders.GeneratedSplit`) by
  index, plus `index`, as `load_truth` gives a build's."""
  columns = {k: [] for k in ("index", *features)}
  for start in range(0, len(generated), batch):
    examples = generated.batch(range(start, min(start + batch, len(generated))))
    for k in columns:
      columns[k].append(examples[k])
  return {k: np.concatenate(v) if isinstance(v[0], np.ndarray) else
          [example for part in v for example in _per_example(part)]
          for k, v in columns.items()}


def _per_example(objects):
  """A batch's objects as one dict per example: cut from stacked arrays (a
  fixed number per example) or as `ExampleRows` gives them."""
  if isinstance(objects, dict):
    count = len(next(iter(objects.values())))
    return [{leaf: rows[j] for leaf, rows in objects.items()}
            for j in range(count)]
  return list(objects)


def _arrays(predictions, path):
  """({name: array}, path) of a predictions file's path or of a dict."""
  if not isinstance(predictions, dict):
    path = str(predictions)
    predictions = preds_lib.load_npz(predictions)
  return {k: np.asarray(v) for k, v in predictions.items()}, path


def _unbuilt(dataset, data_dir):
  """The builder of a dataset not built in data_dir, or None if built."""
  found = builds.builder(dataset, data_dir)
  with builds.tfds_errors_only():
    return None if found.is_prepared() else found


class Evaluator:
  """Scores predictions of one split of an mnist_derived dataset: its
  build, or, given `manual_dir` where it is not built, its examples
  generated from the source digits (the same values)."""

  def __init__(self, dataset, split="test", data_dir=None, manual_dir=None):
    """dataset: a name ('mnist_fg/mnist'), or the TFDS builder of a build."""
    if not isinstance(dataset, str):  # a builder already opened
      dataset, data_dir = (f"{dataset.name}/{dataset.builder_config.name}",
                           builds.data_root(dataset))
    self.dataset, self.split = dataset, split
    self._generated = None
    unbuilt = None if manual_dir is None else _unbuilt(dataset, data_dir)
    if unbuilt is not None:
      from mnist_derived import loaders  # pylint: disable=g-import-not-at-top
      self.builder = unbuilt
      self._generated = loaders.GeneratedSplit(
          dataset, split, manual_dir=manual_dir, data_dir=data_dir)
      self.num_examples = len(self._generated)
    else:
      self.builder = builds.built_builder(dataset, data_dir)
      builds.check_split(self.builder, split)
      self.num_examples = self.builder.info.splits[split].num_examples
    self.scoring = scoring_of(self.builder)
    self._truth = {}
    self._coco = None

  def truth(self, names=()):
    """The split's ground truth by index that predictions holding `names`
    are scored against, read on first use."""
    features = self.scoring.truth_for(names)
    if features not in self._truth:
      self._truth[features] = (
          load_truth(self.builder, self.split, features)
          if self._generated is None else
          generated_truth(self._generated, features))
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

  def check(self, predictions, path="<predictions>", complete=True):
    """The predictions checked and sorted by index, read without the truth
    (nor TensorFlow): a bad file is refused before anything else is read.
    complete=False accepts predictions of some of the examples only."""
    predictions, path = _arrays(predictions, path)
    preds_lib.check_names(path, predictions, ("index", *self.scoring.arrays),
                          self.scoring.optional)
    order = preds_lib.check_index(path, predictions["index"],
                                  self.num_examples, self.split, complete)
    rows = len(order)
    given = [n for n in predictions if n != "index"]
    for name in given:
      if predictions[name].shape[:1] != (rows,):
        raise preds_lib.PredictionsError(
            path, f"'{name}' has {predictions[name].shape[:1] or 'no'} rows,"
            f" 'index' has {rows}")
    ordered = {name: predictions[name][order] for name in given}
    return self.scoring.check(path, ordered, rows, self.builder.info)

  def evaluate_part(self, predictions, path="<predictions>"):
    """Scores predictions of some of the split's examples (each once)
    against those examples alone: a quick run's first examples. Published
    scores are of the whole split (`evaluate`)."""
    predictions, path = _arrays(predictions, path)
    checked = self.check(predictions, path, complete=False)
    index = np.sort(predictions["index"])
    truth = self.truth(tuple(checked))
    rows = np.searchsorted(truth["index"], index)
    part = {k: v[rows] if isinstance(v, np.ndarray) else [v[i] for i in rows]
            for k, v in truth.items()}
    scores = self.scoring.score(checked, part, self.builder.info)
    return {"dataset": builds.key(self.builder), "split": self.split,
            "examples": len(index), **scores}

  def evaluate_detections(self, path):
    """Scores a COCO results file of a mosaic dataset: AP, AP50, AP75 per
    kind of geometry (bbox, segm), by pycocotools against the split's COCO
    export."""
    from mnist_derived.evaluation import detections as det_lib  # pylint: disable=g-import-not-at-top
    from mnist_derived.export import coco  # pylint: disable=g-import-not-at-top
    declarations.check_export(self.builder, "coco")
    if self._generated is not None:
      raise builds.NotBuilt(
          f"{self.dataset}: detections are scored against the COCO export of"
          " a build, which a generated split does not have: build it first"
          " (`mnist-derived build ...`)")
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
