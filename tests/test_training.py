"""The training package on dummy data: tiny models, real tfds.load input."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived.core import errors
from mnist_derived.evaluation import instances
from mnist_derived.export import coco
from mnist_derived.evaluation.score import Evaluator
from mnist_derived import cli
from training import data
from training import portable
from training import runner
from tests.builder_testing import TinyMosaic  # noqa: F401  (registers it)
from tests.conftest import DUMMY_BUILDS
from tests.conftest import DUMMY_PAIRS
from tests.conftest import DUMMY_SCATTER_TASK
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

# Builds or trains in subprocesses: minutes, not seconds (pytest -m "not slow" skips).
pytestmark = pytest.mark.slow


DATASETS = {**DUMMY_BUILDS, "pairs": DUMMY_PAIRS,
            "scatter": DUMMY_SCATTER_TASK}


def _input_of(task):
  """train's arguments for a task's first input pipeline (generated: from
  the dummy digits)."""
  first = runner.TASKS[task].inputs[0]
  if first != runner.GENERATED:
    return {"input_pipeline": first}
  return {"input_pipeline": first, "manual_dir": DUMMY_DATA,
          "train_examples": 40}


@pytest.fixture
def data_dir(dummy_data_dir):
  return dummy_data_dir


def _losses(run):
  with open(run / runner.LOG_FILE, newline="") as f:
    return [float(row["loss"]) for row in csv.DictReader(f)]


@pytest.mark.parametrize("task", sorted(DATASETS))
def test_train_saves_a_model_that_evaluate_reproduces(task, data_dir, tmp_path):
  run = tmp_path / "run"
  report = runner.train(task, run, data_dir=data_dir, epochs=4, batch_size=8,
                        dataset=DATASETS[task], verbose=0,
                        results=tmp_path / "result.json", **_input_of(task))
  losses = _losses(run)
  assert len(losses) == 4 and losses[-1] < losses[0]
  for name in ["model.keras", "metrics.json", "learning_curves.png",
               "predictions-test.png", "evaluation-test.json"]:
    assert (run / name).exists(), name
  assert json.loads((tmp_path / "result.json").read_text()) == report
  # The saved model alone reproduces the reported metrics.
  again = runner.evaluate(task, run / "model.keras", data_dir=data_dir,
                          dataset=DATASETS[task])
  for key, value in again.items():
    if key in report:
      assert report[key] == pytest.approx(value), key
  # So does mnist-derived-score's Evaluator on the saved predictions file.
  scored = Evaluator(DATASETS[task], data_dir=data_dir).evaluate(
      run / "predictions-test.npz")
  for key, value in scored.items():
    if key in report and key not in ("dataset", "examples"):
      assert report[key] == value, key
  assert report["provenance"]["commit"] and report["provenance"]["versions"]
  if task == "scatter":
    _assert_each_object_has_one_class(run)
  if task == "mosaic":
    _assert_detections_are_the_predicted_objects(run)
    _assert_logged_mean_iou_is_the_scorers(run, data_dir)
  # Re-scoring into the results file keeps its figures, adds provenance.
  runner.evaluate(task, run / "model.keras", data_dir=data_dir,
                  dataset=DATASETS[task], results=tmp_path / "result.json")
  refreshed = json.loads((tmp_path / "result.json").read_text())
  assert refreshed.pop("evaluation_provenance")["versions"]
  assert refreshed == report
  assert not list(run.glob(".*partial*"))


def _assert_detections_are_the_predicted_objects(run):
  """detections-test.json holds one result per object of the predictions
  file that has a class (a region of one class of its mask)."""
  predictions = np.load(run / "predictions-test.npz")
  found = json.loads((run / "detections-test.json").read_text())
  np.testing.assert_array_equal(predictions["instances"],
                                instances.components(predictions["mask"]))
  expected = []
  for image_id, ids, mask in zip(predictions["index"],
                                 predictions["instances"], predictions["mask"]):
    for k in np.unique(ids[ids > 0]):
      expected.append((int(image_id), int(mask[ids == k][0]),
                       coco.rle(ids == k)["counts"]))
  assert sorted((r["image_id"], r["category_id"], r["segmentation"]["counts"])
                for r in found) == sorted(expected)


def _assert_each_object_has_one_class(run):
  """The scatter pipeline names each object once: all its pixels have its
  class, and only objects' pixels have a class."""
  predictions = np.load(run / "predictions-test.npz")
  for ids, mask in zip(predictions["instances"], predictions["mask"]):
    assert ((ids > 0) == (mask > 0)).all()
    for k in np.unique(ids[ids > 0]):
      assert len(np.unique(mask[ids == k])) == 1


def _assert_logged_mean_iou_is_the_scorers(run, data_dir):
  """log.csv's learning curve shows the benchmark's own score: the saved
  model's epoch logged the validation mean IoU the scorer gives it."""
  with open(run / runner.LOG_FILE, newline="") as f:
    # The saved model is the first epoch of lowest val_loss.
    saved = min(csv.DictReader(f), key=lambda row: float(row["val_loss"]))
  scored = runner.evaluate("mosaic", run / "model.keras", split="validation",
                           data_dir=data_dir, dataset=DATASETS["mosaic"])
  assert float(saved["val_mean_iou"]) == pytest.approx(scored["mean_iou"],
                                                       abs=1e-6)


def test_models_load_in_safe_mode_with_expected_outputs(data_dir, tmp_path):
  runner.train("circles", tmp_path, data_dir=data_dir, epochs=1, batch_size=8,
               dataset=DATASETS["circles"], verbose=0)
  model = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
  out = model.predict(np.zeros((2, 28, 28, 1), np.uint8), verbose=0)
  assert out["label"].shape == (2, 10) and out["circle"].shape == (2, 3)
  np.testing.assert_allclose(out["label"].sum(axis=1), 1, rtol=1e-5)


def test_same_seed_same_metrics(data_dir, tmp_path):
  reports = [
      runner.train("fg", tmp_path / str(i), data_dir=data_dir, epochs=2,
                   batch_size=8, seed=3, dataset=DATASETS["fg"], verbose=0)
      for i in range(2)
  ]
  # Exactly the same numbers, not just close: same seed, same machine.
  for key, value in reports[0].items():
    if key not in ("train_seconds", "model"):
      assert reports[1][key] == value, key


class _ListSource(list):
  """A random-access source like tfds.data_source's, over example dicts."""

  def __getitems__(self, indices):
    return [self[i] for i in indices]


def test_indexed_batches_visit_each_example_once_per_epoch():
  source = _ListSource({"x": np.array([i])} for i in range(10))
  batches = data.IndexedBatches(source, lambda ex: ex["x"][:, 0], 4,
                                shuffle_seed=1)
  epochs = []
  for _ in range(3):
    epochs.append(np.concatenate([batches[i] for i in range(len(batches))]))
    batches.on_epoch_end()
  assert len(batches) == 3
  for order in epochs:
    assert sorted(order) == list(range(10))
  assert not np.array_equal(epochs[0], epochs[1])
  again = data.IndexedBatches(source, lambda ex: ex["x"][:, 0], 4,
                              shuffle_seed=1)
  np.testing.assert_array_equal(
      np.concatenate([again[i] for i in range(len(again))]), epochs[0])
  in_order = data.IndexedBatches(source, lambda ex: ex["x"][:, 0], 4)
  np.testing.assert_array_equal(in_order[2], [8, 9])


def test_training_from_an_array_record_data_source(tmp_path):
  tfds.builder("mnist_circles/mnist", data_dir=tmp_path,
               file_format="array_record").download_and_prepare(
                   download_config=tfds.download.DownloadConfig(
                       manual_dir=str(DUMMY_DATA)))
  run = tmp_path / "run"
  report = runner.train("circles", run, data_dir=tmp_path, epochs=3,
                        batch_size=8, verbose=0, input_pipeline="data_source")
  assert report["input_pipeline"] == "data_source"
  losses = _losses(run)
  assert len(losses) == 3 and losses[-1] < losses[0]
  # The reported accuracy is the saved model's, recomputed here from the
  # test split as tfds.load reads it.
  model = keras.saving.load_model(run / "model.keras")
  source = tfds.data_source("mnist_circles/mnist", split="test",
                            data_dir=tmp_path)
  test = [source[i] for i in range(len(source))]
  images = np.stack([ex["image"] for ex in test])
  predicted = np.argmax(model.predict(images, verbose=0)["label"], -1)
  assert report["accuracy"] == pytest.approx(
      np.mean(predicted == np.array([ex["label"] for ex in test])))


def test_cli_evaluate_prints_metrics(data_dir, tmp_path, capsys):
  runner.train("fg", tmp_path, data_dir=data_dir, epochs=1, batch_size=8,
               dataset=DATASETS["fg"], verbose=0)
  cli.main(["evaluate", "fg", "--model", str(tmp_path / "model.keras"),
            "--data-dir", str(data_dir), "--dataset", DATASETS["fg"]])
  printed = json.loads(capsys.readouterr().out)
  assert {"mean_image_jaccard", "foreground_iou"} <= set(printed)


def _train_then_kill(run, data_dir, epochs_logged):
  """Starts a 40-epoch fg run in a new process and SIGKILLs it once its log
  holds `epochs_logged` epochs and its backup exists; returns the command."""
  command = [sys.executable, "-m", "training", "train", "fg", "--out", str(run),
             "--data-dir", str(data_dir), "--dataset", DATASETS["fg"],
             "--epochs", "40", "--batch-size", "4", "--quiet"]
  proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, cwd=REPO)
  deadline = time.monotonic() + 300
  try:
    while (not (run / runner.BACKUP_DIR).exists()
           or len(_losses_or_empty(run) or []) < epochs_logged):
      assert proc.poll() is None, "training ended before it could be killed"
      assert time.monotonic() < deadline
      time.sleep(0.2)
  finally:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
  return command


def test_killed_training_resumes_where_it_stopped(data_dir, tmp_path):
  run = tmp_path / "run"
  command = _train_then_kill(run, data_dir, epochs_logged=1)
  assert not (run / runner.MODEL_FILE).exists()
  subprocess.run(command, check=True, capture_output=True, cwd=REPO)
  with open(run / runner.LOG_FILE, newline="") as f:
    epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
  # One process started at epoch 0, the second carried on from a later one.
  assert epochs[0] == 0 and epochs[-1] == 39
  restarts = [i for i in range(1, len(epochs)) if epochs[i] <= epochs[i - 1]]
  assert all(epochs[i] > 0 for i in restarts)
  keras.saving.load_model(run / runner.MODEL_FILE, safe_mode=True)


def test_a_backup_corrupted_by_the_kill_still_resumes(data_dir, tmp_path):
  # A kill in the middle of writing the backup leaves a corrupt weights
  # file; the previous state must still be there to resume from.
  run = tmp_path / "run"
  command = _train_then_kill(run, data_dir, epochs_logged=3)  # two backups
  current = sorted((run / runner.BACKUP_DIR).glob("latest.weights.h5"))
  assert current, sorted(p.name for p in (run / runner.BACKUP_DIR).iterdir())
  current[0].write_bytes(b"not an h5 file: killed while writing")
  done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
  assert done.returncode == 0, done.stderr[-2000:]
  keras.saving.load_model(run / runner.MODEL_FILE, safe_mode=True)


def _losses_or_empty(run):
  return (run / runner.LOG_FILE).exists() and _losses(run)


def _settings(run):
  return json.loads((run / runner.RUN_FILE).read_text())


def test_a_used_run_folder_is_never_mixed_with_another_run(data_dir, tmp_path):
  run = tmp_path / "run"
  first = runner.train("fg", run, data_dir=data_dir, epochs=2, batch_size=8,
                       dataset=DATASETS["fg"], verbose=0)
  # Other settings into the same folder: refused, folder untouched.
  before = (run / "model.keras").read_bytes()
  with pytest.raises(errors.InputError,
                     match="holds another run .settings differ in epochs.;"
                     " pass --overwrite"):
    runner.train("fg", run, data_dir=data_dir, epochs=1, batch_size=8,
                 dataset=DATASETS["fg"], verbose=0)
  assert (run / "model.keras").read_bytes() == before
  # With overwrite: a fresh run whose files all describe the new model.
  lines = []
  runner.prepare_run_folder(run, {**_settings(run), "epochs": 1},
                            overwrite=True, say=lines.append)
  assert lines and "starting afresh" in lines[0]
  second = runner.train("fg", run, data_dir=data_dir, epochs=1, batch_size=8,
                        dataset=DATASETS["fg"], verbose=0, overwrite=True)
  assert second["epochs"] == 1 and len(_losses(run)) == 1
  assert json.loads((run / "metrics.json").read_text()) == second
  model = keras.saving.load_model(run / "model.keras")
  again = runner.evaluate("fg", run / "model.keras", data_dir=data_dir,
                          dataset=DATASETS["fg"])
  assert again["mean_image_jaccard"] == second["mean_image_jaccard"]
  assert model.count_params() == first["parameters"]


def test_the_same_finished_run_again_starts_afresh_with_a_line(tmp_path):
  settings = {"task": "fg", "epochs": 1}
  run = tmp_path / "run"
  assert not runner.prepare_run_folder(run, settings, say=print)
  (run / runner.LOG_FILE).write_text("epoch,loss\n0,1.0\n")
  lines = []
  assert not runner.prepare_run_folder(run, settings, say=lines.append)
  assert "starting afresh" in lines[0] and not (run / runner.LOG_FILE).exists()
  (run / runner.BACKUP_DIR).mkdir()  # an interrupted run: resumed
  assert runner.prepare_run_folder(run, settings, say=lines.append)


def test_training_an_unbuilt_dataset_says_how_to_build_it(tmp_path):
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  proc = subprocess.run(
      [sys.executable, "-m", "training", "train", "fg", "--out",
       str(tmp_path / "run"), "--data_dir", str(tmp_path / "nothing")],
      capture_output=True, text=True, cwd=REPO, timeout=300, env=env)
  assert proc.returncode == 1
  # One line: no TensorFlow start-up lines before it.
  [last] = proc.stderr.strip().splitlines()
  assert last == (f"error: mnist_fg/mnist is not built in {tmp_path / 'nothing'}:"
                  " build it first with `mnist-derived build"
                  f" mnist_fg/mnist --data_dir {tmp_path / 'nothing'}"
                  " --manual_dir <your MNIST folder>` (or add --manual_dir"
                  " <your MNIST folder> to this command)")
  assert "Traceback" not in proc.stderr
  assert not (tmp_path / "run").exists()


def test_training_with_manual_dir_builds_what_is_missing(tmp_path):
  proc = subprocess.run(
      [sys.executable, "-m", "training", "train", "fg", "--out",
       str(tmp_path / "run"), "--data_dir", str(tmp_path / "data"),
       "--manual_dir", str(DUMMY_DATA), "--epochs", "1", "--limit", "64",
       "--quiet"],
      capture_output=True, text=True, cwd=REPO, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  built = tfds.builder("mnist_fg/mnist", data_dir=tmp_path / "data")
  assert built.is_prepared()
  assert json.loads(proc.stdout[proc.stdout.index("{"):])["examples"] > 0


SHIPPED = sorted(p.name.split(".")[0]
                 for p in portable.PRETRAINED.glob("*.weights.h5"))


@pytest.mark.parametrize("task", SHIPPED)
def test_a_shipped_baseline_scores_as_the_runner_says(task, data_dir,
                                                      tmp_path, capsys):
  # The shipped weights in a fresh model of the task, on the dummy build:
  # the runner's scores are the scorer's on its predictions file, and the
  # command gives the same figures.
  scores = runner.evaluate(task, None, data_dir=data_dir,
                           dataset=DATASETS[task], out=tmp_path)
  assert scores["model"].endswith(f"pretrained/{task}.weights.h5")
  scored = Evaluator(DATASETS[task], data_dir=data_dir).evaluate(
      tmp_path / "predictions-test.npz")
  shared = [k for k in scored if k in scores and k not in ("dataset",
                                                           "examples")]
  assert shared and all(scores[k] == scored[k] for k in shared)
  capsys.readouterr()
  assert cli.main(["evaluate", task, "--pretrained", "--dataset",
                   DATASETS[task], "--data_dir", str(data_dir)]) == 0
  printed = json.loads(capsys.readouterr().out)
  assert all(printed[k] == scores[k] for k in shared)


def test_a_task_without_shipped_weights_is_one_line(data_dir, tmp_path,
                                                    monkeypatch):
  # Every task ships weights: an empty folder stands for a task without.
  monkeypatch.setattr(portable, "PRETRAINED", tmp_path)
  with pytest.raises(errors.InputError,
                     match="no shipped weights for the fg task .shipped: none."):
    runner.evaluate("fg", None, data_dir=data_dir, dataset=DATASETS["fg"])


_PORTABLE = """
import json, sys
from tests import without_tensorflow
without_tensorflow.hide_tensorflow()
import tests.builder_testing  # noqa: F401 (registers the tiny mosaics)
from training import portable
scores = portable.evaluate(sys.argv[1], data_dir=sys.argv[2], dataset=sys.argv[3],
                           manual_dir=sys.argv[4])
assert not without_tensorflow.loaded_tensorflow()
print(json.dumps(scores))
"""


@pytest.mark.parametrize("task", SHIPPED)
def test_a_shipped_baseline_runs_without_tensorflow(task, data_dir, tmp_path):
  # The same weights on Keras's torch backend, in a process where
  # TensorFlow cannot be imported, on the split generated from the source
  # digits (nothing built there: a tfrecord build needs TensorFlow to read):
  # the same figures as on TensorFlow, to float tolerance.
  pytest.importorskip("torch")
  from training import portable  # pylint: disable=g-import-not-at-top
  on_tensorflow = portable.evaluate(task, data_dir=data_dir,
                                    dataset=DATASETS[task])
  runner_scores = runner.evaluate(task, None, data_dir=data_dir,
                                  dataset=DATASETS[task])
  for key, value in on_tensorflow.items():
    if key in runner_scores and key not in ("dataset", "model"):
      assert value == runner_scores[key], key
  proc = subprocess.run(
      [sys.executable, "-c", _PORTABLE, task, str(tmp_path), DATASETS[task],
       str(DUMMY_DATA)],
      capture_output=True, text=True, cwd=REPO, check=False,
      env=dict(os.environ, KERAS_BACKEND="torch", PYTHONPATH=str(REPO)))
  assert proc.returncode == 0, proc.stderr[-3000:]
  on_torch = json.loads(proc.stdout.strip().splitlines()[-1])
  assert on_torch["backend"] == "torch"
  for key, value in on_tensorflow.items():
    if isinstance(value, float):
      assert on_torch[key] == pytest.approx(value, abs=0.05), key


def test_fresh_batches_never_repeat_an_example(data_dir):
  # Whatever batch index Keras asks for, and however often it peeks, each
  # read is the next examples of the generated split; a resumed run reads
  # on after its finished epochs.
  batches = data.fresh_pipeline(runner.TASKS["pairs"], DUMMY_PAIRS, "train",
                                batch_size=8, per_epoch=20, epochs=3,
                                manual_dir=DUMMY_DATA)
  assert len(batches) == 3  # batches per epoch
  read = [batches[i][0] for i in (0, 0, 2, 1, 0, 1)]
  generated = data.loaders.GeneratedSplit(DUMMY_PAIRS, "train",
                                          manual_dir=DUMMY_DATA,
                                          num_examples=80)
  want = generated.batch(range(48))["image"]
  np.testing.assert_array_equal(np.concatenate(read), want)
  resumed = data.fresh_pipeline(runner.TASKS["pairs"], DUMMY_PAIRS, "train",
                                batch_size=8, per_epoch=20, epochs=3,
                                manual_dir=DUMMY_DATA, first_epoch=2)
  np.testing.assert_array_equal(resumed[0][0], generated.batch(range(48, 56))[
      "image"])


def test_training_on_fresh_examples(data_dir, tmp_path):
  report = runner.train("pairs", tmp_path / "run", data_dir=data_dir,
                        epochs=2, batch_size=8, dataset=DUMMY_PAIRS,
                        verbose=0, input_pipeline="generated",
                        manual_dir=DUMMY_DATA, train_examples=48)
  assert report["train_examples_per_epoch"] == report["train_examples"] == 48
  assert report["input_pipeline"] == "generated"
  assert len(_losses(tmp_path / "run")) == 2
  with pytest.raises(errors.InputError, match="give --manual_dir"):
    runner.train("pairs", tmp_path / "other", data_dir=data_dir, epochs=1,
                 dataset=DUMMY_PAIRS, verbose=0, input_pipeline="generated")
  with pytest.raises(errors.InputError,
                     match="scatter task trains on --input generated, not"):
    runner.train("scatter", tmp_path / "other", data_dir=data_dir, epochs=1,
                 dataset=DUMMY_SCATTER_TASK, verbose=0)
