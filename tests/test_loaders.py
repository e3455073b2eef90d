"""PyTorch and grain loaders of array_record builds, against tfds.load."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived import loaders
from tests.conftest import DUMMY_BUILDS
from tests.conftest import DUMMY_DATA
from tests.conftest import DUMMY_SCATTER
from tests.conftest import REPO
from tests.test_score import SCORE

torch = pytest.importorskip("torch")
grain = pytest.importorskip("grain")


@pytest.fixture(scope="module")
def array_record_dir(tmp_path_factory):
  """The dummy builds again, as array_record."""
  import tests.builder_testing  # noqa: F401
  path = tmp_path_factory.mktemp("array_record")
  for name in [*DUMMY_BUILDS.values(), DUMMY_SCATTER]:
    tfds.builder(name, data_dir=path, file_format="array_record"
                 ).download_and_prepare(download_config=tfds.download.
                                        DownloadConfig(manual_dir=str(DUMMY_DATA)))
  return path


def _flat(example, prefix=""):
  for key, value in example.items():
    if isinstance(value, dict):
      yield from _flat(value, f"{prefix}{key}/")
    else:
      yield f"{prefix}{key}", value


def _tfds_load_by_index(name, split, data_dir):
  """{index: {feature path: array}} as tfds.load decodes a tfrecord build."""
  import tests.builder_testing  # noqa: F401
  return {int(ex["index"]): dict(_flat(ex)) for ex in tfds.as_numpy(
      tfds.load(name, split=split, data_dir=data_dir))}


def _assert_same(got, want):
  assert set(got) == set(want)
  for key in want:
    got_value = np.asarray(got[key])
    assert got_value.dtype == want[key].dtype, key
    np.testing.assert_array_equal(got_value, want[key], err_msg=key)


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(DUMMY_BUILDS))
def test_torch_loader_with_two_workers_gives_tfds_load_examples(
    task, array_record_dir, dummy_data_dir):
  name = DUMMY_BUILDS[task]
  want = _tfds_load_by_index(name, "train", dummy_data_dir)
  batches = loaders.torch_loader(name, "train", batch_size=4, num_workers=2,
                                 seed=0, data_dir=array_record_dir)
  orders = []
  for _ in range(2):  # two epochs: each a new permutation of every index
    seen = []
    for batch in batches:
      flat = dict(_flat(batch))
      assert all(isinstance(v, torch.Tensor) for v in flat.values())
      for row in range(len(flat["index"])):
        example = {k: v[row].numpy() for k, v in flat.items()}
        _assert_same(example, want[int(example["index"])])
        seen.append(int(example["index"]))
    assert sorted(seen) == sorted(want)
    orders.append(seen)
  assert orders[0] != orders[1]
  assert "tensorflow" not in _modules_after_loading(name, array_record_dir)


@pytest.mark.slow
def test_torch_loader_keeps_variable_objects_per_example(array_record_dir,
                                                         dummy_data_dir):
  want = _tfds_load_by_index(DUMMY_SCATTER, "train", dummy_data_dir)
  counts = {len(ex["objects/label"]) for ex in want.values()}
  assert len(counts) > 1  # the tiny build really varies
  seen = []
  for batch in loaders.torch_loader(DUMMY_SCATTER, "train", batch_size=4,
                                    num_workers=2, seed=0,
                                    data_dir=array_record_dir):
    assert len(batch["objects"]) == len(batch["index"])
    for row, objects in enumerate(batch["objects"]):
      example = {k: v[row].numpy() for k, v in batch.items()
                 if k != "objects"}
      example.update({f"objects/{k}": v.numpy() for k, v in objects.items()})
      _assert_same(example, want[int(example["index"])])
      seen.append(int(example["index"]))
  assert sorted(seen) == sorted(want)


def _modules_after_loading(name, data_dir):
  code = ("import sys, tests.builder_testing; from mnist_derived import loaders;"
          f" s = loaders.ExampleSource({name!r}, 'test', {str(data_dir)!r});"
          " [s[i] for i in range(len(s))];"
          " print(' '.join(m.split('.')[0] for m in sys.modules))")
  return subprocess.run([sys.executable, "-c", code], capture_output=True,
                        text=True, check=True, cwd=REPO).stdout.split()


@pytest.mark.parametrize("task", sorted(DUMMY_BUILDS))
def test_grain_pipeline_gives_tfds_load_examples(task, array_record_dir,
                                                 dummy_data_dir):
  name = DUMMY_BUILDS[task]
  want = _tfds_load_by_index(name, "test", dummy_data_dir)
  orders = []
  for epoch in range(2):
    ds = loaders.grain_dataset(name, "test", data_dir=array_record_dir,
                               seed=epoch)
    seen = []
    for example in ds.to_iter_dataset():
      example = dict(_flat(example))
      _assert_same(example, want[int(example["index"])])
      seen.append(int(example["index"]))
    assert sorted(seen) == sorted(want)
    orders.append(seen)
  assert orders[0] != orders[1]


def test_a_tfrecord_build_says_how_to_get_random_access(dummy_data_dir):
  from mnist_derived.core import errors
  with pytest.raises(errors.InputError, match="--file_format array_record"):
    loaders.ExampleSource("mnist_fg/mnist", "test", dummy_data_dir)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["fg", "circles"])
def test_a_pytorch_model_trains_and_is_scored(task, array_record_dir,
                                              tmp_path):
  # A process of its own: torch's optimisers load triton, which crashes in a
  # process that has loaded TensorFlow (as this one has).
  path = tmp_path / f"torch-{task}.npz"
  train = subprocess.run(
      [sys.executable, "leaderboard/pytorch_model.py", task, "--data_dir",
       str(array_record_dir), "--out", str(path), "--epochs", "1",
       "--batch-size", "8"], capture_output=True, text=True, cwd=REPO)
  assert train.returncode == 0, train.stderr[-3000:]
  assert "epoch 1: loss" in train.stdout
  name = DUMMY_BUILDS[task]
  proc = subprocess.run(
      [SCORE, name, "--predictions", str(path),
       "--data_dir", str(array_record_dir)], capture_output=True, text=True,
      cwd=REPO)
  assert proc.returncode == 0, proc.stderr[-2000:]
  scores = json.loads(proc.stdout)
  # The scores are those of the file's predictions, recomputed here against
  # the test split as tfds.load reads it.
  preds = dict(np.load(path))
  source = loaders.ExampleSource(name, "test", array_record_dir)
  by_index = {int(ex["index"]): ex for ex in (source[i] for i in range(
      len(source)))}  # records are stored in TFDS's order, not by index
  want = [by_index[int(i)] for i in preds["index"]]
  if task == "fg":
    pred = preds["mask"] >= 0.5
    true = np.stack([ex["mask"][..., 0] for ex in want]).astype(bool)
    inter = (pred & true).sum(axis=(1, 2))
    union = (pred | true).sum(axis=(1, 2))
    assert scores["mean_image_jaccard"] == pytest.approx(
        np.mean(np.where(union == 0, 1, inter / np.maximum(union, 1))))
  else:
    labels = np.array([ex["label"] for ex in want])
    assert scores["accuracy"] == pytest.approx(
        np.mean(preds["label"] == labels))
    centers = np.stack([ex["circle"][:2] for ex in want])
    assert scores["center_error_mean"] == pytest.approx(np.mean(
        np.linalg.norm(preds["circle"][:, :2] - centers, axis=1)))
  assert scores["examples"] == len(want)
