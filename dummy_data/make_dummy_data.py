"""Writes the small MNIST-format files in dummy_data/, for the unit tests.

Run from anywhere: ``python dummy_data/make_dummy_data.py``. The output is a
pure function of the seeds below: strokes drawn with OpenCV and blurred, so the
images have MNIST's soft edges, and every file has real IDX headers. Image 0
of every split holds two separate strokes (a mask of two components).
"""

import pathlib

import cv2
import numpy as np

from mnist_derived.core import idx
from mnist_derived.core import sources

HERE = pathlib.Path(__file__).resolve().parent
COUNTS = {"train": 24, "test": 10}
SEEDS = {"mnist": 0, "fashion_mnist": 1, "kmnist": 2}
SIZE = 28


def _stroke_image(rng, strokes):
  canvas = np.zeros((SIZE * 4, SIZE * 4), np.uint8)  # drawn 4x, then shrunk
  for _ in range(strokes):
    points = rng.integers(16, SIZE * 4 - 16, size=(rng.integers(2, 6), 2))
    if strokes > 1:  # keep separate strokes in separate halves
      points[:, 0] = points[:, 0] // 3 + (len(canvas) // 2 if _ else 8)
    cv2.polylines(canvas, [points.astype(np.int32)], False, 255,
                  thickness=int(rng.integers(6, 12)))
  small = cv2.resize(canvas, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
  return cv2.GaussianBlur(small, (3, 3), 0.6)


def make_split(rng, count):
  images = np.stack([_stroke_image(rng, 2 if i == 0 else 1)
                     for i in range(count)])
  labels = rng.integers(0, 10, size=count).astype(np.uint8)
  return images, labels


def main():
  for source, seed in SEEDS.items():
    rng = np.random.default_rng(seed)
    folder = HERE / source
    folder.mkdir(exist_ok=True)
    for split, (images_file, labels_file) in sources.SPLIT_FILES.items():
      images, labels = make_split(rng, COUNTS[split])
      idx.write_gz(folder / images_file, images)
      idx.write_gz(folder / labels_file, labels)
    print(f"wrote {folder}")


if __name__ == "__main__":
  main()
