"""What mnist_circles is to the scorer, `show` and the exports."""

from mnist_derived import declarations
from mnist_derived import show
from mnist_derived.evaluation import metrics
from mnist_derived.evaluation import predictions


def check(path, pred, n, info):
  predictions.check_shape(path, "label", pred["label"], (n,))
  predictions.check_class_ids(path, "label", pred["label"],
                              info.features["label"].num_classes)
  return {"label": pred["label"],
          "circle": predictions.circles(path, "circle", pred["circle"], n)}


def score(pred, truth, info):
  height, width = info.features["image"].shape[:2]
  return metrics.circle_scores(pred["label"], truth["label"], pred["circle"],
                               truth["circle"], height, width)


def panel(axes, example, features):
  """The image with its circle (solid) and box (dashed), the label above,
  with room around the frame for a circle that leaves it."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  (ax,) = axes
  height, width = features["image"].shape[:2]
  ax.imshow(example["image"][..., 0], cmap="gray", vmin=0, vmax=255)
  cx, cy, radius = example["circle"]
  ax.add_patch(plt.Circle((cx, cy), radius, fill=False, color="lime",
                          linewidth=1.0))
  ax.add_patch(show.box_patch(example["bbox"], height, width, "cyan", "--"))
  ax.set_xlim(-0.5 - width / 4, width - 0.5 + width / 4)
  ax.set_ylim(height - 0.5 + height / 4, -0.5 - height / 4)
  ax.set_title(features["label"].names[example["label"]], fontsize=7)


def legend(fig, features):
  """What the panels draw, under the figure."""
  del features
  import matplotlib.lines  # pylint: disable=g-import-not-at-top
  handles = [
      matplotlib.lines.Line2D([], [], color="lime",
                              label="minimal enclosing circle of the mask"),
      matplotlib.lines.Line2D([], [], color="cyan", linestyle="--",
                              label="its box"),
  ]
  fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=7,
             frameon=False)


DECLARATION = declarations.Declaration(
    scoring=declarations.Scoring(("label", "circle"), ("label", "circle"),
                                 check, score),
    drawing=declarations.Drawing(panel, legend=legend, legend_height=0.06),
    limitations=(
        "28x28 grayscale images of centred, isolated digits or items: not"
        " representative of natural images.",
        "The circle encloses the intensity-threshold mask, not a human"
        " outline: a faint stroke below the threshold can lie outside it."),
    preprocessing=(
        "Each image's TSS (Otsu) foreground mask, then the minimal circle"
        " holding every mask pixel centre (exact, in float64, its float32"
        " radius rounded up so that it still holds them) and the mask's tight"
        " box along pixel edges.",),
    hub_tasks=("image-classification", "object-detection"),
)
