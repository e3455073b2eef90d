"""What mnist_mosaic is to the scorer, `show` and the exports."""

import numpy as np

from mnist_derived import decoding
from mnist_derived import declarations
from mnist_derived import show
from mnist_derived.evaluation import instances
from mnist_derived.evaluation import metrics
from mnist_derived.evaluation import predictions

ARRAYS = ("mask", "instances", "labels")


def _mask_shape(info, n):
  return (n, *info.features["mask"].shape[:2])


def check(path, pred, n, info):
  if not set(pred) & set(ARRAYS):
    raise predictions.PredictionsError(
        path, "missing array 'mask', 'instances' or 'labels' (a mosaic's"
        " predictions hold any of them, beside 'index')")
  checked = {}
  if "mask" in pred:
    mask = predictions.image_array(path, "mask", pred["mask"],
                                   _mask_shape(info, n))
    predictions.check_class_ids(path, "mask", mask,
                                info.features["mask"].num_classes)
    checked["mask"] = mask
  if "instances" in pred:
    owners = predictions.image_array(path, "instances", pred["instances"],
                                     _mask_shape(info, n))
    checked["instances"] = predictions.instance_ids(path, "instances", owners)
  if "labels" in pred:
    checked["labels"] = _checked_digit_labels(path, pred["labels"], n, info)
  return checked


def _checked_digit_labels(path, labels, n, info):
  _, (digits,) = decoding.feature_specs(info.features)["/objects/label"]
  if digits is None:
    raise predictions.PredictionsError(
        path, f"'labels' needs mosaics of a fixed number of digits;"
        f" {info.full_name}'s vary: give 'mask' or 'instances'")
  predictions.check_shape(path, "labels", labels, (n, digits))
  predictions.check_class_ids(path, "labels", labels,
                              info.features["mask"].num_classes - 1)
  return labels


def score(pred, truth, info):
  num_classes = info.features["mask"].num_classes
  scores = {}
  if "mask" in pred:
    scores.update(metrics.mosaic_scores(pred["mask"], truth["mask"][..., 0],
                                        num_classes))
  if "instances" in pred:
    scores.update(instances.instance_scores(
        pred["instances"], truth["instances"][..., 0],
        [objects["label"] for objects in truth["objects"]],
        truth["num_digits"], num_classes - 1, pred.get("mask")))
  if "labels" in pred:
    scores.update(metrics.label_set_scores(
        pred["labels"], np.stack([o["label"] for o in truth["objects"]]),
        num_classes - 1))
  return scores


def panel(axes, example, features):
  """Above, the image with each object's box in its class colour, titled by
  the example's index and count of digits; below, the class mask in the
  same colours."""
  image_ax, mask_ax = axes
  height, width = features["image"].shape[:2]
  colours = show.class_colours(features["mask"].num_classes)
  image_ax.imshow(example["image"][..., 0], cmap="gray", vmin=0, vmax=255)
  objects = example["objects"]
  for box, label in zip(objects["bbox"], objects["label"]):
    if box[2] > box[0]:  # a digit with an empty mask has no box to draw
      image_ax.add_patch(show.box_patch(box, height, width,
                                        colours[label + 1]))
  count = len(objects["label"])
  digits = f"{count} digit{'s' * (count != 1)}" if count else "no digits"
  image_ax.set_title(f"index {example['index']}: {digits}", fontsize=7)
  mask_ax.imshow(colours[example["mask"][..., 0]])


def legend(fig, features):
  names = features["mask"].names
  show.class_legend(fig, names, show.class_colours(len(names)))


DECLARATION = declarations.Declaration(
    scoring=declarations.Scoring(
        (), ("mask",), check, score, optional=ARRAYS,
        optional_truth={"instances": ("instances", "objects", "num_digits"),
                        "labels": ("objects",)}),
    drawing=declarations.Drawing(panel, rows=2, legend=legend,
                                 legend_height=0.08),
    limitations=(
        "MNIST-format digits pasted on a black canvas: no natural"
        " background, and digits occlude one another only where they"
        " overlap (the image is their pixelwise maximum).",
        "Each digit's mask comes from its own intensity threshold, not from"
        " a human outline.",
        "A mosaic's digits are drawn from one source split, so a digit can"
        " occur in several mosaics of that split."),
    exports=("coco",),
    preprocessing=(
        "Source digits drawn without replacement within each pass over the"
        " split's pool, by seeded PCG64 streams read as raw words; each"
        " digit's TSS (Otsu) mask; grids tile them, the scattered configs and"
        " multimnist place them (positions, scales and counts from the"
        " streams) and draw the image as the pixelwise maximum, each pixel"
        " owned by the brightest covering digit.",),
    hub_tasks=("image-segmentation", "object-detection"),
)
