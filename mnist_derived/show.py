"""A montage of a built dataset's examples.

    mnist-derived show mnist_mosaic/scatter --num 16 --out scatter.png

One panel (or a column of panels) per example, drawn as its dataset
declares in its folder (`declaration.py`), with the dataset's legend under
them. The helpers here are theirs to share.
"""

import numpy as np

from mnist_derived import builds
from mnist_derived import declarations
from mnist_derived import decoding
from mnist_derived import geometry


def class_colours(num_classes):
  """RGB (num_classes, 3): class 0 (background) black, then tab10's colours,
  which stay distinguishable on black and from each other."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  tab = plt.get_cmap("tab10")(np.arange(max(num_classes - 1, 0)) % 10)[:, :3]
  return np.concatenate([[[0.0, 0.0, 0.0]], tab])[:num_classes]


def class_legend(fig, names, colours):
  """A legend of class colours under the figure."""
  import matplotlib.patches  # pylint: disable=g-import-not-at-top
  handles = [matplotlib.patches.Patch(color=colours[i], label=name)
             for i, name in enumerate(names)]
  fig.legend(handles=handles, loc="lower center", ncol=min(6, len(names)),
             fontsize=7, frameon=False)


def _examples(builder, split, num):
  """The first `num` stored examples of a split, sorted by index."""
  builds.check_split(builder, split)
  examples = []
  for example in decoding.stored_examples(builder, split):
    if len(examples) == num:
      break
    examples.append(example)
  return sorted(examples, key=lambda ex: int(ex["index"]))


def box_patch(box, height, width, colour, style="-"):
  """A matplotlib Rectangle of a TFDS box; pixel (i, j) is drawn centred on
  (j, i), so its edges are half a pixel off the integers."""
  import matplotlib.patches  # pylint: disable=g-import-not-at-top
  x, y, w, h = geometry.edge_rectangle(box, height, width)
  return matplotlib.patches.Rectangle(
      (x - 0.5, y - 0.5), w, h, fill=False, edgecolor=colour,
      linestyle=style, linewidth=1.0)


def montage(builder, split="test", num=16, examples=None):
  """A matplotlib Figure of the first `num` stored examples (by index) of a
  split, or of `examples` given (a generated split's), each drawn as its
  dataset declares (`declarations.Drawing`)."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  drawing = declarations.of(builder).drawing
  features = builder.info.features
  if examples is None:
    examples = _examples(builder, split, num)
  cols = min(drawing.columns, max(len(examples), 1))
  rows = -(-len(examples) // cols) * drawing.rows
  width = features["image"].shape[-2]
  size = 1.6 * max(1.0, width / 56)
  fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(
      size * drawing.panel_width * cols, (size + 0.25) * rows + 1.0))
  for ax in axes.ravel():
    ax.axis("off")
  for n, example in enumerate(examples):
    row, col = divmod(n, cols)
    top = row * drawing.rows
    drawing.panel(axes[top:top + drawing.rows, col], example, features)
  fig.suptitle(f"{builds.key(builder)}, {split}", fontsize=9)
  fig.tight_layout(rect=(0, drawing.legend_height, 1, 0.97))
  if drawing.legend:
    drawing.legend(fig, features)
  return fig


def _objects_in_colour(instance_map):
  """RGB of an instance map: each object (in order of its id) a colour of
  tab20, background black; ids need not be consecutive."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  ids, inverse = np.unique(instance_map, return_inverse=True)
  palette = plt.get_cmap("tab20")(np.arange(len(ids)) % 20)[:, :3]
  if ids[0] == 0:
    palette = np.concatenate([[[0.0, 0.0, 0.0]], palette[:-1]])
  return palette[inverse.reshape(instance_map.shape)]


def instances_montage(images, true_instances, pred_instances, indices, title):
  """A Figure of examples in columns: the image, its true objects, the
  predicted objects (each object a colour of its own, per panel)."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  rows = ("image", "true objects", "predicted objects")
  fig, axes = plt.subplots(3, len(images), squeeze=False,
                           figsize=(1.5 * len(images) + 1.2, 5.0))
  for c, (image, true, pred, index) in enumerate(
      zip(images, true_instances, pred_instances, indices)):
    panels = (image, _objects_in_colour(true), _objects_in_colour(pred))
    for r, panel in enumerate(panels):
      axes[r][c].imshow(panel, cmap="gray", vmin=0, vmax=255)
      axes[r][c].set_xticks([])
      axes[r][c].set_yticks([])
    axes[0][c].set_title(f"index {index}", fontsize=7)
  for r, name in enumerate(rows):
    axes[r][0].set_ylabel(name, fontsize=8)
  fig.suptitle(title, fontsize=9)
  fig.tight_layout(rect=(0, 0, 1, 0.95))
  return fig
