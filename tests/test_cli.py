"""The `mnist-derived` command: its verbs, with and without TensorFlow."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived import decoding
from mnist_derived import fingerprint
from mnist_derived.cli import VERBS
from tests.commands import MNIST_DERIVED
from tests.conftest import DUMMY_BUILDS
from tests.conftest import DUMMY_DATA
from tests.conftest import DUMMY_SCATTER
from tests.conftest import REPO

WITHOUT_TF = [sys.executable, str(REPO / "tests" / "without_tensorflow.py")]


def _run(command, *args, check=True):
  # TensorFlow's start-up lines held back, as for a user who did not ask.
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  proc = subprocess.run([*command, *map(str, args)], capture_output=True,
                        text=True, cwd=REPO, timeout=600, env=env)
  if check:
    assert proc.returncode == 0, proc.stderr[-3000:]
  return proc


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_has_help_without_tensorflow(verb):
  proc = _run(WITHOUT_TF, verb, "--help")
  assert proc.stdout.startswith(f"usage: mnist-derived {verb}")
  assert VERBS[verb][1][1:] in " ".join(proc.stdout.split())


def test_the_task_names_are_the_tasks():
  from mnist_derived.cli import train  # pylint: disable=g-import-not-at-top
  from training import tasks  # pylint: disable=g-import-not-at-top
  assert train.TASK_NAMES == tuple(sorted(tasks.TASKS))


def test_python_dash_m_is_the_command():
  from mnist_derived import __version__  # pylint: disable=g-import-not-at-top
  module = _run([sys.executable, "-m", "mnist_derived"], "--version")
  script = _run([MNIST_DERIVED], "--version")
  assert module.stdout.strip() == script.stdout.strip() == __version__
  training = _run([sys.executable, "-m", "training"], "evaluate", "--help")
  assert training.stdout == _run([MNIST_DERIVED], "evaluate", "--help").stdout


@pytest.fixture(scope="module")
def built_without_tf(tmp_path_factory):
  """mnist_fg/mnist and the tiny scattered mosaics, built by the command as
  if TensorFlow were not installed."""
  data = tmp_path_factory.mktemp("no_tf")
  proc = _run(WITHOUT_TF, "build", "mnist_fg/mnist", DUMMY_SCATTER,
              "--manual_dir", DUMMY_DATA, "--data_dir", data)
  return data, proc.stdout


def test_build_without_tensorflow_writes_array_record_with_tfds_values(
    built_without_tf, dummy_data_dir):
  data, out = built_without_tf
  lines = out.strip().splitlines()
  assert len(lines) == 2
  assert lines[0].startswith("mnist_fg/mnist/1.0.0 built in ")
  assert " (array_record) in " in lines[0]
  # Each split's examples, as many as the build holds, and its time.
  import tests.builder_testing  # noqa: F401  pylint: disable=g-import-not-at-top
  for line, name in zip(lines, ("mnist_fg/mnist", DUMMY_SCATTER)):
    built = tfds.builder(name, data_dir=data)
    for split, info in built.info.splits.items():
      assert re.search(f"{split} {info.num_examples} examples in [0-9.]+ s",
                       line), line
  import tests.builder_testing  # noqa: F401  pylint: disable=g-import-not-at-top
  for name in ("mnist_fg/mnist", DUMMY_SCATTER):
    built = tfds.builder(name, data_dir=data)
    assert decoding.is_array_record(built)
    # The same examples as TFDS's own tfrecord build of the same config.
    assert fingerprint.builder_fingerprints(built) == \
        fingerprint.dataset_fingerprints(name, dummy_data_dir)


def test_a_second_build_reports_what_is_there(built_without_tf):
  data, _ = built_without_tf
  proc = _run(WITHOUT_TF, "build", "mnist_fg/mnist", "--data_dir", data)
  assert proc.stdout.startswith("mnist_fg/mnist/1.0.0 already built"
                                " (array_record) in ")
  assert " examples in " not in proc.stdout


def test_verify_without_tensorflow(built_without_tf, dummy_data_dir):
  data, _ = built_without_tf
  proc = _run(WITHOUT_TF, "verify", "mnist_fg/mnist", "--data_dir", data,
              check=False)
  want = fingerprint.dataset_fingerprints("mnist_fg/mnist", dummy_data_dir)
  published = fingerprint.published_fingerprints()["mnist_fg/mnist/1.0.0"]
  # Built from dummy data, not real MNIST: it differs from what is published.
  assert proc.returncode == 1
  assert proc.stdout.splitlines() == [
      f"mnist_fg/mnist/1.0.0 {split} {value} DIFFERS from the published"
      f" {published[split]}" for split, value in sorted(want.items())]


def _perfect_predictions(name, data_dir, path):
  import tests.builder_testing  # noqa: F401  pylint: disable=g-import-not-at-top
  built = tfds.builder(name, data_dir=data_dir)
  examples = list(decoding.stored_examples(built, "test"))
  arrays = {"index": np.array([ex["index"] for ex in examples])}
  arrays["mask"] = np.stack([ex["mask"][..., 0] for ex in examples])
  np.savez(path, **arrays)
  return len(examples)


@pytest.mark.parametrize("name", ["mnist_fg/mnist", DUMMY_SCATTER])
def test_score_without_tensorflow(name, built_without_tf, tmp_path):
  data, _ = built_without_tf
  count = _perfect_predictions(name, data, tmp_path / "p.npz")
  proc = _run(WITHOUT_TF, "score", name, "--predictions", tmp_path / "p.npz",
              "--data_dir", data)
  scores = json.loads(proc.stdout)
  assert scores["examples"] == count
  key = "mean_image_jaccard" if name.startswith("mnist_fg") else "mean_iou"
  assert scores[key] == 1.0


def test_exports_and_show_without_tensorflow(built_without_tf, tmp_path):
  data, _ = built_without_tf
  out = tmp_path / "hf"
  _run(WITHOUT_TF, "export", DUMMY_SCATTER, "--format", "parquet", "--out",
       out, "--data_dir", data)
  _run(WITHOUT_TF, "export", DUMMY_SCATTER, "--format", "croissant", "--out",
       out, "--data_dir", data)
  _run(WITHOUT_TF, "export", DUMMY_SCATTER, "--format", "coco", "--out",
       tmp_path / "coco", "--data_dir", data)
  _run(WITHOUT_TF, "show", DUMMY_SCATTER, "--num", "4", "--out",
       tmp_path / "s.png", "--data_dir", data)
  assert (out / "croissant.json").exists() and (tmp_path / "s.png").exists()
  coco = json.loads((tmp_path / "coco" / "annotations" /
                     "instances_test.json").read_text())
  import datasets  # pylint: disable=g-import-not-at-top
  assert len(datasets.load_dataset(str(out))["test"]) == len(coco["images"])


@pytest.mark.parametrize("verb", ["train", "evaluate"])
def test_training_without_tensorflow_is_one_line(verb, tmp_path):
  extra = ("--out", tmp_path) if verb == "train" else ("--model", "m.keras")
  proc = _run(WITHOUT_TF, verb, "fg", *extra, check=False)
  assert proc.returncode == 1
  assert proc.stderr.strip().splitlines() == [
      f"error: `mnist-derived {verb}` needs TensorFlow, which is not"
      " installed: pip install 'mnist-derived[tensorflow]'"]


def test_a_tfrecord_build_without_tensorflow_is_one_line(tmp_path):
  proc = _run(WITHOUT_TF, "build", "mnist_fg/mnist", "--file_format",
              "tfrecord", "--data_dir", tmp_path, check=False)
  assert proc.returncode == 1
  [line] = proc.stderr.strip().splitlines()
  assert "--file_format tfrecord needs TensorFlow" in line
  assert "--file_format array_record" in line
  assert list(tmp_path.iterdir()) == []


def test_reading_a_tfrecord_build_without_tensorflow_is_one_line(
    dummy_data_dir):
  proc = _run(WITHOUT_TF, "verify", "mnist_fg/mnist", "--data_dir",
              dummy_data_dir, check=False)
  assert proc.returncode == 1
  [line] = proc.stderr.strip().splitlines()
  assert "mnist_fg/mnist is built as tfrecord, which needs TensorFlow" in line


@pytest.mark.parametrize("name, closest", [
    ("mnist_mosaic/scater", "mnist_mosaic/scatter"),
    ("mnist_mosiac/2x2", "mnist_mosaic/2x2"),
    ("mnist_fg/kmnst", "mnist_fg/kmnist"),
])
def test_a_misspelt_name_gets_the_closest_real_one(name, closest, tmp_path):
  proc = _run(WITHOUT_TF, "build", name, "--data_dir", tmp_path, check=False)
  assert proc.returncode == 1
  [line] = proc.stderr.strip().splitlines()
  # The closest real name first, then TFDS's own list.
  assert line.startswith(f"error: {name}: did you mean {closest}")
  assert "{" not in line  # none of TFDS's builder arguments


def test_the_command_with_tensorflow_builds_what_tfds_build_builds(
    tmp_path, dummy_data_dir):
  proc = _run([MNIST_DERIVED], "build", "mnist_circles/mnist", "--manual_dir",
              DUMMY_DATA, "--data_dir", tmp_path)
  assert " (tfrecord) in " in proc.stdout
  assert proc.stderr == ""  # no TensorFlow start-up lines, no progress bars
  assert fingerprint.dataset_fingerprints("mnist_circles/mnist", tmp_path) == \
      fingerprint.dataset_fingerprints("mnist_circles/mnist", dummy_data_dir)
