"""What mnist_ink is to the scorer, `show` and the exports."""

import numpy as np

from mnist_derived import declarations
from mnist_derived.evaluation import predictions


def check(path, pred, n, info):
  del info
  predictions.check_shape(path, "ink", pred["ink"], (n,))
  predictions.check_finite(path, "ink", pred["ink"])
  return {"ink": pred["ink"].astype(np.float64)}


def score(pred, truth, info):
  del info
  error = np.abs(pred["ink"] - truth["ink"])
  return {"ink_mae": float(error.mean()),
          "ink_exact": float((error == 0).mean())}


def panel(axes, example, features):
  del features
  (ax,) = axes
  ax.imshow(example["image"][..., 0], cmap="gray", vmin=0, vmax=255)
  ax.set_title(f"ink {example['ink']}", fontsize=7)


DECLARATION = declarations.Declaration(
    scoring=declarations.Scoring(("ink",), ("ink",), check, score),
    drawing=declarations.Drawing(panel),
    limitations=("Ink is counted on the threshold mask, not on strokes.",),
    preprocessing=("Ink: the number of pixels of the image's TSS mask.",),
    hub_tasks=("image-classification",))
