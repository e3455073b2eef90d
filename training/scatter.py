"""The scattered-digits pipeline: find each digit, then segment and name it.

Three stages, one model file (`models.get_scatter_model`):

1. `centres`: a heat map at half resolution, 1 at each digit's cell centre
   (MNIST centres a digit's mass in its 28x28 cell);
   its local maxima above `PEAK` are the digits found.
2. `digit`: for each digit found, the 32x32 crop of the image centred there
   gives the pixels this digit owns in the crop (`digit_mask`) and its class
   (`digit_label`). Centred as MNIST centres it, a digit is recognised as
   MNIST's are, whatever its neighbours.
3. Assembly (numpy): each pixel goes to the digit whose crop gives it the
   highest probability, where that is at least 0.5; the digit's class
   colours all its pixels, so one digit is never split between classes.

Training reads examples generated on demand (`--input generated`): each
mosaic trains the centres on its heat map and the digit stage on
`CROPS_PER_EXAMPLE` of the batch's digits (about every digit once: a
mosaic holds two on average), each cropped at its true centre moved by up
to `JITTER` pixels (the centres stage's error).
"""

import numpy as np
from scipy import ndimage

CELL = 28
CROP = 32
STRIDE = 2  # the heat map's pixel, in image pixels
SIGMA = 1.0  # of the heat map's Gaussian, in heat-map pixels
PEAK = 0.3
JITTER = 1
CROPS_PER_EXAMPLE = 2


def cell_centres(objects):
  """(digits, 2) float centres of one example's digits' cells, in image
  pixels (pixel i's centre at i)."""
  sides = np.rint(CELL * np.asarray(objects["scale"], np.float64))
  return np.asarray(objects["position"], np.float64) + (sides[:, None] - 1) / 2


def heat_maps(objects_rows, canvas):
  """(N, H/2, W/2, 1) float32: per example the max over its digits of a
  Gaussian at each cell centre, 1 at the centre."""
  grid = np.array(canvas) // STRIDE
  rows, cols = np.mgrid[:grid[0], :grid[1]]
  maps = np.zeros((len(objects_rows), *grid), np.float32)
  for heat, objects in zip(maps, objects_rows):
    for centre in _grid_coordinates(cell_centres(objects)):
      distance = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2
      np.maximum(heat, np.exp(-distance / (2 * SIGMA**2)), out=heat)
  return maps[..., None]


def _grid_coordinates(centres):
  """Image pixels -> heat-map pixels (map pixel i covers image pixels
  STRIDE i to STRIDE i + STRIDE - 1)."""
  return (np.asarray(centres) - (STRIDE - 1) / 2) / STRIDE


def _image_coordinates(grid_points):
  return np.asarray(grid_points) * STRIDE + (STRIDE - 1) / 2


# In-plane neighbours only: examples of a batch never touch.
_PLANE = np.pad(np.ones((1, 3, 3), bool), ((1, 1), (0, 0), (0, 0)))


def find_centres(heat, threshold=PEAK):
  """Per example, the (digits, 2) image coordinates of the heat map's peaks
  at or above `threshold` (3x3 maxima; equal neighbours are one peak),
  strongest first, each refined to the heat-weighted mean of its 3x3
  window."""
  heat = np.asarray(heat, np.float64)[..., 0]
  local_max = ndimage.maximum_filter(heat, size=(1, 3, 3), mode="constant")
  labelled, count = ndimage.label((heat == local_max) & (heat >= threshold),
                                  structure=_PLANE)
  _, first = np.unique(labelled.ravel(), return_index=True)
  e, r, c = np.unravel_index(first[1:], heat.shape)  # label 0: no peak
  window = np.pad(heat, ((0, 0), (1, 1), (1, 1)))[
      e[:, None, None], r[:, None, None] + np.arange(3)[:, None],
      c[:, None, None] + np.arange(3)]
  weight = window.sum(axis=(1, 2))
  offsets = np.arange(-1, 2)
  refined = np.stack([r + (window.sum(2) * offsets).sum(1) / weight,
                      c + (window.sum(1) * offsets).sum(1) / weight], axis=1)
  order = np.lexsort((-heat[e, r, c], e))
  centres = _image_coordinates(refined[order])
  return np.split(centres, np.cumsum(np.bincount(e, minlength=len(heat)))[:-1])


def crop_origins(centres):
  """(digits, 2) int top-left corners of the CROP x CROP windows centred at
  `centres` (image pixels)."""
  return np.floor(np.asarray(centres, np.float64).reshape(-1, 2)
                  - (CROP - 1) / 2 + 0.5).astype(np.int64)


def crops(images, example_of, origins):
  """(digits, CROP, CROP, C) windows of `images` (N, H, W, C) at `origins`,
  zero outside the image; example_of: each window's example."""
  padded = np.pad(images, ((0, 0), (CROP, CROP), (CROP, CROP), (0, 0)))
  rows = origins[:, 0, None, None] + CROP + np.arange(CROP)[None, :, None]
  cols = origins[:, 1, None, None] + CROP + np.arange(CROP)[None, None, :]
  return padded[np.asarray(example_of)[:, None, None], rows, cols]


def training_targets(batch, rng):
  """(inputs, targets) of a batch of examples: each example's image with its
  heat map, and `CROPS_PER_EXAMPLE` digit crops per example (the batch's
  digits in turn, from a random first) with the pixels each digit owns there
  and its class. The crops are a batch of their own (the model's two inputs
  need not have the same batch size)."""
  objects = list(batch["objects"])
  canvas = batch["image"].shape[1:3]
  digits = [(e, k) for e, o in enumerate(objects) for k in range(len(o["label"]))]
  if not digits:
    raise ValueError("a training batch of mosaics without digits: use"
                     " larger batches")
  first = int(rng.integers(len(digits)))
  chosen = [digits[(first + i) % len(digits)]
            for i in range(CROPS_PER_EXAMPLE * len(objects))]
  example_of = np.array([e for e, _ in chosen], np.int64)
  centres = np.array([cell_centres(objects[e])[k] for e, k in chosen])
  origins = crop_origins(centres) + rng.integers(
      -JITTER, JITTER + 1, size=(len(chosen), 2))
  # One cut of image and owners together (both uint8).
  cut = crops(np.concatenate([batch["image"], batch["instances"]], axis=-1),
              example_of, origins)
  owners = cut[..., 1]
  ids = np.array([k + 1 for _, k in chosen])[:, None, None]
  inputs = {"image": batch["image"], "crop": cut[..., :1]}
  targets = {"centres": heat_maps(objects, canvas),
             "digit_mask": (owners == ids).astype(np.float32)[..., None],
             "digit_label": np.array([objects[e]["label"][k] for e, k in chosen])}
  return inputs, targets


def assemble(digit_masks, labels, example_of, origins, shape):
  """The class map and instance map (N, H, W) of the digits found: each
  pixel to the digit with the highest mask probability there, where it is
  at least 0.5. digit_masks (digits, CROP, CROP) probabilities; labels
  (digits,) classes 0-9; ids count from 1 per example in the digits'
  order."""
  n, height, width = shape
  best = np.full((n, height + 2 * CROP, width + 2 * CROP), 0.5, np.float32)
  owner = np.zeros(best.shape, np.int64)
  ids = _ids_within_examples(example_of)
  for mask, e, (row, col), digit_id in zip(digit_masks, example_of, origins, ids):
    at = (e, slice(row + CROP, row + 2 * CROP), slice(col + CROP, col + 2 * CROP))
    wins = mask >= best[at]
    best[at] = np.where(wins, mask, best[at])
    owner[at] = np.where(wins, digit_id, owner[at])
  instances = owner[:, CROP:CROP + height, CROP:CROP + width]
  classes = _class_maps(instances, labels, example_of, ids)
  return classes.astype(np.uint8), instances


def _ids_within_examples(example_of):
  """1, 2, ... for each example's digits, in their order."""
  example_of = np.asarray(example_of)
  starts = np.searchsorted(example_of, example_of, side="left")
  return np.arange(len(example_of)) - starts + 1


def _class_maps(instances, labels, example_of, ids):
  """Mask ids (0 background, digit class + 1) from instance maps."""
  lookup = np.zeros((len(instances), int(max(ids, default=0)) + 1), np.int64)
  lookup[np.asarray(example_of), ids] = np.asarray(labels) + 1
  return np.take_along_axis(lookup, instances.reshape(len(instances), -1),
                            axis=1).reshape(instances.shape)


def predict(model, images):
  """{"mask", "instances"} of a batch of images (N, H, W, 1) uint8, by the
  three stages."""
  images = np.asarray(images)
  centres = find_centres(model.get_layer("centres").predict_on_batch(images))
  example_of = np.repeat(np.arange(len(images)), [len(c) for c in centres])
  origins = crop_origins(np.concatenate([*centres, np.zeros((0, 2))]))
  digit_masks, labels = np.zeros((0, CROP, CROP)), np.zeros(0, np.int64)
  if len(origins):
    outputs = model.get_layer("digit").predict_on_batch(
        crops(images, example_of, origins))
    digit_masks = np.asarray(outputs["digit_mask"])[..., 0]
    labels = np.argmax(np.asarray(outputs["digit_label"]), axis=-1)
  mask, instances = assemble(digit_masks, labels, example_of, origins,
                             images.shape[:3])
  return {"mask": mask, "instances": instances}
