"""The scatter task's pipeline (training/scatter.py) against brute force and
against the dataset's own truth: heat-map peaks, crops, training targets,
and the assembly of crops back into class and instance maps."""

import itertools

import numpy as np
import pytest

from mnist_derived import loaders
from training import scatter
from tests.conftest import DUMMY_DATA

SCATTER = "mnist_mosaic/scatter"


@pytest.fixture(scope="module")
def batch():
  generated = loaders.GeneratedSplit(SCATTER, "train", manual_dir=DUMMY_DATA,
                                     num_examples=48)
  return generated.batch(range(48))


def _true_digits(batch):
  """(example of each digit, its cell centre, its id, its class)."""
  objects = list(batch["objects"])
  example_of = np.repeat(np.arange(len(objects)),
                         [len(o["label"]) for o in objects])
  centres = np.concatenate([scatter.cell_centres(o) for o in objects])
  ids = np.concatenate([np.arange(1, len(o["label"]) + 1) for o in objects])
  labels = np.concatenate([o["label"] for o in objects])
  return example_of, centres, ids, labels


def test_the_true_digits_crops_assemble_to_the_truth(batch):
  # Each digit's crop at its cell holds every pixel it owns, so pasting the
  # pixels each owns there gives the instance and class maps back.
  example_of, centres, ids, labels = _true_digits(batch)
  origins = scatter.crop_origins(centres)
  owners = scatter.crops(batch["instances"], example_of, origins)[..., 0]
  digit_masks = (owners == ids[:, None, None]).astype(np.float32)
  mask, instances = scatter.assemble(digit_masks, labels, example_of, origins,
                                     batch["image"].shape[:3])
  np.testing.assert_array_equal(instances, batch["instances"][..., 0])
  np.testing.assert_array_equal(mask, batch["mask"][..., 0])
  assert sum(int(m.sum()) for m in digit_masks) == int(
      (batch["instances"] > 0).sum())


def test_the_heat_maps_peaks_are_the_cell_centres(batch):
  heat = scatter.heat_maps(list(batch["objects"]), (64, 64))
  found = scatter.find_centres(heat)
  for example, objects in zip(found, batch["objects"]):
    true = scatter.cell_centres(objects)
    assert len(example) == len(true)
    if not len(true):
      continue
    # Each true centre has a found one within a pixel; within half a pixel
    # where no other digit's centre is within 8 (a neighbour's Gaussian
    # pulls the refinement), so that the crops cut there are the true ones,
    # 2 pixels around the cell.
    nearest = np.abs(example[:, None] - true[None]).max(-1).argmin(0)
    error = np.abs(example[nearest] - true).max(-1)
    assert error.max() < 1
    spacing = np.abs(true[:, None] - true[None]).max(-1) + 99 * np.eye(
        len(true))
    alone = spacing.min(1) >= 8
    assert (error[alone] < 0.5).all()
    np.testing.assert_array_equal(
        scatter.crop_origins(example[nearest][alone]),
        objects["position"][alone] - 2)


def _brute_force_peaks(heat, threshold):
  """(example, refined row, refined col, strength) of every pixel strictly
  above its 8 neighbours (zero outside) and >= threshold, refined to the
  heat-weighted mean of its 3x3 window."""
  n, height, width = heat.shape
  padded = np.pad(heat, ((0, 0), (1, 1), (1, 1)))
  peaks = []
  for e, r, c in itertools.product(range(n), range(height), range(width)):
    window = padded[e, r:r + 3, c:c + 3]
    others = np.delete(window.ravel(), 4)
    if heat[e, r, c] >= threshold and (heat[e, r, c] > others).all():
      rows, cols = np.mgrid[-1:2, -1:2]
      peaks.append((e, r + (window * rows).sum() / window.sum(),
                    c + (window * cols).sum() / window.sum(), heat[e, r, c]))
  return peaks


def test_find_centres_against_brute_force():
  rng = np.random.default_rng(0)
  heat = rng.random((5, 12, 10)) ** 3
  found = scatter.find_centres(heat[..., None], threshold=0.3)
  peaks = _brute_force_peaks(heat, 0.3)
  for e in range(5):
    mine = sorted((p for p in peaks if p[0] == e), key=lambda p: -p[3])
    want = np.array([[2 * r + 0.5, 2 * c + 0.5] for _, r, c, _ in mine])
    np.testing.assert_allclose(found[e], want.reshape(-1, 2))


def test_a_plateau_is_one_peak():
  heat = np.zeros((2, 8, 8, 1))
  heat[0, 3, 3:5] = 0.9  # two equal neighbours
  found = scatter.find_centres(heat)
  assert [len(f) for f in found] == [1, 0]
  np.testing.assert_allclose(found[0], [[3 * 2 + 0.5, 3.5 * 2 + 0.5]])


def test_crops_against_slicing():
  rng = np.random.default_rng(1)
  images = rng.integers(0, 255, (3, 20, 24, 1), dtype=np.uint8)
  origins = np.array([[-5, -3], [10, 15], [0, 0], [18, -30]])
  example_of = np.array([0, 0, 1, 2])
  cut = scatter.crops(images, example_of, origins)
  for window, e, (row, col) in zip(cut, example_of, origins):
    for r, c in itertools.product(range(scatter.CROP), repeat=2):
      inside = 0 <= row + r < 20 and 0 <= col + c < 24
      want = images[e, row + r, col + c, 0] if inside else 0
      assert window[r, c, 0] == want


def test_training_targets_crop_the_batch_digits_in_turn(batch):
  inputs, targets = scatter.training_targets(batch, np.random.default_rng(3))
  n = len(batch["image"])
  crops = scatter.CROPS_PER_EXAMPLE * n
  assert inputs["crop"].shape == (crops, scatter.CROP, scatter.CROP, 1)
  assert targets["digit_mask"].shape == (crops, scatter.CROP, scatter.CROP, 1)
  assert targets["centres"].shape == (n, 32, 32, 1)
  example_of, centres, ids, labels = _true_digits(batch)
  for crop, owned, label in zip(inputs["crop"], targets["digit_mask"],
                                targets["digit_label"]):
    # The crop is some digit's, moved by at most JITTER; its target is the
    # pixels that digit owns there, and its class.
    matches = []
    for e, centre, digit_id, digit in zip(example_of, centres, ids, labels):
      for dr, dc in itertools.product(range(-scatter.JITTER,
                                            scatter.JITTER + 1), repeat=2):
        origin = scatter.crop_origins(centre) + [dr, dc]
        if (np.array_equal(scatter.crops(batch["image"], [e], origin)[0], crop)
            and np.array_equal(scatter.crops(batch["instances"], [e], origin)[
                0] == digit_id, owned > 0) and digit == label):
          matches.append(e)
    assert matches
  again = scatter.training_targets(batch, np.random.default_rng(3))
  for key in targets:
    np.testing.assert_array_equal(again[1][key], targets[key])
