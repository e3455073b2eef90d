"""What mnist_fg is to the scorer, `show` and the exports."""

import numpy as np

from mnist_derived import declarations
from mnist_derived.evaluation import metrics
from mnist_derived.evaluation import predictions


def check(path, pred, n, info):
  mask = predictions.image_array(path, "mask", pred["mask"],
                                 (n, *info.features["mask"].shape[:2]))
  return {"mask": predictions.binary_mask(path, "mask", mask)}


def score(pred, truth, info):
  del info
  return metrics.foreground_scores(pred["mask"], truth["mask"][..., 0])


def panel(axes, example, features):
  """The image with its mask tinted, the label and threshold above."""
  (ax,) = axes
  image = example["image"][..., 0]
  ax.imshow(image, cmap="gray", vmin=0, vmax=255)
  tint = np.zeros(image.shape + (4,))
  tint[example["mask"][..., 0] > 0] = (1.0, 0.5, 0.0, 0.55)
  ax.imshow(tint)
  label = features["label"].names[example["label"]]
  ax.set_title(f"{label}  t={example['threshold']}", fontsize=7)


DECLARATION = declarations.Declaration(
    scoring=declarations.Scoring(("mask",), ("mask",), check, score),
    drawing=declarations.Drawing(panel),
    limitations=(
        "28x28 grayscale images of centred, isolated digits or items: not"
        " representative of natural images.",
        "Masks come from an intensity threshold, not from human outlines:"
        " faint strokes below the threshold are background."),
    preprocessing=(
        "Each image's threshold t minimises the total within-class sum of"
        " squares of its intensities (Otsu's criterion, searched over every"
        " integer level); its mask is 1 where intensity >= t.",),
    hub_tasks=("image-segmentation",),
)
