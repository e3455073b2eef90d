"""The three tasks: which dataset, which model, which losses and scores."""

import dataclasses
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from training import metrics
from training import models

REFERENCE_MOSAICS = 1000  # the reference scored the first 1000 test mosaics


@dataclasses.dataclass(frozen=True)
class Task:
  """Everything `train` and `evaluate` need to know about one task."""

  name: str
  dataset: str  # tfds name/config
  get_model: Callable  # dataset features -> keras.Model
  inputs_targets: Callable  # example dict -> (model input, targets)
  loss: object
  train_metrics: object
  score: Callable  # (model, batched examples) -> flat dict of test metrics
  epochs: int
  batch_size: int
  learning_rate: float
  loss_weights: object = None


def _collect(model, examples, keys):
  """Runs the model over batched examples, gathering predictions and keys."""
  preds, truths = [], {k: [] for k in keys}
  for batch in examples:
    preds.append(model.predict_on_batch(batch["image"]))
    for k in keys:
      truths[k].append(np.asarray(batch[k]))
  if isinstance(preds[0], dict):
    preds = {k: np.concatenate([p[k] for p in preds]) for k in preds[0]}
  else:
    preds = np.concatenate(preds)
  return preds, {k: np.concatenate(v) for k, v in truths.items()}


def _score_fg(model, examples):
  probs, truth = _collect(model, examples, ["mask"])
  return metrics.foreground_scores(probs > 0.5, truth["mask"])


def _score_circles(model, examples):
  preds, truth = _collect(model, examples, ["label", "circle"])
  return metrics.circle_scores(
      np.argmax(preds["label"], axis=-1), truth["label"],
      metrics.circles_from_normalized(preds["circle"]), truth["circle"])


def _score_mosaic(model, examples):
  num_classes = model.output_shape[-1]
  confusion = metrics.ConfusionAccumulator(num_classes)
  reference, seen = [], 0
  for batch in examples:
    pred = np.argmax(model.predict_on_batch(batch["image"]), axis=-1)
    true = np.asarray(batch["mask"])[..., 0]
    confusion.add(pred, true)
    take = max(0, min(len(pred), REFERENCE_MOSAICS - seen))
    if take:
      reference.append(metrics.reference_mosaic_jaccards(
          pred[:take], true[:take], num_classes))
    seen += len(pred)
  scores = confusion.scores()
  scores["reference_jaccard_1000"] = float(np.concatenate(reference).mean())
  scores["reference_mosaics"] = int(min(seen, REFERENCE_MOSAICS))
  return scores


TASKS = {
    t.name: t for t in [
        Task(
            name="fg",
            dataset="mnist_fg/mnist",
            get_model=lambda f: models.get_fg_model(f["image"].shape),
            inputs_targets=lambda ex: (ex["image"], tf.cast(ex["mask"],
                                                            tf.float32)),
            loss="binary_crossentropy",
            train_metrics=[keras.metrics.BinaryIoU(
                target_class_ids=[1], threshold=0.5, name="fg_iou")],
            score=_score_fg,
            epochs=14, batch_size=64, learning_rate=3e-3,
        ),
        Task(
            name="circles",
            dataset="mnist_circles/mnist",
            get_model=lambda f: models.get_circles_model(
                f["image"].shape, f["label"].num_classes),
            inputs_targets=lambda ex: (ex["image"], {
                "label": ex["label"], "circle": ex["circle_normalized"]}),
            # L1 on the circle: MSE's gradient vanishes for the small errors
            # that decide the disc overlap.
            loss={"label": "sparse_categorical_crossentropy", "circle": "mae"},
            loss_weights={"label": 1.0, "circle": 1.0},
            train_metrics={"label": ["accuracy"], "circle": ["mae"]},
            score=_score_circles,
            epochs=12, batch_size=64, learning_rate=2e-3,
        ),
        Task(
            name="mosaic",
            dataset="mnist_mosaic/2x2",
            get_model=lambda f: models.get_mosaic_model(
                f["image"].shape, f["mask"].num_classes),
            inputs_targets=lambda ex: (ex["image"], ex["mask"]),
            loss="sparse_categorical_crossentropy",
            train_metrics=["accuracy"],
            score=_score_mosaic,
            epochs=3, batch_size=32, learning_rate=2e-3,
        ),
    ]
}
