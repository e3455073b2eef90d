"""mnist-derived show: what each panel draws is the example's own data."""

import os
import shutil
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived import show
from tests.conftest import DUMMY_BUILDS
from tests.conftest import DUMMY_SCATTER
from tests.conftest import REPO
from tests.commands import MNIST_DERIVED

SHOW = [MNIST_DERIVED, "show"]


def _builder(name, data_dir):
  import tests.builder_testing  # noqa: F401  (registers the tiny mosaics)
  return tfds.builder(name, data_dir=data_dir)


def _by_index(builder, split="test"):
  return {int(ex["index"]): ex for ex in tfds.as_numpy(
      builder.as_dataset(split=split, shuffle_files=False))}


def _titles(fig):
  return [ax.get_title() for ax in fig.axes if ax.get_title()]


@pytest.mark.parametrize("name", [DUMMY_BUILDS["mosaic"], DUMMY_SCATTER])
def test_mosaic_panels_are_the_masks_in_class_colours(name, dummy_data_dir):
  builder = _builder(name, dummy_data_dir)
  fig = show.montage(builder, "test", num=5)
  examples = _by_index(builder)
  colours = show.class_colours(11)
  assert len(np.unique(colours, axis=0)) == 11  # every class distinct
  axes = fig.axes
  shown = [ax for ax in axes if ax.get_title().startswith("index ")]
  assert len(shown) == 5
  for ax in shown:
    index = int(ax.get_title().split()[1].rstrip(":"))
    ex = examples[index]
    count = len(ex["objects"]["label"])
    assert ax.get_title().endswith(
        "no digits" if count == 0 else f"{count} digit{'s' * (count > 1)}")
    below = axes[axes.index(ax) + 5]  # 5 columns: the mask row below
    np.testing.assert_array_equal(below.images[0].get_array(),
                                  colours[ex["mask"][..., 0]])
    boxes = [p for p in ax.patches
             if isinstance(p, matplotlib.patches.Rectangle)]
    owned = [b for b in ex["objects"]["bbox"] if b[2] > b[0]]
    assert len(boxes) == len(owned)
  legend = [t.get_text() for t in fig.legends[0].get_texts()]
  assert legend == builder.info.features["mask"].names


def test_circles_are_drawn_where_the_dataset_says(dummy_data_dir):
  builder = _builder(DUMMY_BUILDS["circles"], dummy_data_dir)
  fig = show.montage(builder, "test", num=4)
  examples = sorted(_by_index(builder).values(),
                    key=lambda ex: int(ex["index"]))
  circles = [p for ax in fig.axes for p in ax.patches
             if isinstance(p, matplotlib.patches.Circle)]
  drawn = sorted((tuple(c.center), c.radius) for c in circles)
  stored = [tuple(ex["circle"]) for ex in tfds.as_numpy(
      builder.as_dataset(split="test", shuffle_files=False).take(4))]
  assert drawn == sorted(((cx, cy), r) for cx, cy, r in stored)
  assert len(examples) >= 4
  [legend] = fig.legends  # what the two outlines are
  assert [t.get_text() for t in legend.get_texts()] == [
      "minimal enclosing circle of the mask", "its box"]
  assert [h.get_color() for h in legend.legend_handles] == ["lime", "cyan"]


def test_fg_tints_exactly_the_mask(dummy_data_dir):
  builder = _builder(DUMMY_BUILDS["fg"], dummy_data_dir)
  fig = show.montage(builder, "test", num=3)
  stored = list(tfds.as_numpy(
      builder.as_dataset(split="test", shuffle_files=False).take(3)))
  tints = sorted((ax.images[1].get_array()[..., 3] > 0).tobytes()
                 for ax in fig.axes if len(ax.images) == 2)
  assert tints == sorted((ex["mask"][..., 0] > 0).tobytes() for ex in stored)


@pytest.mark.slow
def test_the_command_writes_the_picture_and_fails_in_one_line(
    dummy_data_dir, tmp_path):
  out = tmp_path / "fg.png"
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  ok = subprocess.run([*SHOW, "mnist_fg/mnist", "--num", "4", "--out", str(out),
                       "--data_dir", str(dummy_data_dir)],
                      capture_output=True, text=True, cwd=REPO, env=env)
  assert ok.returncode == 0, ok.stderr
  assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  # Quiet: none of TensorFlow's start-up lines unless asked for.
  assert ok.stderr == ""
  bad = subprocess.run([*SHOW, "mnist_fg/kmnist", "--out", str(tmp_path / "k.png"),
                        "--data_dir", str(dummy_data_dir)],
                       capture_output=True, text=True, cwd=REPO, env=env)
  assert bad.returncode == 1
  assert bad.stderr.strip().splitlines() == [
      f"error: mnist_fg/kmnist is not built in {dummy_data_dir}: build it first"
      f" with `mnist-derived build mnist_fg/kmnist --data_dir"
      f" {dummy_data_dir} --manual_dir <your MNIST folder>`"]
  assert not (tmp_path / "k.png").exists()


@pytest.mark.slow
def test_tensorflow_logs_show_when_asked_for(dummy_data_dir, tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
  proc = subprocess.run([*SHOW, "mnist_fg/mnist", "--num", "2", "--out",
                         str(tmp_path / "fg.png"), "--data_dir",
                         str(dummy_data_dir)],
                        capture_output=True, text=True, cwd=REPO, env=env)
  assert proc.returncode == 0
  assert "I0000" in proc.stderr  # TensorFlow's own start-up lines


def test_learning_curves_of_one_epoch_have_whole_epoch_ticks():
  from training import figures  # pylint: disable=g-import-not-at-top
  rows = [{"epoch": "0", "loss": "0.5", "val_loss": "0.4",
           "accuracy": "0.9", "val_accuracy": "0.92"}]
  fig = figures.curves_figure(rows)
  for ax in fig.axes:
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks == [1.0]
    assert [line.get_xdata().tolist() for line in ax.lines] == [[1], [1]]


def _panel(ax):
  return np.asarray(ax.get_images()[0].get_array())


def test_predicted_instances_are_drawn_beside_the_true_ones(dummy_data_dir):
  builder = _builder(DUMMY_SCATTER, dummy_data_dir)
  examples = [_by_index(builder)[i] for i in range(4)]
  true = np.stack([ex["instances"][..., 0] for ex in examples]).astype(int)
  images = np.stack([ex["image"][..., 0] for ex in examples])
  # Ids renumbered in order: each object keeps its colour; no objects: black.
  pred = np.where(true > 0, 3 * true + 10, 0)
  pred[3] = 0
  fig = show.instances_montage(images, true, pred, range(4), "t")
  axes = np.array(fig.axes).reshape(3, 4)
  for c in range(4):
    np.testing.assert_array_equal(_panel(axes[0][c]), images[c])
    drawn = _panel(axes[1][c])
    assert ((drawn.sum(axis=-1) > 0) == (true[c] > 0)).all()
    assert len(np.unique(drawn.reshape(-1, 3), axis=0)) == len(np.unique(true[c]))
  for c in range(3):
    np.testing.assert_array_equal(_panel(axes[2][c]), _panel(axes[1][c]))
  assert not _panel(axes[2][3]).any()


def test_show_predictions_through_the_command(dummy_data_dir, tmp_path):
  import matplotlib.image  # pylint: disable=g-import-not-at-top
  from tests.commands import command  # pylint: disable=g-import-not-at-top
  builder = _builder(DUMMY_SCATTER, dummy_data_dir)
  examples = _by_index(builder)
  index = np.array(sorted(examples))
  true = np.stack([examples[i]["instances"][..., 0] for i in index])
  np.savez(tmp_path / "inst.npz", index=index, instances=true.astype(int))
  np.savez(tmp_path / "mask.npz", index=index, mask=true * 0)
  args = ["--data_dir", str(dummy_data_dir), "--out"]
  proc = subprocess.run([*command("show", DUMMY_SCATTER), "--predictions",
                         str(tmp_path / "inst.npz"), *args,
                         str(tmp_path / "fig.png")], capture_output=True,
                        text=True, cwd=REPO, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert matplotlib.image.imread(tmp_path / "fig.png").shape[0] > 100
  proc = subprocess.run([*command("show", DUMMY_SCATTER), "--predictions",
                         str(tmp_path / "mask.npz"), *args,
                         str(tmp_path / "no.png")], capture_output=True,
                        text=True, cwd=REPO, check=False)
  assert proc.returncode == 2
  assert proc.stderr.strip() == (f"error: {tmp_path / 'mask.npz'}: holds no"
                                 " 'instances' to draw")
  assert not (tmp_path / "no.png").exists()
