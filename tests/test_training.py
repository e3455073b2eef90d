"""The training package on dummy data: tiny models, real tfds.load input."""

import csv
import dataclasses
import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived import MnistMosaic
from training import cli
from training import runner
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO


class TinyMosaic(MnistMosaic):
  """mnist_mosaic's 2x2 config with a few dozen mosaics, for fast tests."""

  name = "mnist_mosaic_tiny"
  BUILDER_CONFIGS = [
      dataclasses.replace(MnistMosaic.builder_configs["2x2"], num_train=40,
                          num_test=12)
  ]


DATASETS = {"fg": "mnist_fg/mnist", "circles": "mnist_circles/mnist",
            "mosaic": "mnist_mosaic_tiny/2x2"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("tfds")
  config = tfds.download.DownloadConfig(manual_dir=str(DUMMY_DATA))
  for name in DATASETS.values():
    tfds.builder(name, data_dir=path).download_and_prepare(
        download_config=config)
  return path


def _losses(run):
  with open(run / runner.LOG_FILE, newline="") as f:
    return [float(row["loss"]) for row in csv.DictReader(f)]


@pytest.mark.parametrize("task", sorted(DATASETS))
def test_train_saves_a_model_that_evaluate_reproduces(task, data_dir, tmp_path):
  run = tmp_path / "run"
  report = runner.train(task, run, data_dir=data_dir, epochs=4, batch_size=8,
                        dataset=DATASETS[task], verbose=0,
                        results=tmp_path / "result.json")
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
  assert not list(run.glob(".*partial*"))


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
  assert reports[0]["mean_image_jaccard"] == pytest.approx(
      reports[1]["mean_image_jaccard"], abs=1e-6)


def test_cli_evaluate_prints_metrics(data_dir, tmp_path, capsys):
  runner.train("fg", tmp_path, data_dir=data_dir, epochs=1, batch_size=8,
               dataset=DATASETS["fg"], verbose=0)
  cli.main(["evaluate", "fg", "--model", str(tmp_path / "model.keras"),
            "--data-dir", str(data_dir), "--dataset", DATASETS["fg"]])
  printed = json.loads(capsys.readouterr().out)
  assert {"mean_image_jaccard", "foreground_iou"} <= set(printed)


def test_killed_training_resumes_where_it_stopped(data_dir, tmp_path):
  run = tmp_path / "run"
  command = [sys.executable, "-m", "training", "train", "fg", "--out", str(run),
             "--data-dir", str(data_dir), "--dataset", DATASETS["fg"],
             "--epochs", "40", "--batch-size", "4", "--quiet"]
  proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, cwd=REPO)
  deadline = time.monotonic() + 300
  while not (run / "backup").exists() or not _losses_or_empty(run):
    assert proc.poll() is None, "training ended before it could be killed"
    assert time.monotonic() < deadline
    time.sleep(0.2)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert not (run / runner.MODEL_FILE).exists()
  subprocess.run(command, check=True, capture_output=True, cwd=REPO)
  with open(run / runner.LOG_FILE, newline="") as f:
    epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
  # One process started at epoch 0, the second carried on from a later one.
  assert epochs[0] == 0 and epochs[-1] == 39
  restarts = [i for i in range(1, len(epochs)) if epochs[i] <= epochs[i - 1]]
  assert all(epochs[i] > 0 for i in restarts)
  keras.saving.load_model(run / runner.MODEL_FILE, safe_mode=True)


def _losses_or_empty(run):
  return (run / runner.LOG_FILE).exists() and _losses(run)
