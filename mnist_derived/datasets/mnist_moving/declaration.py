"""What mnist_moving is to the scorer, `show` and the exports."""

import numpy as np

from mnist_derived import declarations
from mnist_derived import show
from mnist_derived.evaluation import instances
from mnist_derived.evaluation import metrics
from mnist_derived.evaluation import predictions
from mnist_derived.evaluation import tracking

ARRAYS = ("frames", "instances")

# Frames a strip of `show` draws: every other one.
_SHOWN_EVERY = 2


def _frame_shapes(n, frames, height, width):
  return [(n, frames, height, width), (n, frames, height, width, 1),
          (n, frames, 1, height, width)]


def check(path, pred, n, info):
  if not set(pred) & set(ARRAYS):
    raise predictions.PredictionsError(
        path, "missing array 'frames' or 'instances' (a sequence's"
        " predictions hold either or both, beside 'index')")
  checked = {}
  if "frames" in pred:
    checked["frames"] = _checked_frames(path, pred["frames"], n, info)
  if "instances" in pred:
    checked["instances"] = _checked_instances(path, pred["instances"], n, info)
  return checked


def _checked_frames(path, frames, n, info):
  """`frames` (N, T', H, W) (or with a channel), the last T' frames of each
  sequence predicted: uint8 intensities or floats in [0, 1]."""
  total, height, width = info.features["image"].shape[:3]
  shown = frames.shape[1] if frames.ndim > 1 else 0
  if not (0 < shown < total and frames.shape in _frame_shapes(
      n, shown, height, width)):
    raise predictions.PredictionsError(
        path, f"'frames' has shape {frames.shape}, expected ({n}, T',"
        f" {height}, {width}) with 1 <= T' < {total}, the last T' frames (or"
        f" ({n}, T', {height}, {width}, 1) or ({n}, T', 1, {height},"
        f" {width}))")
  frames = frames.reshape(n, shown, height, width)
  if frames.dtype == np.uint8:
    return frames.astype(np.float32) / 255
  if frames.dtype.kind != "f":
    raise predictions.PredictionsError(
        path, f"'frames' must be uint8 intensities or floats in [0, 1], got"
        f" {frames.dtype}")
  predictions.check_finite(path, "frames", frames)
  predictions.refuse_values(path, "frames", frames, (frames < 0) | (frames > 1),
                            "values outside [0, 1]")
  return frames


def _checked_instances(path, ids, n, info):
  """`instances` (N, T, H, W) (or with a channel): object ids kept across
  each sequence's frames, 0 background."""
  total, height, width = info.features["image"].shape[:3]
  if ids.shape not in _frame_shapes(n, total, height, width):
    raise predictions.PredictionsError(
        path, f"'instances' has shape {ids.shape}, expected ({n}, {total},"
        f" {height}, {width}) (or ({n}, {total}, {height}, {width}, 1) or"
        f" ({n}, {total}, 1, {height}, {width})), every frame's object ids")
  if ids.dtype.kind not in "iu":
    raise predictions.PredictionsError(
        path, f"'instances' must hold integer object ids (0 = background),"
        f" got {ids.dtype}")
  predictions.refuse_values(path, "instances", ids, ids < 0, "negative ids")
  # Kept in their own dtype: a split's frames as int64 would be 6.5 GB.
  return ids.reshape(n, total, height, width)


def score(pred, truth, info):
  del info
  scores = {}
  if "frames" in pred:
    shown = pred["frames"].shape[1]
    true = truth["image"][:, -shown:, ..., 0].astype(np.float32) / 255
    scores.update(metrics.frame_prediction_scores(pred["frames"], true))
  if "instances" in pred:
    true = truth["instances"][..., 0]
    scores.update(tracking.tracking_scores(pred["instances"], true))
    scores.update(_frame_panoptic(pred["instances"], true))
  return scores


def _frame_panoptic(pred, true):
  """The still scorer's class-agnostic PQ, SQ and RQ, each frame an image."""
  height, width = true.shape[2:]
  frames = instances.instance_scores(
      pred.reshape(-1, height, width), true.reshape(-1, height, width),
      None, np.zeros(true.shape[0] * true.shape[1], np.int64), 1)
  return {f"frame_{k}": frames[k] for k in ("agnostic_pq", "agnostic_sq",
                                            "agnostic_rq")}


def _strip(frames):
  """Frames (T, H, W, ...) side by side, every _SHOWN_EVERY-th, one pixel
  apart."""
  picked = frames[::_SHOWN_EVERY]
  gap = np.zeros((picked.shape[1], 1) + picked.shape[3:], picked.dtype)
  return np.concatenate([part for frame in picked for part in (frame, gap)][:-1],
                        axis=1)


def panel(axes, example, features):
  """Above, every other frame; below, their class masks; titled by the
  index and the digits' classes."""
  frames_ax, mask_ax = axes
  colours = show.class_colours(features["mask"].feature.num_classes)
  frames_ax.imshow(_strip(example["image"][..., 0]), cmap="gray", vmin=0,
                   vmax=255)
  mask_ax.imshow(colours[_strip(example["mask"][..., 0])])
  names = features["objects"]["label"].names
  labels = " ".join(names[k] for k in example["objects"]["label"])
  frames_ax.set_title(f"index {example['index']}: {labels}, frames 0, 2, ...",
                      fontsize=7)


def legend(fig, features):
  names = features["mask"].feature.names
  show.class_legend(fig, names, show.class_colours(len(names)))


DECLARATION = declarations.Declaration(
    scoring=declarations.Scoring(
        (), (), check, score, optional=ARRAYS,
        optional_truth={"frames": ("image",), "instances": ("instances",)}),
    drawing=declarations.Drawing(panel, rows=2, legend=legend,
                                 legend_height=0.05, columns=1,
                                 panel_width=8.0),
    limitations=(
        "MNIST-format digits moving in straight lines on a black canvas,"
        " bouncing off its edges: no natural motion, background or"
        " lighting.",
        "Digits pass over one another without occlusion: the image is their"
        " pixelwise maximum, and each pixel's owner the brightest digit"
        " there.",
        "A sequence's digits are drawn from one source split, so a digit can"
        " occur in several sequences of that split."),
    preprocessing=(
        "Source digits drawn without replacement within each pass over the"
        " split's pool (the mosaics' pools), each with its TSS (Otsu) mask;"
        " start positions and directions from seeded PCG64 streams read as"
        " raw words; positions and velocities in integer units of 2**-20 of"
        " the free range, moved and bounced at the canvas edges as"
        " Srivastava et al.'s code does; each frame drawn as the pixelwise"
        " maximum, each pixel owned by the brightest covering digit.",),
    hub_tasks=("video-classification", "image-segmentation"),
)
