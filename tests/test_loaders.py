"""PyTorch and grain loaders of decoded splits, against tfds.load."""

import json
import os
import pathlib
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived import loaders
from tests import mounts
from tests.conftest import DUMMY_BUILDS
from tests.conftest import DUMMY_DATA
from tests.conftest import DUMMY_SCATTER
from tests.conftest import REPO
from tests.commands import command

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


def _examples_of_batch(batch):
  """The examples of one loader batch, each as {feature path: numpy}."""
  batch = {k: (v.numpy() if hasattr(v, "numpy") else v)
           for k, v in batch.items()}
  # Variable-length objects come as a sequence of one dict per example; a
  # grid's fixed count stacks like any other feature.
  objects = batch.pop("objects") if isinstance(
      batch.get("objects"), loaders.ExampleRows) else None
  flat = dict(_flat(batch))
  for row in range(len(flat["index"])):
    example = {k: np.asarray(v[row]) for k, v in flat.items()}
    if objects is not None:
      example.update({f"objects/{k}": np.asarray(v)
                      for k, v in objects[row].items()})
    yield example


def _check_epochs(epochs, want):
  """Each epoch holds tfds.load's examples, every index once; the two
  epochs' orders differ."""
  orders = []
  for batches in epochs:
    seen = []
    for batch in batches:
      for example in _examples_of_batch(batch):
        _assert_same(example, want[int(example["index"])])
        seen.append(int(example["index"]))
    assert sorted(seen) == sorted(want)
    orders.append(seen)
  assert orders[0] != orders[1]
  return orders


ALL = [*DUMMY_BUILDS.values(), DUMMY_SCATTER]


@pytest.mark.parametrize("name", ALL)
def test_torch_loader_gives_tfds_load_examples(name, array_record_dir,
                                               dummy_data_dir):
  want = _tfds_load_by_index(name, "train", dummy_data_dir)
  batches = loaders.torch_loader(name, "train", batch_size=4, seed=0,
                                 data_dir=array_record_dir)
  orders = _check_epochs([batches, batches], want)
  again = list(loaders.torch_loader(name, "train", batch_size=4, seed=0,
                                    data_dir=array_record_dir))
  assert [int(i) for b in again for i in b["index"]] == orders[0]  # seeded
  for batch in again:
    assert all(isinstance(v, torch.Tensor) for k, v in _flat(batch)
               if k != "objects")
    if isinstance(batch.get("objects"), loaders.ExampleRows):
      assert all(isinstance(v, torch.Tensor) for objects in batch["objects"]
                 for v in objects.values())


@pytest.mark.slow
def test_torch_loader_with_two_workers(array_record_dir, dummy_data_dir):
  want = _tfds_load_by_index(DUMMY_SCATTER, "train", dummy_data_dir)
  batches = loaders.torch_loader(DUMMY_SCATTER, "train", batch_size=4,
                                 num_workers=2, seed=0,
                                 data_dir=array_record_dir)
  _check_epochs([batches, batches], want)


def test_scattered_objects_vary_per_example(array_record_dir):
  source = loaders.DecodedSplit(DUMMY_SCATTER, "train", array_record_dir)
  counts = {len(source[i]["objects"]["label"]) for i in range(len(source))}
  assert len(counts) > 1  # the tiny build really varies, 0 included
  assert 0 in counts
  batch = source.batch(np.arange(len(source)))
  assert [len(o["label"]) for o in batch["objects"]] == [
      len(source[i]["objects"]["label"]) for i in range(len(source))]
  # As a worker process sends it: the rows, cut again on the other side.
  sent = pickle.loads(pickle.dumps(batch["objects"]))
  assert len(sent) == len(source)
  for got, want in zip(sent, batch["objects"]):
    assert got.keys() == want.keys()
    for key in want:
      np.testing.assert_array_equal(got[key], want[key])


@pytest.mark.parametrize("name", ALL)
def test_grain_batches_give_tfds_load_examples(name, array_record_dir,
                                               dummy_data_dir):
  want = _tfds_load_by_index(name, "test", dummy_data_dir)
  ds = loaders.grain_dataset(name, "test", batch_size=3, seed=0, num_epochs=2,
                             data_dir=array_record_dir)
  per_epoch = len(ds) // 2
  batches = list(ds.to_iter_dataset(grain.ReadOptions(num_threads=0)))
  _check_epochs([batches[:per_epoch], batches[per_epoch:]], want)


def test_grain_single_examples(array_record_dir, dummy_data_dir):
  name = DUMMY_BUILDS["circles"]
  want = _tfds_load_by_index(name, "test", dummy_data_dir)
  ds = loaders.grain_dataset(name, "test", batch_size=None, seed=1,
                             data_dir=array_record_dir)
  seen = []
  for example in ds:
    example = dict(_flat(example))
    _assert_same(example, want[int(example["index"])])
    seen.append(int(example["index"]))
  assert sorted(seen) == sorted(want)


def _folder(source):
  return pathlib.Path(next(iter(source.columns.arrays.values())).filename
                      ).parent


def test_a_split_is_decoded_once_and_again_when_its_records_change(
    array_record_dir, tmp_path):
  data = tmp_path / "data"
  shutil.copytree(array_record_dir / "mnist_fg", data / "mnist_fg",
                  ignore=shutil.ignore_patterns("decoded"))
  first = loaders.DecodedSplit("mnist_fg/mnist", "test", data)
  folder = _folder(first)
  assert folder.parent.name == "decoded"
  assert folder.parent.parent == pathlib.Path(
      tfds.builder("mnist_fg/mnist", data_dir=data).data_dir)
  stamp = (folder / "stamp.json").stat().st_mtime_ns
  loaders.DecodedSplit("mnist_fg/mnist", "test", data)
  assert (folder / "stamp.json").stat().st_mtime_ns == stamp  # reused
  record = next(folder.parent.parent.glob("mnist_fg-test.array_record*"))
  os.utime(record, ns=(record.stat().st_atime_ns,
                       record.stat().st_mtime_ns + 10**9))
  again = loaders.DecodedSplit("mnist_fg/mnist", "test", data)
  assert (folder / "stamp.json").stat().st_mtime_ns != stamp  # decoded anew
  np.testing.assert_array_equal(again.columns.arrays["/image"],
                                first.columns.arrays["/image"])
  assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_a_tfrecord_build_is_decoded_too(dummy_data_dir, array_record_dir):
  from_tfrecord = loaders.DecodedSplit("mnist_fg/mnist", "test",
                                       data_dir=dummy_data_dir)
  from_array_record = loaders.DecodedSplit("mnist_fg/mnist", "test",
                                           data_dir=array_record_dir)
  order = np.argsort(from_tfrecord.columns.arrays["/index"])
  other = np.argsort(from_array_record.columns.arrays["/index"])
  for path, array in from_tfrecord.columns.arrays.items():
    np.testing.assert_array_equal(
        array[order], from_array_record.columns.arrays[path][other])


@pytest.fixture
def read_only_data(array_record_dir, tmp_path):
  """A copy of the mnist_fg build that cannot be written."""
  data = tmp_path / "data"
  shutil.copytree(array_record_dir / "mnist_fg", data / "mnist_fg",
                  ignore=shutil.ignore_patterns("decoded"))
  with mounts.read_only(data, tmp_path / "ro") as folder:
    yield folder


def test_a_read_only_build_is_decoded_into_memory(read_only_data,
                                                  array_record_dir):
  _assert_decoded_into_memory(read_only_data, array_record_dir)


def _assert_decoded_into_memory(data_dir, writable_dir):
  """The fg test split of data_dir is held in memory, not mapped, and has
  the values of the same build decoded where it can be written."""
  source = loaders.DecodedSplit("mnist_fg/mnist", "test", data_dir)
  assert not any(isinstance(a, np.memmap)
                 for a in source.columns.arrays.values())
  writable = loaders.DecodedSplit("mnist_fg/mnist", "test", writable_dir)
  for key in ("image", "mask", "index"):
    np.testing.assert_array_equal(source.batch([0, 5])[key],
                                  writable.batch([0, 5])[key])


def test_workers_get_paths_not_copies(array_record_dir):
  source = loaders.DecodedSplit("mnist_fg/mnist", "train", array_record_dir)
  pickled = pickle.dumps(source)
  assert len(pickled) < 2000
  copy = pickle.loads(pickled)
  np.testing.assert_array_equal(copy.batch([3, 1])["image"],
                                source.batch([3, 1])["image"])


def test_loading_does_not_import_tensorflow(array_record_dir):
  code = ("import sys; sys.path.insert(0, 'tests');"
          " import without_tensorflow as w; w.hide_tensorflow();"
          " import tests.builder_testing; from mnist_derived import loaders;"
          f" b = loaders.torch_loader({DUMMY_SCATTER!r}, 'test', 4, seed=0,"
          f" data_dir={str(array_record_dir)!r}); n = sum(len(x['index'])"
          " for x in b); g = loaders.grain_dataset("
          f"{DUMMY_SCATTER!r}, 'test', 4, seed=0, data_dir="
          f"{str(array_record_dir)!r}); m = sum(len(x['index']) for x in g);"
          " print(n, m, w.loaded_tensorflow())")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                        text=True, cwd=REPO)
  assert proc.returncode == 0, proc.stderr[-2000:]
  n, m, loaded = proc.stdout.split(maxsplit=2)
  assert n == m != "0" and loaded.strip() == "[]"


def test_an_unbuilt_dataset_says_the_command_that_builds_it(tmp_path):
  from mnist_derived.core import errors
  with pytest.raises(errors.InputError,
                     match="mnist-derived build mnist_fg/mnist --data_dir"):
    loaders.DecodedSplit("mnist_fg/mnist", "test", tmp_path)


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
      [*command("score", name), "--predictions", str(path),
       "--data_dir", str(array_record_dir)], capture_output=True, text=True,
      cwd=REPO)
  assert proc.returncode == 0, proc.stderr[-2000:]
  scores = json.loads(proc.stdout)
  # The scores are those of the file's predictions, recomputed here against
  # the test split as tfds.load reads it.
  preds = dict(np.load(path))
  source = loaders.DecodedSplit(name, "test", array_record_dir)
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


def test_a_full_disk_decodes_into_memory(array_record_dir, tmp_path):
  with mounts.tmpfs(tmp_path / "small", "1m") as folder:
    shutil.copytree(array_record_dir / "mnist_fg", folder / "mnist_fg",
                    ignore=shutil.ignore_patterns("decoded", "*train*"))
    mounts.fill(folder, leave=8192)  # less than the split needs
    _assert_decoded_into_memory(folder, array_record_dir)
    assert not (folder / "mnist_fg/mnist/1.0.0/decoded/test").exists()
