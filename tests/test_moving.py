"""mnist_moving: every frame recomputed from the raw digits and the card's
rule, by a plain loop; the build against examples on demand; frame scores
against scikit-image."""

import math
import zlib

import numpy as np
import pytest
import tensorflow_datasets as tfds
from skimage import metrics as skimage_metrics

from mnist_derived import geometry
from mnist_derived import loaders
from mnist_derived.core import idx
from mnist_derived.core import sources
from mnist_derived.datasets.mnist_mosaic import streams
from mnist_derived.evaluation import metrics
from mnist_derived.evaluation.score import Evaluator
from tests import builder_testing
from tests.conftest import DUMMY_DATA
from tests.test_generated import assert_same_columns

TINY = [f"mnist_moving_tiny/{c.name}"
        for c in builder_testing.TinyMoving.BUILDER_CONFIGS]
UNIT = 2**20


@pytest.fixture(scope="module")
def tiny_builds(tmp_path_factory):
  path = tmp_path_factory.mktemp("moving")
  download = tfds.download.DownloadConfig(manual_dir=str(DUMMY_DATA))
  for name in TINY:
    tfds.builder(name, data_dir=path).download_and_prepare(
        download_config=download)
  return path


def _source(config, split):
  source_split = "test" if split == "test" else "train"
  folder = DUMMY_DATA / config.source
  images, labels = sources.SPLIT_FILES[source_split]
  return (idx.read_images(folder / images),
          idx.read_labels(folder / labels, 10))


def _trajectory(words, num_frames, free):
  """One digit by the card's rule, in Python integers: (pixel positions,
  velocities in pixels per frame) per frame."""
  position = [(int(w) >> 32) * UNIT >> 32 for w in words[:2]]
  angle = (int(words[2]) >> 11) * 2.0**-53 * 2 * math.pi
  velocity = [round(0.1 * UNIT * math.sin(angle)),
              round(0.1 * UNIT * math.cos(angle))]
  pixels, speeds = [], []
  for _ in range(num_frames):
    for axis in range(2):
      position[axis] += velocity[axis]
      if position[axis] <= 0:
        position[axis], velocity[axis] = 0, -velocity[axis]
      if position[axis] >= UNIT:
        position[axis], velocity[axis] = UNIT, -velocity[axis]
    pixels.append([free * p // UNIT for p in position])
    speeds.append([v * free / UNIT for v in velocity])
  return np.array(pixels), np.array(speeds, np.float32)


def _drawn(cells, masks, corners, side):
  """One frame: the maximum of the placed digits; each pixel's owner the
  brightest digit whose mask covers it, ties to the later one."""
  placed = np.full((len(cells), side, side), -1)
  image = np.zeros((side, side), np.uint8)
  for k, (cell, mask, (row, col)) in enumerate(zip(cells, masks, corners)):
    window = (slice(row, row + 28), slice(col, col + 28))
    image[window] = np.maximum(image[window], cell)
    placed[k][window] = np.where(mask, cell.astype(np.int64), -1)
  last_best = len(cells) - 1 - np.argmax(placed[::-1], axis=0)
  owners = np.where(placed.max(axis=0) >= 0, last_best + 1, 0)
  return image, owners


def _expected(config, split, i, images, labels):
  """Sequence i of a split, recomputed."""
  depth, side, frames = config.num_digits, config.canvas_side, config.num_frames
  pool = streams.source_pool(len(images), config.seed, split,
                             config.validation_fraction)
  chosen = streams.draw_at(pool, config.seed, split, i * depth + np.arange(depth))
  words = np.random.PCG64(np.random.SeedSequence(
      [config.seed, zlib.crc32(b"moving"), zlib.crc32(split.encode()), i])
  ).random_raw(3 * depth).reshape(depth, 3)
  paths = [_trajectory(w, frames, side - 28) for w in words]
  cells = images[chosen]
  masks = geometry.foreground_masks(cells).astype(bool)
  drawn = [_drawn(cells, masks, [p[t] for p, _ in paths], side)
           for t in range(frames)]
  owners = np.stack([o for _, o in drawn])
  classes = np.where(owners > 0, labels[chosen][np.maximum(owners - 1, 0)] + 1, 0)
  boxes = np.zeros((depth, frames, 4), np.float32)
  for k in range(depth):
    for t in range(frames):
      rows, cols = np.nonzero(owners[t] == k + 1)
      if len(rows):
        boxes[k, t] = np.array([rows.min(), cols.min(), rows.max() + 1,
                                cols.max() + 1]) / side
  return {
      "image": np.stack([im for im, _ in drawn])[..., None],
      "instances": owners[..., None].astype(np.uint8),
      "mask": classes[..., None].astype(np.uint8),
      "label": labels[chosen], "index": chosen,
      "position": np.stack([p for p, _ in paths]).astype(np.int32),
      "velocity": np.stack([v for _, v in paths]),
      "bbox": boxes,
      "whole_mask": masks,
      "visible": ((owners[None] == np.arange(1, depth + 1)[:, None, None, None])
                  .sum(axis=(2, 3)) / masks.sum(axis=(1, 2))[:, None]
                  ).astype(np.float32),
  }


def assert_follows_the_rule(example, config, split, images, labels):
  """A decoded sequence equals its recomputation from the source split."""
  want = _expected(config, split, int(example["index"]), images, labels)
  for key in ("image", "mask", "instances"):
    np.testing.assert_array_equal(example[key], want[key], err_msg=key)
  for key in ("label", "index", "position", "velocity", "visible"):
    np.testing.assert_array_equal(example["objects"][key], want[key],
                                  err_msg=key)
  np.testing.assert_array_equal(example["objects"]["mask"], want["whole_mask"])
  np.testing.assert_allclose(example["objects"]["bbox"], want["bbox"],
                             atol=1e-7)
  assert example["num_digits"] == config.num_digits


@pytest.mark.parametrize("name", TINY)
def test_every_frame_follows_the_rule(tiny_builds, name):
  config = tfds.builder(name, data_dir=tiny_builds).builder_config
  for split in ("train", "validation", "test"):
    built = loaders.DecodedSplit(name, split, data_dir=tiny_builds)
    for j in range(len(built)):
      assert_follows_the_rule(built[j], config, split, *_source(config, split))


def _placed(mask, corner, side):
  canvas = np.zeros((side, side), bool)
  canvas[corner[0]:corner[0] + 28, corner[1]:corner[1] + 28] = mask
  return canvas


@pytest.mark.parametrize("name", TINY)
def test_full_masks_hold_what_is_seen(tiny_builds, name):
  # Each digit's whole mask, placed at its position, covers the pixels it
  # owns; its visible fraction is their share of it; and the whole masks
  # drawn with the owner rule (brightest, ties to the later digit) give
  # `instances` back.
  config = tfds.builder(name, data_dir=tiny_builds).builder_config
  images, _ = _source(config, "test")
  built = loaders.DecodedSplit(name, "test", data_dir=tiny_builds)
  for j in range(len(built)):
    example = built[j]
    objects, owners = example["objects"], example["instances"][..., 0]
    cells = images[objects["index"]]
    for t in range(config.num_frames):
      whole = [_placed(m, p[t], 64) for m, p in zip(objects["mask"],
                                                     objects["position"])]
      drawn = np.full((len(whole), 64, 64), -1)
      for k, (cell, corner) in enumerate(zip(cells, objects["position"])):
        row, col = corner[t]
        drawn[k, row:row + 28, col:col + 28] = np.where(
            objects["mask"][k], cell.astype(np.int64), -1)
      last_best = len(whole) - 1 - np.argmax(drawn[::-1], axis=0)
      redrawn = np.where(drawn.max(axis=0) >= 0, last_best + 1, 0)
      np.testing.assert_array_equal(redrawn, owners[t])
      for k, w in enumerate(whole):
        seen = owners[t] == k + 1
        assert not (seen & ~w).any()
        assert objects["visible"][k, t] == np.float32(seen.sum() / w.sum())


def test_digits_bounce_inside_the_canvas(tiny_builds):
  built = loaders.DecodedSplit(TINY[0], "train", data_dir=tiny_builds)
  objects = built.batch(range(len(built)))["objects"]
  position, velocity = objects["position"], objects["velocity"]
  assert position.min() == 0 and position.max() <= 64 - 28
  # A velocity component changes only by turning round, at an edge.
  turned = np.sign(velocity[:, :, 1:]) != np.sign(velocity[:, :, :-1])
  assert turned.any()
  at_edge = (position[:, :, 1:] == 0) | (position[:, :, 1:] == 64 - 28)
  assert (at_edge | ~turned).all()
  np.testing.assert_array_equal(np.abs(velocity[:, :, 1:])[~turned],
                                np.abs(velocity[:, :, :-1])[~turned])


@pytest.mark.parametrize("name", TINY)
def test_examples_on_demand_equal_the_build(tiny_builds, name):
  for split in ("train", "validation", "test"):
    built = loaders.DecodedSplit(name, split, data_dir=tiny_builds)
    generated = loaders.GeneratedSplit(name, split, manual_dir=DUMMY_DATA,
                                       data_dir=tiny_builds)
    order = np.argsort(built.batch_columns(np.arange(len(built)))[0]["index"])
    assert_same_columns(generated.batch_columns(np.arange(len(built))),
                        built.batch_columns(order), f"{name} {split}")


def test_a_far_sequence_needs_no_build(tiny_builds):
  generated = loaders.GeneratedSplit(TINY[0], "train", manual_dir=DUMMY_DATA,
                                     data_dir=tiny_builds,
                                     num_examples=10_000_000)
  config = tfds.builder(TINY[0], data_dir=tiny_builds).builder_config
  example = generated[9_999_999]
  want = _expected(config, "train", 9_999_999, *_source(config, "train"))
  np.testing.assert_array_equal(example["image"], want["image"])
  assert example["image"].shape == (20, 64, 64, 1)


def test_frame_scores_match_scikit_image():
  rng = np.random.default_rng(0)
  true = rng.random((3, 4, 64, 64))
  pred = np.clip(true + rng.normal(0, 0.2, true.shape), 0, 1)
  scores = metrics.frame_prediction_scores(pred, true)
  for t in range(4):
    ssim = np.mean([skimage_metrics.structural_similarity(
        pred[n, t], true[n, t], data_range=1.0) for n in range(3)])
    psnr = np.mean([skimage_metrics.peak_signal_noise_ratio(
        true[n, t], pred[n, t], data_range=1.0) for n in range(3)])
    assert scores["frame_ssim"][t] == pytest.approx(ssim, rel=1e-9)
    assert scores["frame_psnr"][t] == pytest.approx(psnr, rel=1e-9)
    assert scores["frame_mse"][t] == pytest.approx(
        np.mean([((pred[n, t] - true[n, t])**2).sum() for n in range(3)]))
    assert scores["frame_mae"][t] == pytest.approx(
        np.mean([np.abs(pred[n, t] - true[n, t]).sum() for n in range(3)]))
  assert scores["ssim"] == pytest.approx(np.mean(scores["frame_ssim"]))
  assert scores["predicted_frames"] == 4


def _true_frames(tiny_builds):
  built = loaders.DecodedSplit(TINY[0], "test", data_dir=tiny_builds)
  batch = built.batch(range(len(built)))
  return batch["index"], batch["image"][..., 0]


def test_the_scorer_scores_predicted_frames(tiny_builds, tmp_path):
  index, frames = _true_frames(tiny_builds)
  evaluator = Evaluator(TINY[0], data_dir=tiny_builds)
  exact = evaluator.evaluate({"index": index, "frames": frames[:, 10:]})
  assert exact["mse"] == 0 and exact["ssim"] == 1
  assert exact["psnr"] == metrics.PSNR_CAP
  # Copying the last seen frame, as floats in [0, 1] with PyTorch's channel.
  copied = np.repeat(frames[:, 9:10], 5, axis=1)[:, :, None] / 255
  path = tmp_path / "copy.npz"
  np.savez(path, index=index, frames=copied)
  scores = evaluator.evaluate(path)
  want = metrics.frame_prediction_scores(copied[:, :, 0],
                                         frames[:, 15:] / 255)
  assert scores["mse"] == pytest.approx(want["mse"]) and scores["mse"] > 0
  assert scores["predicted_frames"] == 5


@pytest.mark.parametrize("frames,match", [
    (lambda f: f, "expected .6, T', 64, 64. with 1 <= T' < 20"),
    (lambda f: f[:, 10:].astype(np.int16), "must be uint8 intensities or"
     " floats in .0, 1."),
    (lambda f: f[:, 10:] / 100, "holds .* values outside .0, 1."),
])
def test_bad_frames_are_refused_in_one_line(tiny_builds, tmp_path, frames,
                                            match):
  from mnist_derived.evaluation import predictions  # pylint: disable=g-import-not-at-top
  index, true = _true_frames(tiny_builds)
  path = tmp_path / "bad.npz"
  np.savez(path, index=index, frames=frames(true))
  with pytest.raises(predictions.PredictionsError, match=match) as raised:
    Evaluator(TINY[0], data_dir=tiny_builds).evaluate(path)
  assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_parquet_export_reads_back_in_datasets(tiny_builds, tmp_path):
  import datasets  # pylint: disable=g-import-not-at-top
  from mnist_derived import cli  # pylint: disable=g-import-not-at-top
  out = tmp_path / "parquet"
  assert cli.main(["export", TINY[0], "--format", "parquet", "--out", str(out),
                   "--split", "test", "--data_dir", str(tiny_builds)]) == 0
  built = loaders.DecodedSplit(TINY[0], "test", data_dir=tiny_builds)
  want = {int(built[j]["index"]): built[j] for j in range(len(built))}
  rows = datasets.load_dataset(str(out), split="test")
  assert len(rows) == len(want)
  for row in rows:
    example = want[row["index"]]
    frames = np.stack([np.asarray(frame) for frame in row["image"]])
    np.testing.assert_array_equal(frames, example["image"][..., 0])
    np.testing.assert_array_equal(
        np.stack([np.asarray(m) for m in row["instances"]]),
        example["instances"][..., 0])
    for key in ("position", "velocity", "bbox", "visible", "label"):
      np.testing.assert_array_equal(np.asarray(row["objects"][key]),
                                    example["objects"][key], err_msg=key)


def test_show_draws_strips_of_a_generated_split(tmp_path, capsys):
  from mnist_derived import cli  # pylint: disable=g-import-not-at-top
  out = tmp_path / "moving.png"
  assert cli.main(["show", "mnist_moving/mnist", "--out", str(out), "--num",
                   "2", "--data_dir", str(tmp_path / "nothing"),
                   "--manual_dir", str(DUMMY_DATA), "--quiet"]) == 0
  capsys.readouterr()
  import matplotlib.image  # pylint: disable=g-import-not-at-top
  height, width = matplotlib.image.imread(out).shape[:2]
  assert width > 1.5 * height  # one sequence a row, frames side by side


def _brute_tracking(pred_sequences, true_sequences):
  """MOTA, IDF1 and J by plain loops and every one-to-one assignment."""
  import itertools  # pylint: disable=g-import-not-at-top
  j, seen, predicted, errors, idtp = [], 0, 0, 0, 0
  for true, pred in zip(true_sequences, pred_sequences):
    true_ids = sorted(set(true.ravel()) - {0})
    pred_ids = sorted(set(pred.ravel()) - {0})
    iou = {}
    for t in range(len(true)):
      for a in true_ids:
        for b in pred_ids:
          union = ((true[t] == a) | (pred[t] == b)).sum()
          inter = ((true[t] == a) & (pred[t] == b)).sum()
          iou[t, a, b] = inter / union if union else None
    last, frames_matched = {}, {}
    for t in range(len(true)):
      here_t = [a for a in true_ids if (true[t] == a).any()]
      here_p = [b for b in pred_ids if (pred[t] == b).any()]
      pairs = [(a, b) for a in here_t for b in here_p if iou[t, a, b] > 0.5]
      seen += len(here_t)
      predicted += len(here_p)
      errors += len(here_t) - len(pairs) + len(here_p) - len(pairs)
      for a, b in pairs:
        errors += a in last and last[a] != b
        last[a] = b
        frames_matched[a, b] = frames_matched.get((a, b), 0) + 1
    def best(gain):
      padded = pred_ids + [None] * len(true_ids)
      return max((sum(gain(a, b) for a, b in zip(true_ids, chosen)), chosen)
                 for chosen in itertools.permutations(padded, len(true_ids)))
    j_of = lambda a, b: 0 if b is None else np.mean(
        [1 if iou[t, a, b] is None else iou[t, a, b] for t in range(len(true))])
    j_total, chosen = best(j_of)
    j.extend(j_of(a, b) for a, b in zip(true_ids, chosen))
    idtp += best(lambda a, b: frames_matched.get((a, b), 0))[0]
  return {"j_mean": np.mean(j), "mota": 1 - errors / seen,
          "idf1": 2 * idtp / (seen + predicted)}


def _damaged_tracks(true, rng):
  """A prediction with every kind of error: ids swapped from a frame on, an
  object missed in some frames, eroded masks, a spurious blob."""
  pred = true.astype(np.int64).copy()
  for seq in pred:
    cut = rng.integers(1, len(seq))
    swapped = seq[cut:].copy()
    seq[cut:][swapped == 1], seq[cut:][swapped == 2] = 2, 1
    missed = rng.integers(0, len(seq), 3)
    seq[missed] = np.where(seq[missed] == 1, 0, seq[missed])
    seq[:, rng.integers(0, 60), :] = 0
    seq[rng.integers(0, len(seq)), :4, :4] = 7
  return pred


def test_tracking_scores_match_plain_loops(tiny_builds):
  built = loaders.DecodedSplit(TINY[0], "test", data_dir=tiny_builds)
  true = built.batch(range(len(built)))["instances"][..., 0].astype(np.int64)
  from mnist_derived.evaluation import tracking  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  for pred in (true, _damaged_tracks(true, rng), _damaged_tracks(true, rng)):
    got = tracking.tracking_scores(pred, true)
    want = _brute_tracking(pred, true)
    for key, value in want.items():
      assert got[key] == pytest.approx(value, abs=1e-12), key
  assert tracking.tracking_scores(true, true)["mota"] == 1


def test_the_scorer_scores_tracks(tiny_builds, tmp_path):
  built = loaders.DecodedSplit(TINY[0], "test", data_dir=tiny_builds)
  batch = built.batch(range(len(built)))
  evaluator = Evaluator(TINY[0], data_dir=tiny_builds)
  exact = evaluator.evaluate({"index": batch["index"],
                              "instances": batch["instances"]})
  assert exact["j_mean"] == exact["mota"] == exact["idf1"] == 1
  assert exact["frame_agnostic_pq"] == 1
  path = tmp_path / "tracks.npz"
  np.savez(path, index=batch["index"],
           instances=batch["instances"][..., :32, 0])
  from mnist_derived.evaluation import predictions  # pylint: disable=g-import-not-at-top
  with pytest.raises(predictions.PredictionsError,
                     match="'instances' has shape .6, 20, 64, 32., expected"):
    evaluator.evaluate(path)
