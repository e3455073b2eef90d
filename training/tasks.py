"""The tasks: which dataset, which model, which losses and scores.

Scores come from `mnist_derived.evaluation`, the same code that
`mnist-derived score` runs on anyone's predictions file, against the truth
it reads. Nothing here needs TensorFlow (keras.ops), so the models and their
predictions also run on Keras's torch and jax backends (`portable`).
"""

import dataclasses
from typing import Callable

import keras
import numpy as np

from mnist_derived.evaluation import detections
from mnist_derived.evaluation import instances
from mnist_derived.evaluation import metrics
from training import figures
from training import models
from training import scatter


@dataclasses.dataclass(frozen=True)
class Task:
  """Everything `train` and `evaluate` need to know about one task."""

  name: str
  dataset: str  # tfds name/config
  get_model: Callable  # dataset features -> keras.Model
  inputs_targets: Callable  # example dict -> (model input, targets)
  loss: object  # {head name: loss} for a model of named heads
  train_metrics: object
  # model outputs of a batch -> the arrays of a predictions file
  predictions: Callable
  # the features inputs_targets and figure read (besides `index`)
  reads: tuple
  # (images, batch, model outputs, DatasetInfo) -> a Figure of predictions
  figure: Callable
  epochs: int
  batch_size: int
  learning_rate: float
  loss_weights: object = None
  # (index, model outputs, their predictions) -> COCO results; None: none
  detections: Callable = None
  # fg and circles examples are one source image each, so 10% of train is a
  # clean validation set (as the reference held out); a mosaic shares source
  # digits with other mosaics of its split, so mnist_mosaic has a
  # `validation` split of held-out digits.
  train_split: str = "train[:90%]"
  validation_split: str = "train[90%:]"
  # (model, images) -> outputs for `predictions`; a pipeline of stages
  # gives its predictions' arrays here.
  predict: Callable = lambda model, images: model.predict_on_batch(images)
  # The input pipelines (runner.PIPELINES, "generated") whose batches
  # inputs_targets takes: a task that maps whole numpy batches names only
  # those that give them.
  inputs: tuple = ("tfds", "data_source", "generated")


def _fg_predictions(outputs):
  return {"mask": outputs[..., 0]}  # probabilities; foreground where >= 0.5


def _circles_predictions(outputs):
  circles = metrics.circles_from_normalized(outputs["circle"])
  circles[:, 2] = np.maximum(circles[:, 2], 0)  # a radius is never negative
  return {"label": np.argmax(outputs["label"], axis=-1),
          "circle": circles.astype(np.float32)}


def _mosaic_predictions(outputs):
  """The class map, and its objects: each 8-connected region of one class
  (instances from a semantic model, with no network of their own)."""
  mask = np.argmax(outputs, axis=-1).astype(np.uint8)
  return {"mask": mask, "instances": instances.components(mask)}


def _mosaic_detections(index, outputs, predicted):
  return detections.results_of(index, predicted["instances"],
                               predicted["mask"], outputs)


def _pair_targets(example):
  """The image, and 1 for each class of its digits (multi-hot)."""
  labels = keras.ops.one_hot(example["objects"]["label"], models.NUM_DIGITS)
  return example["image"], keras.ops.max(labels, axis=-2)


def _pair_predictions(outputs):
  """The two most probable classes, in increasing order."""
  return {"labels": np.sort(np.argsort(-outputs, axis=-1)[:, :2], axis=-1)}


def _scatter_targets(batch):
  """Seeded by the batch's first example: the same batch, the same crops."""
  rng = np.random.default_rng(int(np.asarray(batch["index"])[0]))
  return scatter.training_targets(batch, rng)


TASKS = {
    t.name: t for t in [
        Task(
            name="fg",
            dataset="mnist_fg/mnist",
            get_model=lambda f: models.get_fg_model(f["image"].shape),
            inputs_targets=lambda ex: (ex["image"], keras.ops.cast(
                ex["mask"], "float32")),
            loss="binary_crossentropy",
            train_metrics=[keras.metrics.BinaryIoU(
                target_class_ids=[1], threshold=0.5, name="fg_iou")],
            predictions=_fg_predictions,
            reads=("image", "mask"),
            figure=figures.fg_figure,
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
            predictions=_circles_predictions,
            reads=("image", "label", "circle", "circle_normalized"),
            figure=figures.circles_figure,
            epochs=12, batch_size=64, learning_rate=2e-3,
        ),
        Task(
            name="mosaic",
            dataset="mnist_mosaic/2x2",
            get_model=lambda f: models.get_mosaic_model(
                f["image"].shape, f["mask"].num_classes),
            inputs_targets=lambda ex: (ex["image"], ex["mask"]),
            loss="sparse_categorical_crossentropy",
            # The benchmark's own score in log.csv: the learning curve.
            train_metrics=["accuracy", keras.metrics.MeanIoU(
                models.NUM_DIGITS + 1, sparse_y_pred=False, name="mean_iou")],
            predictions=_mosaic_predictions,
            reads=("image", "mask"),
            figure=figures.mosaic_figure,
            epochs=3, batch_size=32, learning_rate=2e-3,
            detections=_mosaic_detections,
            train_split="train", validation_split="validation",
        ),
        Task(
            name="pairs",
            dataset="mnist_mosaic/multimnist",
            get_model=lambda f: models.get_pairs_model(
                f["image"].shape, f["objects"]["label"].num_classes),
            inputs_targets=_pair_targets,
            loss="binary_crossentropy",
            train_metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
            predictions=_pair_predictions,
            reads=("image", "objects"),
            figure=figures.pairs_figure,
            epochs=3, batch_size=64, learning_rate=2e-3,
            train_split="train", validation_split="validation",
        ),
        Task(
            name="scatter",
            dataset="mnist_mosaic/scatter",
            get_model=lambda f: models.get_scatter_model(
                f["image"].shape, scatter.CROP, f["mask"].num_classes - 1),
            inputs_targets=_scatter_targets,
            loss={"centres": "binary_crossentropy",
                  "digit_mask": "binary_crossentropy",
                  "digit_label": "sparse_categorical_crossentropy"},
            # The heat map's loss is small where most of it is 0: weighted up.
            loss_weights={"centres": 10.0, "digit_mask": 1.0,
                          "digit_label": 1.0},
            train_metrics={"digit_label": ["accuracy"]},
            predict=scatter.predict,
            predictions=lambda outputs: outputs,
            reads=("image", "mask", "instances"),
            figure=figures.scatter_figure,
            epochs=10, batch_size=64, learning_rate=2e-3,
            train_split="train", validation_split="validation",
            inputs=("generated",),
        ),
    ]
}
