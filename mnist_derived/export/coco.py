"""COCO export of mosaic datasets: detection and instance segmentation.

    images/<split>/<index>.png           the example's image (the build's PNG)
    annotations/instances_<split>.json   COCO's `images`, `annotations`,
                                         `categories`

Conventions: an image's `id` is the example's `index`; category d + 1 is
class d (as in the class masks), named after the source's class; an
annotation is one object of `objects` that owns at least one pixel of
`instances` (an object that owns none, such as a blank source image, has no
box or mask and is left out). Its `segmentation` is the uncompressed RLE of
exactly the pixels it owns (COCO's column-major runs, starting with
background), `area` their count, `bbox` their tight box as [x, y, width,
height] in pixels along pixel edges (the pixel at column j, row i spans
[j, j + 1) x [i, i + 1)), `iscrowd` 0. Annotation ids start at 1 (COCOeval
reads 0 as "unmatched").
"""

import json

import cv2
import numpy as np

from mnist_derived import declarations
from mnist_derived import geometry
from mnist_derived.export import reading


def rle(mask):
  """COCO's uncompressed RLE of a 2-D boolean mask: {size, counts}.

  counts alternate runs of 0s and 1s over the pixels in column-major order,
  starting with a (possibly empty) run of 0s.
  """
  flat = np.asarray(mask, bool).T.ravel()
  edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
  runs = np.diff(np.concatenate([[0], edges, [flat.size]]))
  if flat.size and flat[0]:
    runs = np.concatenate([[0], runs])
  return {"size": list(mask.shape), "counts": runs.tolist()}


def annotations_of(instances, labels, image_id, first_id):
  """COCO annotations of one example's objects (see the module docstring)."""
  annotations = []
  for k, label in enumerate(labels):
    owned = instances == k + 1
    area = int(owned.sum())
    if not area:
      continue
    box = geometry.coco_boxes(geometry.tight_boxes(owned[None])[0])
    annotations.append({
        "id": first_id + len(annotations), "image_id": image_id,
        "category_id": int(label) + 1, "bbox": box.tolist(),
        "area": area, "iscrowd": 0, "segmentation": rle(owned),
    })
  return annotations


def categories(builder):
  names = builder.info.features["objects"]["label"].names
  return [{"id": d + 1, "name": name, "supercategory":
           builder.builder_config.source} for d, name in enumerate(names)]


def coco_records(builder, split, image_folder=None):
  """Yields (image entry, [annotations]) of a built split, example by example.

  With `image_folder`, also writes each image there as <index>.png (the
  build's own PNG bytes). Annotation ids count up from 1 in stream order.
  """
  declarations.check_export(builder, "coco")
  height, width = builder.info.features["image"].shape[:2]
  next_id = 1
  for example in reading.stream(builder, split):
    index = int(example["index"])
    if image_folder is not None:
      (image_folder / f"{index}.png").write_bytes(bytes(example["image"]))
    instances = cv2.imdecode(np.frombuffer(example["instances"], np.uint8),
                             cv2.IMREAD_UNCHANGED)
    annotations = annotations_of(instances, example["objects"]["label"],
                                 index, next_id)
    next_id += len(annotations)
    yield ({"id": index, "file_name": f"{split}/{index}.png",
            "height": height, "width": width}, annotations)


def _info(builder, split):
  return {"description": f"{builder.name}/{builder.builder_config.name}"
                         f" {builder.version} {split}",
          "version": str(builder.version)}


def ground_truth(builder, split):
  """The COCO dataset dict of a built split, in memory (for scoring)."""
  images, annotations = [], []
  for image, anns in coco_records(builder, split):
    images.append(image)
    annotations += anns
  return {"info": _info(builder, split), "images": images,
          "annotations": annotations, "categories": categories(builder)}


def write_annotations(builder, split, path, image_folder):
  """Writes instances_<split>.json as the split streams by, in constant
  memory: images and annotations go to two scratch files, joined at the end.
  Returns (images, annotations) counts."""
  scratch = [path.with_name(f".{path.stem}.{part}") for part in ("i", "a")]
  counts = [0, 0]
  with open(scratch[0], "w") as images, open(scratch[1], "w") as anns:
    for image, annotations in coco_records(builder, split, image_folder):
      images.write(("," if counts[0] else "") + json.dumps(image))
      counts[0] += 1
      for annotation in annotations:
        anns.write(("," if counts[1] else "") + json.dumps(annotation))
        counts[1] += 1
  with open(path, "w") as out:
    out.write(f'{{"info": {json.dumps(_info(builder, split))}, "images": [')
    _append(out, scratch[0])
    out.write('], "annotations": [')
    _append(out, scratch[1])
    out.write(f'], "categories": {json.dumps(categories(builder))}}}')
  return tuple(counts)


def _append(out, part):
  """Copies a scratch file into `out` in 1 MB blocks, then removes it."""
  with open(part) as f:
    for block in iter(lambda: f.read(1 << 20), ""):
      out.write(block)
  part.unlink()


def export(builder, out, split=None, overwrite=False):
  """Writes the COCO export of a built mosaic dataset to `out`."""
  declarations.check_export(builder, "coco")
  counts = {}
  with reading.atomic_folder(out, overwrite) as folder:
    (folder / "annotations").mkdir()
    for name in reading.splits_of(builder, split):
      image_folder = folder / "images" / name
      image_folder.mkdir(parents=True)
      images, annotations = write_annotations(
          builder, name, folder / "annotations" / f"instances_{name}.json",
          image_folder)
      counts[name] = {"images": images, "annotations": annotations}
  return {"format": "coco", "out": str(out), "splits": counts}
