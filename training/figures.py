"""Figures of a run: learning curves and test predictions beside the truth."""

import csv

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from mnist_derived import files
from mnist_derived import show
from mnist_derived.evaluation import metrics


def learning_curves(log_csv, path, title=""):
  """Plots every `x` / `val_x` pair of a Keras CSV log, one panel each."""
  with open(log_csv, newline="") as f:
    rows = list(csv.DictReader(f))
  if not rows:
    return
  fig = curves_figure(rows, title)
  files.save_figure(fig, path, dpi=80)
  plt.close(fig)


def curves_figure(rows, title=""):
  """The learning-curves figure of a Keras CSV log's rows.

  Epochs are whole numbers on the x axis, with half an epoch of margin, so
  a one-epoch run shows its two points (train, validation) plainly.
  """
  names = [k for k in rows[0] if k not in ("epoch", "learning_rate")
           and not k.startswith("val_")]
  epochs = [int(r["epoch"]) + 1 for r in rows]
  fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.8),
                           squeeze=False)
  for ax, name in zip(axes[0], names):
    ax.plot(epochs, [float(r[name]) for r in rows], "o-", label="train")
    if f"val_{name}" in rows[0]:
      ax.plot(epochs, [float(r[f"val_{name}"]) for r in rows], "s--",
              label="validation")
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("epoch")
    ax.set_xlim(0.5, epochs[-1] + 0.5)
    if epochs[-1] <= 15:
      ax.set_xticks(range(1, epochs[-1] + 1))
    else:
      ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
  axes[0][0].legend(fontsize=8)
  fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return fig


def prediction_grid(task, model, batch, path, info):
  """Saves a batch of examples with truth and prediction overlaid, drawn by
  the task's `figure`."""
  outputs = task.predict(model, batch["image"])
  fig = task.figure(np.asarray(batch["image"])[..., 0], batch, outputs, info)
  files.save_figure(fig, path, dpi=80)
  plt.close(fig)


def _panel_row(count):
  fig, axes = plt.subplots(1, count, figsize=(1.6 * count, 2.0), squeeze=False)
  for ax in axes[0]:
    ax.axis("off")
  return fig, axes[0]


def fg_figure(images, batch, outputs, info):
  """Each image with its pixels coloured by agreement, its Jaccard above."""
  del info
  fig, axes = _panel_row(len(images))
  for i, ax in enumerate(axes):
    true = np.asarray(batch["mask"])[i, ..., 0] > 0
    pred = outputs[i, ..., 0] > 0.5
    ax.imshow(images[i], cmap="gray")
    ax.imshow(_error_overlay(true, pred))
    score = metrics.foreground_scores(pred[None], true[None])
    ax.set_title(f"J={score['mean_image_jaccard']:.3f}", fontsize=7)
  fig.suptitle("fg: both green, prediction only red, truth only blue",
               fontsize=8)
  fig.tight_layout()
  return fig


def circles_figure(images, batch, outputs, info):
  """Each image with its true (solid) and predicted (dashed) circle, the
  predicted label above."""
  del info
  fig, axes = _panel_row(len(images))
  for i, ax in enumerate(axes):
    ax.imshow(images[i], cmap="gray")
    true = np.asarray(batch["circle"])[i]
    pred = metrics.circles_from_normalized(outputs["circle"][i:i + 1])[0]
    for (cx, cy, r), colour, style in [(true, "lime", "-"),
                                       (pred, "red", "--")]:
      ax.add_patch(plt.Circle((cx, cy), r, fill=False, color=colour,
                              linestyle=style, linewidth=1.0))
    label = int(np.argmax(outputs["label"][i]))
    ax.set_title(f"{label} (true {np.asarray(batch['label'])[i]})", fontsize=7)
    ax.set_xlim(-8, 35)
    ax.set_ylim(35, -8)
  fig.suptitle("truth: green solid, prediction: red dashed", fontsize=8)
  fig.tight_layout()
  return fig


def pairs_figure(images, batch, outputs, info):
  """Each image, its predicted pair above and the true one in brackets."""
  del info
  fig, axes = _panel_row(len(images))
  true = np.sort(np.asarray(batch["objects"]["label"]), axis=-1)
  pred = np.sort(np.argsort(-np.asarray(outputs), axis=-1)[:, :2], axis=-1)
  for ax, image, p, t in zip(axes, images, pred, true):
    ax.imshow(image, cmap="gray")
    ax.set_title(f"{p[0]},{p[1]} ({t[0]},{t[1]})", fontsize=7,
                 color="black" if (p == t).all() else "red")
  fig.suptitle("predicted pair (true pair); red where they differ",
               fontsize=8)
  fig.tight_layout()
  return fig


def _error_overlay(true, pred):
  """RGBA: pixels both call foreground green, false positives red, misses blue."""
  rgba = np.zeros(true.shape + (4,))
  rgba[true & pred] = (0, 0.8, 0, 0.45)
  rgba[pred & ~true] = (1, 0, 0, 0.9)
  rgba[true & ~pred] = (0, 0.3, 1, 0.9)
  return rgba


def mosaic_figure(images, batch, outputs, info):
  """Up to four images, each above its true and predicted class masks."""
  return _class_maps_figure(images, [
      (np.asarray(batch["mask"])[..., 0], None, "truth"),
      (np.argmax(outputs, axis=-1), None, "prediction")], info)


def scatter_figure(images, batch, outputs, info):
  """Up to four images, each above its true and predicted objects, in their
  classes' colours with each object's outline."""
  return _class_maps_figure(images, [
      (np.asarray(batch["mask"])[..., 0],
       np.asarray(batch["instances"])[..., 0], "truth"),
      (outputs["mask"], outputs["instances"], "prediction")], info)


def _class_maps_figure(images, rows, info):
  """Up to four images above rows of (class maps, instance maps to outline
  or None, title), in the classes' colours, with their legend."""
  class_names = info.features["mask"].names
  colours = show.class_colours(len(class_names))
  count = min(4, len(images))
  fig, axes = plt.subplots(3, count, figsize=(1.8 * count, 6.2), squeeze=False)
  for i in range(count):
    axes[0][i].imshow(images[i], cmap="gray")
    axes[0][i].set_title("image", fontsize=7)
    for ax, (classes, objects, name) in zip(axes[1:, i], rows):
      ax.imshow(colours[classes[i]])
      if objects is not None:
        ax.contour(objects[i], levels=np.arange(objects[i].max()) + 0.5,
                   colors="white", linewidths=0.5)
      ax.set_title(name, fontsize=7)
  for ax in axes.ravel():
    ax.axis("off")
  fig.tight_layout(rect=(0, 0.1, 1, 1))
  show.class_legend(fig, class_names, colours)
  return fig
