"""mnist-derived score: the real console script on dummy builds."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tests.conftest import DUMMY_BUILDS
from tests.conftest import DUMMY_SCATTER
from tests.conftest import REPO
from tests.commands import command

def score_command(dataset):
  """The scorer command line for a dataset."""
  return command("score", dataset)


def _run(dataset, predictions, data_dir, *extra):
  return subprocess.Popen(
      [*score_command(dataset), "--predictions", str(predictions), "--data_dir",
       str(data_dir), *extra], cwd=REPO, stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, text=True)


def _finish(proc):
  out, err = proc.communicate(timeout=300)
  return proc.returncode, out, err


def _truth(dataset, data_dir):
  """Every example of the test split, as tfds.load decodes it, by index."""
  import tests.builder_testing  # noqa: F401
  ds = tfds.load(dataset, split="test", data_dir=data_dir, batch_size=-1)
  ex = tfds.as_numpy(ds)
  order = np.argsort(ex["index"])
  return {k: v[order] for k, v in ex.items() if not isinstance(v, dict)}


def _perfect(task, truth):
  if task == "circles":
    return {"label": truth["label"], "circle": truth["circle"]}
  return {"mask": truth["mask"][..., 0]}


def _save(path, index, arrays):
  np.savez(path, index=index, **arrays)
  return path


@pytest.fixture(scope="module")
def truths(dummy_data_dir):
  return {task: _truth(name, dummy_data_dir)
          for task, name in DUMMY_BUILDS.items()}


def test_importing_the_evaluation_loads_no_tensorflow():
  code = ("import sys, mnist_derived, mnist_derived.evaluation.metrics,"
          " mnist_derived.evaluation.predictions, mnist_derived.evaluation.score;"
          " print(sorted(m for m in sys.modules if m.split('.')[0] in"
          " ('tensorflow', 'keras')))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, check=True, cwd=REPO).stdout
  assert out.strip() == "[]"


@pytest.mark.slow
def test_perfect_and_hand_computed_scores(truths, dummy_data_dir, tmp_path):
  rng = np.random.default_rng(0)
  procs = {}
  for task, dataset in DUMMY_BUILDS.items():
    truth = truths[task]
    n = len(truth["index"])
    shuffled = rng.permutation(n)  # any order of rows is fine
    perfect = {k: v[shuffled] for k, v in _perfect(task, truth).items()}
    procs[task, "perfect"] = _run(dataset, _save(
        tmp_path / f"{task}-perfect.npz", shuffled, perfect), dummy_data_dir,
        "--json", str(tmp_path / f"{task}.json"))
    # One flawed example (index 0) or a trivial model, scored by hand below.
    flawed = _perfect(task, truth)
    if task == "fg":
      flawed["mask"] = flawed["mask"].astype(np.float32) * 0.9  # probabilities
      flawed["mask"][0] = 0.4  # below 0.5: all background
    elif task == "circles":
      flawed["label"] = flawed["label"].copy()
      flawed["label"][0] = (flawed["label"][0] + 1) % 10
    else:
      flawed["mask"] = np.zeros_like(flawed["mask"])  # all background
    procs[task, "flawed"] = _run(dataset, _save(
        tmp_path / f"{task}-flawed.npz", np.arange(n), flawed), dummy_data_dir)
  results = {key: _finish(proc) for key, proc in procs.items()}
  for key, (code, out, err) in results.items():
    assert code == 0, (key, err)
  scores = {key: json.loads(out) for key, (_, out, _) in results.items()}
  perfect_keys = {
      "fg": ["mean_image_jaccard", "mean_image_dice", "foreground_iou",
             "foreground_dice", "pixel_accuracy"],
      "circles": ["accuracy", "disc_jaccard", "disc_jaccard_reference",
                  "disc_jaccard_reference_pixels", "disc_jaccard_correct"],
      "mosaic": ["mean_iou", "pixel_accuracy", "reference_jaccard_1000"],
  }
  for task, keys in perfect_keys.items():
    for key in keys:
      assert scores[task, "perfect"][key] == 1.0, (task, key)
    written = json.loads((tmp_path / f"{task}.json").read_text())
    assert written == scores[task, "perfect"]

  n_fg = len(truths["fg"]["index"])
  assert scores["fg", "flawed"]["mean_image_jaccard"] == pytest.approx(
      (n_fg - 1) / n_fg)  # truth masks are never empty
  n_ci = len(truths["circles"]["index"])
  assert scores["circles", "flawed"]["accuracy"] == pytest.approx(
      (n_ci - 1) / n_ci)
  assert scores["circles", "flawed"]["disc_jaccard_reference"] == (
      pytest.approx((n_ci - 1) / n_ci))
  assert scores["circles", "flawed"]["disc_jaccard"] == 1.0
  true_mosaic = truths["mosaic"]["mask"]
  background = np.mean(true_mosaic == 0)
  present = len(np.unique(true_mosaic))
  mosaic = scores["mosaic", "flawed"]
  assert mosaic["pixel_accuracy"] == pytest.approx(background)
  assert mosaic["mean_iou"] == pytest.approx(background / present)


def _bad_cases(truth, n):
  """(name, arrays to save, or raw bytes, phrase the message holds)."""
  mask = truth["mask"][..., 0].astype(np.uint8)
  index = np.arange(n)
  return [
      ("missing indices", dict(index=index[1:], mask=mask[1:]),
       "'index' lacks 1 of the"),
      ("duplicate index", dict(index=np.r_[index[:-1], 0], mask=mask),
       "duplicate indices, first 0"),
      ("unknown index", dict(index=np.r_[index[:-1], n + 5], mask=mask),
       f"unknown indices (the test split has 0..{n - 1}), first {n + 5}"),
      ("float index", dict(index=index.astype(float), mask=mask),
       "'index' must be a 1-D integer array"),
      ("wrong shape", dict(index=index, mask=mask[:, :20]),
       "'mask' has shape"),
      ("wrong dtype", dict(index=index, mask=mask.astype("U1")),
       "must be bool, 0/1 integers or float"),
      ("nan", dict(index=index, mask=np.where(mask, np.nan, 0.0)),
       "NaN or infinite values"),
      ("infinite", dict(index=index, mask=np.where(mask, np.inf, 0.0)),
       "NaN or infinite values"),
      ("not binary", dict(index=index, mask=mask * 3),
       "values other than 0 and 1"),
      ("missing array", dict(index=index), "missing array 'mask'"),
      ("extra array", dict(index=index, mask=mask, logits=mask),
       "unexpected array 'logits'"),
      ("object array", None, "not an .npz file"),
      ("not npz", b"index,mask\n0,1\n", "not an .npz file"),
      ("rows disagree", dict(index=index, mask=mask[:-1]), "has"),
  ]


@pytest.mark.slow
def test_bad_predictions_are_refused_in_one_line(truths, dummy_data_dir,
                                                 tmp_path):
  n = len(truths["fg"]["index"])
  cases = _bad_cases(truths["fg"], n)
  circles = truths["circles"]
  n_ci = len(circles["index"])
  mosaic = truths["mosaic"]["mask"][..., 0]
  extra = [
      ("negative radius", "circles", dict(
          index=np.arange(n_ci), label=circles["label"],
          circle=circles["circle"] * np.array([1, 1, -1], np.float32)),
       "negative radii"),
      ("label out of range", "circles", dict(
          index=np.arange(n_ci), label=circles["label"] + 10,
          circle=circles["circle"]), "class ids outside [0, 10)"),
      ("class id out of range", "mosaic", dict(
          index=np.arange(len(mosaic)), mask=mosaic.astype(np.int64) + 11),
       "class ids outside [0, 11)"),
      ("float class ids", "mosaic", dict(
          index=np.arange(len(mosaic)), mask=mosaic.astype(np.float32)),
       "integer class ids"),
      ("negative instance ids", "mosaic", dict(
          index=np.arange(len(mosaic)), instances=-mosaic.astype(np.int64)),
       "'instances' holds"),
      ("float instance ids", "mosaic", dict(
          index=np.arange(len(mosaic)), instances=mosaic.astype(np.float32)),
       "'instances' must hold integer object ids"),
      ("instances of another shape", "mosaic", dict(
          index=np.arange(len(mosaic)), instances=mosaic[:, :3]),
       "'instances' has shape"),
      ("neither mask nor instances", "mosaic", dict(
          index=np.arange(len(mosaic))), "missing array 'mask', 'instances' or 'labels'"),
  ]
  procs = []
  for name, arrays, phrase in [(c[0], c[1], c[2]) for c in cases]:
    path = tmp_path / f"{name.replace(' ', '_')}.npz"
    if isinstance(arrays, bytes):
      path.write_bytes(arrays)
    elif arrays is None:
      np.save(path.with_suffix(".npy"), np.array([{"a": 1}], dtype=object))
      path.with_suffix(".npy").rename(path)
    else:
      np.savez(path, **arrays)
    procs.append((name, "fg", path, phrase))
  for name, task, arrays, phrase in extra:
    path = tmp_path / f"{name.replace(' ', '_')}.npz"
    np.savez(path, **arrays)
    procs.append((name, task, path, phrase))
  for start in range(0, len(procs), 4):  # a few at a time on 2 cores
    running = [(case, _run(DUMMY_BUILDS[case[1]], case[2], dummy_data_dir,
                           "--json", str(tmp_path / f"{case[0]}.json")))
               for case in procs[start:start + 4]]
    for (name, _, path, phrase), proc in running:
      code, out, err = _finish(proc)
      assert code == 2, (name, err)
      assert out == "", name
      lines = err.strip().splitlines()
      assert len(lines) == 1, (name, err)
      assert lines[0].startswith(f"error: {path}: "), (name, lines[0])
      assert phrase in lines[0], (name, lines[0])
      assert not (tmp_path / f"{name}.json").exists(), name


def test_unbuilt_dataset_is_one_line(tmp_path):
  proc = _run("mnist_fg/mnist", tmp_path / "p.npz", tmp_path / "empty")
  code, _, err = _finish(proc)
  assert code == 1
  lines = err.strip().splitlines()
  assert len(lines) == 1 and "is not built in" in lines[0]
  assert "mnist-derived build mnist_fg/mnist --data_dir" in lines[0]


def _scatter_truth(data_dir):
  """The scattered test mosaics by index: instances, classes, counts."""
  import tests.builder_testing  # noqa: F401  pylint: disable=g-import-not-at-top
  from mnist_derived import decoding  # pylint: disable=g-import-not-at-top
  builder = tfds.builder(DUMMY_SCATTER, data_dir=data_dir)
  examples = sorted(decoding.stored_examples(builder, "test"),
                    key=lambda ex: ex["index"])
  return {"index": np.array([ex["index"] for ex in examples]),
          "instances": np.stack([ex["instances"][..., 0] for ex in examples]
                                ).astype(np.int64),
          "mask": np.stack([ex["mask"][..., 0] for ex in examples]),
          "labels": [ex["objects"]["label"] for ex in examples],
          "num_digits": np.array([ex["num_digits"] for ex in examples])}


def _merged(truth):
  """Predictions that merge the first two objects of every other image and
  call every object of every third image a 0."""
  instances, mask = truth["instances"].copy(), truth["mask"].copy()
  instances[::2][instances[::2] == 2] = 1
  mask[::3][mask[::3] > 0] = 1
  return instances, mask


@pytest.mark.slow
def test_instance_scores_through_the_command(dummy_data_dir, tmp_path):
  from sklearn import metrics as sk_metrics  # pylint: disable=g-import-not-at-top
  from tests.test_instances import _brute_force_pq  # pylint: disable=g-import-not-at-top
  truth = _scatter_truth(dummy_data_dir)
  perfect = _save(tmp_path / "perfect.npz", truth["index"][::-1],
                  {"instances": (truth["instances"] * 7)[::-1],
                   "mask": truth["mask"][::-1]})
  instances, mask = _merged(truth)
  merged = _save(tmp_path / "merged.npz", truth["index"],
                 {"instances": instances, "mask": mask})
  alone = _save(tmp_path / "alone.npz", truth["index"],
                {"instances": instances})
  got = {}
  for name, path in [("perfect", perfect), ("merged", merged),
                     ("alone", alone)]:
    code, out, err = _finish(_run(DUMMY_SCATTER, path, dummy_data_dir))
    assert code == 0, err
    got[name] = json.loads(out)
  for key in ("pq", "sq", "rq", "agnostic_pq", "fg_ari", "ari", "mbo",
              "count_accuracy", "mean_iou"):
    assert got["perfect"][key] == 1.0, key
  true_classes = [{k + 1: c for k, c in enumerate(l)} for l in truth["labels"]]
  pred_classes = []
  for i, image in enumerate(instances):
    classes = {}
    for k in np.unique(image[image > 0]):
      values = mask[i][image == k]
      classes[k] = np.bincount(values[values > 0]).argmax() - 1
    pred_classes.append(classes)
  pq, sq, rq = _brute_force_pq(instances, truth["instances"], true_classes,
                               pred_classes, range(10))
  assert (got["merged"]["pq"], got["merged"]["sq"], got["merged"]["rq"]) == (
      pytest.approx((pq, sq, rq)))
  fg = [sk_metrics.adjusted_rand_score(t[t > 0], p[t > 0])
        for t, p in zip(truth["instances"], instances) if (t > 0).any()]
  assert got["merged"]["fg_ari"] == pytest.approx(np.mean(fg))
  assert "pq" not in got["alone"] and "mean_iou" not in got["alone"]
  assert got["alone"]["agnostic_pq"] == got["merged"]["agnostic_pq"] < 1.0
