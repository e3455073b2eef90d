"""What a newcomer met in the first hour, through the real command."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from mnist_derived.core import sources
from tests.commands import MNIST_DERIVED
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO


def _run(*args, env=None):
  env = {k: v for k, v in (env or os.environ).items()
         if k != "TF_CPP_MIN_LOG_LEVEL"}
  return subprocess.run([MNIST_DERIVED, *map(str, args)], capture_output=True,
                        text=True, cwd=REPO, timeout=900, env=env)


def _resolves(url):
  try:
    socket.getaddrinfo(sources.urllib.parse.urlsplit(url).hostname, None)
    return True
  except socket.gaierror:
    return False


offline = pytest.mark.skipif(
    _resolves(sources.SOURCES["mnist"].url),
    reason="the MNIST mirror resolves here: not offline")


@offline
def test_an_unbuilt_dataset_offline_fails_at_once_in_one_line(tmp_path):
  proc = _run("build", "mnist_fg/mnist", "--data_dir", tmp_path)
  assert proc.returncode == 1
  [line] = proc.stderr.strip().splitlines()
  assert line.startswith("error: mnist: cannot download from https://")
  assert "does not resolve" in line and "--manual_dir <folder>" in line
  assert "DownloadConfig(manual_dir=<folder>)" in line
  # Nothing but the metadata TFDS writes when it makes a builder.
  assert [p for p in tmp_path.rglob("*")
          if p.is_file() and ".config" not in p.parts] == []


@offline
def test_tfds_load_offline_fails_at_once_with_the_python_advice(tmp_path):
  code = ("import mnist_derived, tensorflow_datasets as tfds;"
          f" tfds.load('mnist_fg', split='test', data_dir={str(tmp_path)!r})")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                        text=True, cwd=REPO, timeout=300)
  assert proc.returncode == 1
  last = proc.stderr.strip().splitlines()[-1]
  assert "DownloadFailedError" in last and "download_and_prepare_kwargs" in last
  # Nothing but the metadata TFDS writes when it makes a builder.
  assert [p for p in tmp_path.rglob("*")
          if p.is_file() and ".config" not in p.parts] == []


@pytest.mark.slow
def test_a_quick_run_scores_the_whole_test_split_into_a_new_folder(tmp_path):
  results = tmp_path / "not" / "yet" / "fg.json"
  data = tmp_path / "data"
  proc = _run("train", "fg", "--out", tmp_path / "run", "--results", results,
              "--manual_dir", DUMMY_DATA, "--data_dir", data, "--epochs", "1",
              "--limit", "8", "--batch-size", "4", "--quiet")
  assert proc.returncode == 0, proc.stderr[-3000:]
  report = json.loads(results.read_text())
  scored = _run("score", "mnist_fg/mnist", "--predictions",
                tmp_path / "run" / "predictions-test.npz", "--data_dir", data)
  assert scored.returncode == 0, scored.stderr
  scores = json.loads(scored.stdout)
  test_size = len(sources.idx.read_labels(
      DUMMY_DATA / "mnist" / "t10k-labels-idx1-ubyte.gz", 10))
  assert scores["examples"] == report["examples"] == test_size
  assert scores["mean_image_jaccard"] == report["mean_image_jaccard"]


def test_a_results_file_that_cannot_be_written_is_refused_before_training(
    tmp_path, dummy_data_dir):
  blocker = tmp_path / "a_file"
  blocker.write_text("")
  proc = _run("train", "fg", "--out", tmp_path / "run", "--results",
              blocker / "fg.json", "--data_dir", dummy_data_dir)
  assert proc.returncode == 1
  [line] = proc.stderr.strip().splitlines()
  assert line == f"error: {blocker}: is a file, not a folder"
  assert not (tmp_path / "run").exists()


def test_a_bad_predictions_file_is_refused_before_tensorflow_starts(
    tmp_path, dummy_data_dir):
  bad = tmp_path / "bad.npz"
  np.savez(bad, index=np.arange(3), mask=np.zeros((3, 28, 28)))
  code = ("import sys; from mnist_derived.cli import main\n"
          "try:\n  main(sys.argv[1:])\n"
          "finally:\n  print('tensorflow' in sys.modules)")
  proc = subprocess.run(
      [sys.executable, "-c", code, "score", "mnist_fg/mnist", "--predictions",
       str(bad), "--data_dir", str(dummy_data_dir)], capture_output=True,
      text=True, cwd=REPO, timeout=300)
  assert proc.returncode == 2
  assert proc.stdout.strip() == "False"
  [line] = proc.stderr.strip().splitlines()
  assert line.startswith(f"error: {bad}: 'index' lacks")


@pytest.mark.parametrize("verb, wanted", [
    ("score", "the split (default: test)"),
    ("show", "the split (default: test)"),
    ("evaluate", "the split (default: test)"),
    ("export", "coco (mosaic datasets only)"),
    ("train", "the test split is always scored whole"),
])
def test_help_says_defaults_and_limits(verb, wanted):
  proc = _run(verb, "--help")
  assert proc.returncode == 0
  assert wanted in " ".join(proc.stdout.split())


def test_the_skipped_real_data_checks_say_how_to_turn_them_on(tmp_path):
  env = dict(os.environ, MNIST_DIR=str(tmp_path / "nowhere"))
  env.pop("MNIST_DERIVED_DATA_DIR", None)
  summaries = []
  for tests in (["tests/test_real_datasets.py"],
                ["tests/test_idx.py", "-m", "not slow"]):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-rs", *tests], capture_output=True, text=True, cwd=REPO, env=env,
        timeout=600)
    summaries.append(" ".join(proc.stdout.split()))
  assert "set MNIST_DERIVED_DATA_DIR=DIR" in summaries[0]
  assert "set MNIST_DIR to the folder of its four IDX files" in summaries[1]
