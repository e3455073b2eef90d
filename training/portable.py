"""The shipped baselines scored on any Keras backend, without TensorFlow:

    KERAS_BACKEND=torch python -m training.portable pairs --data_dir DIR
    KERAS_BACKEND=jax python -m training.portable pairs --manual_dir MNIST

The split is read through `mnist_derived.loaders` (a build's decoded arrays,
or, with --manual_dir, its examples generated from the source digits), the
task's model gets the shipped weights, and `Evaluator` scores its
predictions; prints one JSON object with the backend it ran on.
"""

import argparse
import json
import pathlib

import keras
import numpy as np

from mnist_derived import builds
from mnist_derived import loaders
from mnist_derived.core import errors
from mnist_derived.evaluation import score
from training.tasks import TASKS

PRETRAINED = pathlib.Path(__file__).parent / "pretrained"
_BATCH = 500


def pretrained_path(task_name):
  """The shipped weights of a task's baseline (training/pretrained/)."""
  return PRETRAINED / f"{task_name}.weights.h5"


def pretrained_model(task, features):
  """(a new model of the task with its shipped weights, their path); an
  InputError naming what is shipped where the task has none."""
  path = pretrained_path(task.name)
  if not path.exists():
    shipped = sorted(p.name.split(".")[0] for p in PRETRAINED.glob("*.h5"))
    raise errors.InputError(
        f"no shipped weights for the {task.name} task (shipped:"
        f" {', '.join(shipped) or 'none'})")
  model = task.get_model(features)
  model.load_weights(path)
  return model, path


def evaluate(task_name, split="test", data_dir=None, manual_dir=None,
             dataset=None):
  """The shipped model's scores on a split, on the current Keras backend."""
  task = TASKS[task_name]
  name = dataset or task.dataset
  source = (loaders.GeneratedSplit(name, split, manual_dir=manual_dir,
                                   data_dir=data_dir) if manual_dir else
            loaders.DecodedSplit(name, split, data_dir))
  model, _ = pretrained_model(task,
                              builds.builder(name, data_dir).info.features)
  columns = {}
  for start in range(0, len(source), _BATCH):
    batch = source.batch(range(start, min(start + _BATCH, len(source))))
    predicted = task.predictions(task.predict(model, batch["image"]))
    for key, value in [("index", batch["index"]), *predicted.items()]:
      columns.setdefault(key, []).append(np.asarray(value))
  predictions = {k: np.concatenate(v) for k, v in columns.items()}
  evaluator = score.Evaluator(name, split, data_dir, manual_dir)
  return {**evaluator.evaluate(predictions), "backend": keras.backend.backend()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("task", choices=sorted(TASKS))
  parser.add_argument("--split", default="test")
  parser.add_argument("--data_dir")
  parser.add_argument("--manual_dir")
  parser.add_argument("--dataset")
  args = parser.parse_args()
  print(json.dumps(evaluate(args.task, args.split, args.data_dir,
                            args.manual_dir, args.dataset), indent=2,
                   sort_keys=True))


if __name__ == "__main__":
  main()
