"""`train` and `evaluate`: fit a task's model, save it, score it, report."""

import csv
import json
import os
import pathlib
import platform
import shutil
import subprocess
import time

import keras
import numpy as np

import mnist_derived
from mnist_derived import builds
from mnist_derived import files
from mnist_derived.core import errors
from mnist_derived.core import storage
from mnist_derived.evaluation import score as score_lib
from training import data
from training import figures
from training import portable
from training.tasks import TASKS

MODEL_FILE = "model.keras"
BEST_FILE = "best.keras"
LOG_FILE = "log.csv"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
BACKUP_DIR = "backup"
CURVES_FILE = "learning_curves.png"
# Everything `train` writes in a run folder (evaluate adds per-split files).
RUN_OUTPUTS = (MODEL_FILE, BEST_FILE, LOG_FILE, METRICS_FILE, RUN_FILE,
               BACKUP_DIR, CURVES_FILE)
PREDICTION_FIGURE_EXAMPLES = 8
EVAL_BATCH = 256


# What a run folder holds beside its models: predictions, figures, logs.
_RUN_EXTRAS_BYTES = 16_000_000


def run_bytes(model):
  """About what a run writes: float32 weights in the final and best models
  and in two backups of weights and Adam's two moments (8 copies), plus
  predictions and figures."""
  return 8 * 4 * model.count_params() + _RUN_EXTRAS_BYTES


def save_model_atomically(model, path):
  """Writes the model beside `path`, then renames: never a half-written file."""
  with files.atomic_path(path) as partial:
    model.save(partial)


def _built(dataset, data_dir, manual_dir):
  """The dataset's builder; built first from `manual_dir` when given."""
  if manual_dir is not None:
    return builds.build(dataset, data_dir, manual_dir)[0]
  try:
    return builds.built_builder(dataset, data_dir)
  except builds.NotBuilt as e:
    raise builds.NotBuilt(f"{e} (or add --manual_dir <your MNIST folder>"
                            " to this command)") from None


def write_json_atomically(obj, path):
  files.write_text(
      path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def provenance():
  """The code and library versions a result comes from.

  `uncommitted_changes` lists the package files (mnist_derived/, training/,
  setup.cfg) that differ from the commit; changes elsewhere (tests, docs)
  cannot move a result.
  """
  repo = pathlib.Path(__file__).resolve().parents[1]

  def git(*args):
    try:
      # rstrip: porcelain lines start with a status column that may be blank.
      return subprocess.run(["git", *args], cwd=repo, capture_output=True,
                            text=True, check=True).stdout.rstrip()
    except (OSError, subprocess.CalledProcessError):
      return None

  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  status = git("status", "--porcelain", "--untracked-files=no", "--",
               "mnist_derived", "training", "setup.cfg")
  return {
      "commit": git("rev-parse", "HEAD"),
      "uncommitted_changes": None if status is None else sorted(
          line[3:] for line in status.splitlines()),
      "versions": {
          "mnist-derived": mnist_derived.__version__,
          "python": platform.python_version(),
          "tensorflow": tf.__version__,
          "keras": keras.__version__,
          "tensorflow-datasets": tfds.__version__,
          "numpy": np.__version__,
      },
  }


class AtomicBestCheckpoint(keras.callbacks.Callback):
  """Keeps the lowest-val_loss model so far in `path`, written atomically.

  On a resumed run the best so far comes from the epochs already in `log_csv`
  (the same run: `prepare_run_folder` guarantees it), so a worse epoch after
  the restart never replaces a better checkpoint.
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


def check_output_file(path):
  """Makes the folder of an output file; InputError if it cannot be written
  there."""
  path = pathlib.Path(path)
  if path.is_dir():
    raise errors.InputFileError(path, "is a folder; name a .json file")
  if path.parent.exists() and not path.parent.is_dir():
    raise errors.InputFileError(path.parent, "is a file, not a folder")
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise errors.InputFileError(path.parent, f"cannot be made ({e.strerror})"
                                ) from None
  if not os.access(path.parent, os.W_OK):
    raise errors.InputFileError(path.parent, "cannot be written")


def prepare_run_folder(out, settings, overwrite=False, say=print):
  """Makes `out` hold exactly the run `settings` describe; True to resume.

  The same settings and an unfinished run (Keras' backup present): resume.
  Otherwise a folder with a previous run's files starts afresh, saying so,
  when that run had the same settings or `overwrite` is set, and is refused
  (InputError) when it had other settings: its files would describe a
  model they do not hold.
  """
  out = pathlib.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  run_file = out / RUN_FILE
  previous = json.loads(run_file.read_text()) if run_file.exists() else None
  if previous == settings and (out / BACKUP_DIR).exists():
    say(f"{out}: resuming the unfinished run with the same settings")
    return True
  old = [name for name in RUN_OUTPUTS if (out / name).exists()]
  if old:
    if previous != settings and not overwrite:
      changed = sorted(k for k in settings
                       if (previous or {}).get(k) != settings[k])
      raise errors.InputError(
          f"{out} holds another run ({'settings differ in ' + ', '.join(changed) if previous else 'of unknown settings'});"
          " pass --overwrite to replace it, or choose another --out")
    for name in old:
      path = out / name
      shutil.rmtree(path) if path.is_dir() else path.unlink()
    say(f"{out}: starting afresh; removed the previous run's"
        f" {', '.join(old)}")
  write_json_atomically(settings, run_file)
  return False


def compile_model(task, model, steps_per_epoch, epochs, learning_rate):
  # Cosine decay to 1% over the whole run: large early steps, fine last ones.
  schedule = keras.optimizers.schedules.CosineDecay(
      learning_rate, decay_steps=max(1, steps_per_epoch * epochs), alpha=0.01)
  model.compile(optimizer=keras.optimizers.Adam(schedule), loss=task.loss,
                loss_weights=task.loss_weights, metrics=task.train_metrics)


PIPELINES = {"tfds": data.training_pipeline,
             "data_source": data.data_source_pipeline}
# Fresh examples: epoch e trains on generated examples never seen before.
GENERATED = "generated"


def train(task_name, out, data_dir=None, epochs=None, batch_size=None, seed=0,
          limit=None, learning_rate=None, results=None, verbose=1,
          command=None, dataset=None, input_pipeline="tfds", overwrite=False,
          manual_dir=None, callbacks=(), train_examples=None):
  """Trains, saves and scores one task's model; returns its test metrics.

  input_pipeline: "tfds" (tf.data), "data_source" (an array_record
  build's data source, read by index) or "generated" (fresh examples each
  epoch, `train_examples` of them, from `manual_dir`'s digits; validation
  and test are the build's). callbacks: Keras callbacks to add to the
  run's own.

  Re-running the same command after an interruption resumes from the last
  finished epoch (Keras BackupAndRestore in `out/backup`); see
  `prepare_run_folder` for a folder holding another run. The builder and
  the model are opened once, for training and scoring alike.
  """
  task = TASKS[task_name]
  epochs = task.epochs if epochs is None else epochs
  if epochs < 1:
    raise errors.InputError(f"epochs must be at least 1, not {epochs}")
  settings = {
      "task": task_name, "dataset": dataset or task.dataset,
      "epochs": epochs,
      "batch_size": batch_size or task.batch_size,
      "learning_rate": learning_rate or task.learning_rate,
      "seed": seed, "limit": limit, "input_pipeline": input_pipeline,
  }
  if input_pipeline not in task.inputs:
    raise errors.InputError(
        f"the {task_name} task trains on --input {' or '.join(task.inputs)},"
        f" not {input_pipeline}")
  if input_pipeline == GENERATED:
    if manual_dir is None:
      raise errors.InputError("--input generated computes the training"
                              " examples from the source digits: give"
                              " --manual_dir")
    settings["train_examples_per_epoch"] = train_examples
  builder = _built(settings["dataset"], data_dir, manual_dir)
  code = provenance()  # what this run executes, before anything can change
  out = pathlib.Path(out)
  if results is not None:
    check_output_file(results)  # before training, not after it
  prepare_run_folder(out, settings, overwrite,
                     say=print if verbose else lambda line: None)
  train_seconds, train_examples = _fit(task, builder, settings, out, verbose,
                                       callbacks, manual_dir)
  # Keep the epoch with the lowest validation loss (normally the last one of
  # a cosine schedule).
  best = keras.saving.load_model(out / BEST_FILE, safe_mode=True)
  save_model_atomically(best, out / MODEL_FILE)
  # The whole test split, whatever `limit`: a quick run's predictions file
  # can still be scored.
  scores = score_model(task, builder, best, out / MODEL_FILE, out=out)
  report = {
      **scores,
      **settings,
      "train_seconds": round(train_seconds, 1),
      "train_split": task.train_split,
      "validation_split": task.validation_split,
      "train_examples": train_examples,
      "parameters": int(best.count_params()),
      "command": command,
      "provenance": code,
  }
  write_json_atomically(report, out / METRICS_FILE)
  if results:
    write_json_atomically(report, results)
  figures.learning_curves(out / LOG_FILE, out / CURVES_FILE,
                          title=f"{task_name}: {best.name}")
  return report


def _fit(task, builder, settings, out, verbose, callbacks, manual_dir):
  """Fits a new model of the task as `settings` say, resuming from
  out/backup; returns (seconds, training examples per epoch)."""
  keras.utils.set_random_seed(settings["seed"])
  batch_size, limit = settings["batch_size"], settings["limit"]
  train_ds, train_examples = _training_batches(task, builder, settings,
                                               manual_dir, out)
  val_ds = _validation_batches(task, builder, settings, manual_dir)
  model = task.get_model(builder.info.features)
  storage.check_free_space(out, run_bytes(model), f"training {task.name}",
                           "--out")
  compile_model(task, model, -(-train_examples // batch_size),
                settings["epochs"], settings["learning_rate"])
  start = time.perf_counter()
  model.fit(train_ds, validation_data=val_ds, epochs=settings["epochs"],
            callbacks=[*callbacks, *_run_callbacks(out)], verbose=verbose,
            shuffle=False)
  return time.perf_counter() - start, train_examples


def _finished_epochs(out):
  """Epochs a resumed run has finished (its log's rows)."""
  log = pathlib.Path(out) / LOG_FILE
  if not log.exists():
    return 0
  with open(log, newline="") as f:
    return sum(1 for _ in csv.DictReader(f))


def _training_batches(task, builder, settings, manual_dir, out):
  """(training batches, examples per epoch) of the run's input pipeline."""
  batch_size, limit = settings["batch_size"], settings["limit"]
  if settings["input_pipeline"] != GENERATED:
    pipeline = PIPELINES[settings["input_pipeline"]]
    return (pipeline(task, builder, task.train_split, batch_size, limit,
                     shuffle_seed=settings["seed"]),
            data.num_examples(builder, task.train_split, limit))
  per_epoch = settings["train_examples_per_epoch"] or data.num_examples(
      builder, task.train_split, limit)
  return data.fresh_pipeline(task, settings["dataset"], task.train_split,
                             batch_size, per_epoch, settings["epochs"],
                             manual_dir, _finished_epochs(out)), per_epoch


def _validation_batches(task, builder, settings, manual_dir):
  """The validation split's batches, in order, through the run's pipeline
  (generated: the build's examples computed from the source digits)."""
  batch_size, limit = settings["batch_size"], settings["limit"]
  limit = max(1, limit // 9) if limit else None
  if settings["input_pipeline"] == GENERATED:
    return data.generated_pipeline(task, settings["dataset"],
                                   task.validation_split, batch_size,
                                   manual_dir, limit)
  return PIPELINES[settings["input_pipeline"]](
      task, builder, task.validation_split, batch_size, limit)


def _run_callbacks(out):
  return [
      # Two states: a kill while one is written leaves the other to resume
      # from (one corrupt h5 file would otherwise stop every resume).
      keras.callbacks.BackupAndRestore(str(out / BACKUP_DIR),
                                       double_checkpoint=True),
      keras.callbacks.CSVLogger(str(out / LOG_FILE), append=True),
      AtomicBestCheckpoint(out / BEST_FILE, out / LOG_FILE),
  ]


def check_model_fits(model, model_path, task, info):
  """InputError when a saved model cannot take or answer this dataset."""
  want = tuple(info.features["image"].shape)
  # Every task's model names its image input "image" (beside others).
  takes = tuple(model.get_layer("image").output.shape[1:])
  if takes != want:
    raise errors.InputError(
        f"{model_path}: the model takes images of shape"
        f" {takes}, but {info.full_name} has images of"
        f" shape {want}: it was trained for another task or dataset")
  heads = len(task.loss) if isinstance(task.loss, dict) else 1
  if len(model.outputs) != heads:
    raise errors.InputError(
        f"{model_path}: the model has {len(model.outputs)} output(s), which"
        f" does not fit the {task.name} task")


def save_pretrained(task_name, model_path):
  """Writes a trained model's weights as the task's shipped baseline."""
  # Uncompiled: the weights alone, not the optimizer's two moments too.
  model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
  path = portable.pretrained_path(task_name)
  path.parent.mkdir(parents=True, exist_ok=True)
  with files.atomic_path(path) as partial:
    model.save_weights(partial)
  return path


def evaluate(task_name, model_path=None, split="test", data_dir=None,
             limit=None, out=None, dataset=None, results=None,
             manual_dir=None):
  """Scores a saved model on a split with `mnist_derived.evaluation`; with
  model_path None, the task's shipped baseline (`portable.pretrained_path`).

  With `out`, writes what `score_model` writes. With `results` (a file
  `train --results` wrote): refreshes its scores with this code's, and
  records this code as `evaluation_provenance`, so a change to the scoring
  regenerates results without retraining.
  """
  task = TASKS[task_name]
  builder = _built(dataset or task.dataset, data_dir, manual_dir)
  if model_path is None:
    model, model_path = portable.pretrained_model(task, builder.info.features)
  else:
    model = keras.saving.load_model(model_path, safe_mode=True)
  check_model_fits(model, model_path, task, builder.info)
  scores = score_model(task, builder, model, model_path, split, limit, out)
  if results is not None:
    report = json.loads(pathlib.Path(results).read_text())
    report.update({k: v for k, v in scores.items() if k != "model"},
                  evaluation_provenance=provenance())
    write_json_atomically(report, results)
  return scores


def score_model(task, builder, model, model_path, split="test", limit=None,
                out=None):
  """The scores of a model's predictions of a split (its first `limit`),
  against the truth `mnist-derived score` reads.

  With `out`: writes `evaluation-<split>.json`, the predictions as a
  predictions file `predictions-<split>.npz` (which `mnist-derived score`
  scores to the same figures), a figure `predictions-<split>.png` of the
  first examples and, for a task with detections, their COCO results
  `detections-<split>.json` (for `mnist-derived score --detections`).
  """
  predictions, found, first = _predict(task, builder, model, split, limit)
  evaluator = score_lib.Evaluator(builder, split)
  scores = {**(evaluator.evaluate_part(predictions) if limit else
               evaluator.evaluate(predictions)),
            "task": task.name, "dataset": evaluator.dataset,
            "model": str(model_path)}
  if out is not None:
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomically(scores, out / f"evaluation-{split}.json")
    files.save_npz(out / f"predictions-{split}.npz", predictions)
    if task.detections is not None:
      write_json_atomically(found, out / f"detections-{split}.json")
    figures.prediction_grid(task, model,
                            _first(first, PREDICTION_FIGURE_EXAMPLES),
                            out / f"predictions-{split}.png", builder.info)
  return scores


def _predict(task, builder, model, split, limit):
  """The arrays of a predictions file of a split, sorted by index; the COCO
  results of the task's detections (sorted likewise); and the split's first
  batch (for the figure)."""
  predictions, found, first = {}, [], None
  for batch in data.scoring_pipeline(task, builder, split, EVAL_BATCH, limit):
    first = batch if first is None else first
    outputs = task.predict(model, batch["image"])
    predicted = task.predictions(outputs)
    if task.detections is not None:
      found += task.detections(np.asarray(batch["index"]), outputs, predicted)
    for name, value in [("index", batch["index"]), *predicted.items()]:
      predictions.setdefault(name, []).append(np.asarray(value))
  order = np.argsort(np.concatenate(predictions["index"]), kind="stable")
  found.sort(key=lambda result: result["image_id"])
  return ({k: np.concatenate(v)[order] for k, v in predictions.items()},
          found, first)


def _first(batch, count):
  """The first `count` examples of a batch (a dict, nested for sequences)."""
  return {k: _first(v, count) if isinstance(v, dict) else v[:count]
          for k, v in batch.items()}
