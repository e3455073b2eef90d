"""`train` and `evaluate`: fit a task's model, save it, score it, report."""

import csv
import json
import os
import pathlib
import time

import keras

from training import data
from training import figures
from training.tasks import TASKS

MODEL_FILE = "model.keras"
LOG_FILE = "log.csv"
METRICS_FILE = "metrics.json"
PREDICTION_FIGURE_EXAMPLES = 8
EVAL_BATCH = 256


def save_model_atomically(model, path):
  """Writes the model beside `path`, then renames: never a half-written file."""
  path = pathlib.Path(path)
  partial = path.with_name(f".{path.stem}.partial.keras")
  model.save(partial)
  os.replace(partial, path)


def write_json_atomically(obj, path):
  path = pathlib.Path(path)
  partial = path.with_name(f".{path.name}.partial")
  partial.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
  os.replace(partial, path)


class AtomicBestCheckpoint(keras.callbacks.Callback):
  """Keeps the lowest-val_loss model so far in `path`, written atomically.

  On a resumed run the best so far comes from the epochs already in `log_csv`,
  so a worse epoch after the restart never replaces a better checkpoint.
  """

  def __init__(self, path, log_csv):
    super().__init__()
    self.path = path
    self.best = float("inf")
    if pathlib.Path(path).exists() and pathlib.Path(log_csv).exists():
      with open(log_csv, newline="") as f:
        losses = [float(row["val_loss"]) for row in csv.DictReader(f)
                  if row.get("val_loss")]
      self.best = min(losses, default=self.best)

  def on_epoch_end(self, epoch, logs=None):
    loss = (logs or {}).get("val_loss", float("inf"))
    if loss < self.best:
      self.best = loss
      save_model_atomically(self.model, self.path)


def compile_model(task, model, steps_per_epoch, epochs, learning_rate):
  # Cosine decay to 1% over the whole run: large early steps, fine last ones.
  schedule = keras.optimizers.schedules.CosineDecay(
      learning_rate, decay_steps=max(1, steps_per_epoch * epochs), alpha=0.01)
  model.compile(optimizer=keras.optimizers.Adam(schedule), loss=task.loss,
                loss_weights=task.loss_weights, metrics=task.train_metrics)


def train(task_name, out, data_dir=None, epochs=None, batch_size=None, seed=0,
          limit=None, learning_rate=None, results=None, verbose=1,
          command=None, dataset=None, input_pipeline="tfds"):
  """Trains, saves and scores one task's model; returns its test metrics.

  input_pipeline: "tfds" (tfds.load, tf.data) or "data_source"
  (tfds.data_source of an array_record build, read by index).

  Re-running the same command after an interruption resumes from the last
  finished epoch (Keras BackupAndRestore in `out/backup`).
  """
  task = TASKS[task_name]
  dataset = dataset or task.dataset
  epochs = epochs or task.epochs
  batch_size = batch_size or task.batch_size
  out = pathlib.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  keras.utils.set_random_seed(seed)

  pipeline = {"tfds": data.training_pipeline,
              "data_source": data.data_source_pipeline}[input_pipeline]
  train_ds = pipeline(task, dataset, data.TRAIN_SPLIT, batch_size, data_dir,
                      limit, shuffle_seed=seed)
  val_limit = max(1, limit // 9) if limit else None
  val_ds = pipeline(task, dataset, data.VALIDATION_SPLIT, batch_size, data_dir,
                    val_limit)
  train_examples = data.num_examples(dataset, data.TRAIN_SPLIT, data_dir,
                                     limit)
  steps = -(-train_examples // batch_size)
  model = task.get_model(data.dataset_info(dataset, data_dir).features)
  compile_model(task, model, steps, epochs, learning_rate or task.learning_rate)
  callbacks = [
      keras.callbacks.BackupAndRestore(str(out / "backup")),
      keras.callbacks.CSVLogger(str(out / LOG_FILE), append=True),
      AtomicBestCheckpoint(out / "best.keras", out / LOG_FILE),
  ]
  start = time.perf_counter()
  model.fit(train_ds, validation_data=val_ds, epochs=epochs,
            callbacks=callbacks, verbose=verbose, shuffle=False)
  train_seconds = time.perf_counter() - start
  # Keep the epoch with the lowest validation loss (normally the last one of
  # a cosine schedule).
  best = keras.saving.load_model(out / "best.keras", safe_mode=True)
  save_model_atomically(best, out / MODEL_FILE)

  scores = evaluate(task_name, out / MODEL_FILE, data_dir=data_dir,
                    limit=limit, out=out, dataset=dataset)
  report = {
      "task": task_name,
      **{k: v for k, v in scores.items() if not isinstance(v, list)},
      "train_seconds": round(train_seconds, 1),
      "epochs": epochs,
      "batch_size": batch_size,
      "seed": seed,
      "dataset": dataset,
      "input_pipeline": input_pipeline,
      "train_examples": train_examples,
      "parameters": int(best.count_params()),
      "command": command,
  }
  write_json_atomically(report, out / METRICS_FILE)
  if results:
    write_json_atomically(report, results)
  figures.learning_curves(out / LOG_FILE, out / "learning_curves.png",
                          title=f"{task_name}: {best.name}")
  return report


def evaluate(task_name, model_path, split="test", data_dir=None, limit=None,
             out=None, dataset=None):
  """Scores a saved model on a split; writes `evaluation-<split>.json`."""
  task = TASKS[task_name]
  dataset = dataset or task.dataset
  model = keras.saving.load_model(model_path, safe_mode=True)
  examples = data.scoring_pipeline(dataset, split, EVAL_BATCH, data_dir, limit)
  scores = task.score(model, examples)
  scores = {"task": task_name, "dataset": dataset, "split": split,
            "model": str(model_path),
            "examples": data.num_examples(dataset, split, data_dir, limit),
            **scores}
  if out is not None:
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomically(scores, out / f"evaluation-{split}.json")
    first_examples = next(iter(data.scoring_pipeline(
        dataset, split, PREDICTION_FIGURE_EXAMPLES, data_dir,
        limit=PREDICTION_FIGURE_EXAMPLES)))
    figures.prediction_grid(task_name, model, first_examples,
                            out / f"predictions-{split}.png")
  return scores
