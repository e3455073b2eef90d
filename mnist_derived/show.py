"""A montage of a built dataset's examples.

    mnist-derived show mnist_mosaic/scatter --num 16 --out scatter.png

One panel per example, drawn by what the dataset holds:
* a foreground mask (mnist_fg): the image with its mask tinted, the label
  and threshold above;
* a circle (mnist_circles): the image with its circle (solid) and box
  (dashed), the label above, and a legend of the two;
* objects and a class mask (mnist_mosaic): the image with each object's box
  in its class colour, titled by the example's `index` and its count of
  digits ("no digits" for an empty canvas), and below it the class mask in
  the same colours, with a legend of the class names.
"""

import numpy as np

from mnist_derived import builds
from mnist_derived import decoding
from mnist_derived.core import errors


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


def _kind(features):
  if "circle" in features:
    return "circles"
  if "objects" in features:
    return "mosaic"
  if "mask" in features:
    return "fg"
  raise errors.InputError("no mask, circle or objects to show")


def _examples(builder, split, num):
  """The first `num` stored examples of a split, sorted by index."""
  builds.check_split(builder, split)
  examples = []
  for example in decoding.stored_examples(builder, split):
    if len(examples) == num:
      break
    examples.append(example)
  return sorted(examples, key=lambda ex: int(ex["index"]))


def _box_patch(box, height, width, colour, style="-"):
  """A matplotlib Rectangle of a TFDS box (ymin, xmin, ymax, xmax in [0, 1]
  along pixel edges); pixel (i, j) is drawn centred on (j, i)."""
  import matplotlib.patches  # pylint: disable=g-import-not-at-top
  ymin, xmin, ymax, xmax = box
  return matplotlib.patches.Rectangle(
      (xmin * width - 0.5, ymin * height - 0.5), (xmax - xmin) * width,
      (ymax - ymin) * height, fill=False, edgecolor=colour, linestyle=style,
      linewidth=1.0)


def montage(builder, split="test", num=16):
  """A matplotlib Figure of the first `num` examples (by index) of a split."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  features = builder.info.features
  kind = _kind(features)
  examples = _examples(builder, split, num)
  cols = min(8, max(len(examples), 1))
  rows = -(-len(examples) // cols)
  rows_per = 2 if kind == "mosaic" else 1
  height, width = features["image"].shape[:2]
  size = 1.6 * max(1.0, width / 56)
  fig, axes = plt.subplots(rows * rows_per, cols, squeeze=False,
                           figsize=(size * cols,
                                    (size + 0.25) * rows * rows_per + 1.0))
  for ax in axes.ravel():
    ax.axis("off")
  if kind == "mosaic":
    names = features["mask"].names
    colours = class_colours(len(names))
  label_names = (features["label"].names if "label" in features else None)
  for n, ex in enumerate(examples):
    r, c = divmod(n, cols)
    ax = axes[r * rows_per][c]
    image = ex["image"][..., 0]
    ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    if kind == "fg":
      tint = np.zeros(image.shape + (4,))
      tint[ex["mask"][..., 0] > 0] = (1.0, 0.5, 0.0, 0.55)
      ax.imshow(tint)
      ax.set_title(f"{label_names[ex['label']]}  t={ex['threshold']}",
                   fontsize=7)
    elif kind == "circles":
      cx, cy, radius = ex["circle"]
      ax.add_patch(plt.Circle((cx, cy), radius, fill=False, color="lime",
                              linewidth=1.0))
      ax.add_patch(_box_patch(ex["bbox"], height, width, "cyan", "--"))
      ax.set_xlim(-0.5 - width / 4, width - 0.5 + width / 4)
      ax.set_ylim(height - 0.5 + height / 4, -0.5 - height / 4)
      ax.set_title(label_names[ex["label"]], fontsize=7)
    else:
      for box, label in zip(ex["objects"]["bbox"], ex["objects"]["label"]):
        if box[2] > box[0]:
          ax.add_patch(_box_patch(box, height, width, colours[label + 1]))
      count = len(ex["objects"]["label"])
      digits = f"{count} digit{'s' * (count != 1)}" if count else "no digits"
      ax.set_title(f"index {ex['index']}: {digits}", fontsize=7)
      below = axes[r * rows_per + 1][c]
      below.imshow(colours[ex["mask"][..., 0]])
  title = f"{builder.name}/{builder.builder_config.name} {builder.version}," \
          f" {split}"
  fig.suptitle(title, fontsize=9)
  if kind == "mosaic":
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    class_legend(fig, names, colours)
  elif kind == "circles":
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    circle_legend(fig)
  else:
    fig.tight_layout(rect=(0, 0, 1, 0.97))
  return fig


def circle_legend(fig):
  """What the circles panels draw, under the figure."""
  import matplotlib.lines  # pylint: disable=g-import-not-at-top
  handles = [
      matplotlib.lines.Line2D([], [], color="lime",
                              label="minimal enclosing circle of the mask"),
      matplotlib.lines.Line2D([], [], color="cyan", linestyle="--",
                              label="its box"),
  ]
  fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=7,
             frameon=False)


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
