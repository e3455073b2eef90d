"""The vectorised derivation against the per-image loops a user would write.

    python benchmarks/ground_truth.py --manual_dir ../shared/data/mnist

On all 70000 real MNIST images, in one process, best of --repeats runs each:

1. thresholds: `geometry.tss_thresholds` (one call for all images) against
   a loop of `skimage.filters.threshold_otsu`; the masks must be identical.
2. circles: `geometry.min_enclosing_circles` of the masks against a loop of
   OpenCV's `findContours` (outer contours of every component) and
   `minEnclosingCircle` of all their points; ours must cover every
   foreground pixel and agree with OpenCV to its float precision.

Prints each time and the ratio loop / ours (targets: thresholds >= 20x,
circles >= 1x). The share of derivation in each build's time is printed by
benchmarks/builds.py.
"""

import argparse
import time

import cv2
import numpy as np
from skimage.filters import threshold_otsu

from mnist_derived import geometry
from mnist_derived.core import idx
from mnist_derived.core import sources


def best_time(fn, repeats):
  """(seconds of the fastest of `repeats` runs, result of the last)."""
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    result = fn()
    best = min(best, time.perf_counter() - start)
  return best, result


def skimage_masks(images):
  return np.stack([image > threshold_otsu(image) for image in images])


def opencv_circles(masks):
  circles = np.empty((len(masks), 3))
  for i, mask in enumerate(masks):
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    (cx, cy), r = cv2.minEnclosingCircle(np.concatenate(contours))
    circles[i] = cx, cy, r
  return circles


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--manual_dir", required=True,
                      help="folder with the four MNIST IDX gz files")
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  images = np.concatenate([
      idx.read_images(f"{args.manual_dir}/{files[0]}")
      for files in sources.SPLIT_FILES.values()])
  print(f"{len(images)} images, best of {args.repeats} runs")

  ours_s, thresholds = best_time(lambda: geometry.tss_thresholds(images),
                                 args.repeats)
  loop_s, reference = best_time(lambda: skimage_masks(images), args.repeats)
  masks = geometry.foreground_masks(images, thresholds)
  same = np.count_nonzero((masks == reference).all(axis=(1, 2)))
  print(f"thresholds: ours {ours_s:.3f} s, skimage loop {loop_s:.3f} s,"
        f" ratio {loop_s / ours_s:.1f}x; identical masks {same}/{len(images)}")

  ours_s, circles = best_time(lambda: geometry.min_enclosing_circles(masks),
                              args.repeats)
  loop_s, reference = best_time(lambda: opencv_circles(masks), args.repeats)
  discs = geometry.disc_masks(circles, 28, 28) > 0
  uncovered = np.count_nonzero((masks.astype(bool) & ~discs).any(axis=(1, 2)))
  center = np.abs(circles[:, :2] - reference[:, :2]).max()
  radius = (reference[:, 2] - circles[:, 2])
  print(f"circles: ours {ours_s:.3f} s, OpenCV loop {loop_s:.3f} s,"
        f" ratio {loop_s / ours_s:.2f}x; masks not covered {uncovered};"
        f" max center difference {center:.1e} px; OpenCV radius larger by"
        f" {radius.min():.1e} to {radius.max():.1e} px")


if __name__ == "__main__":
  main()
