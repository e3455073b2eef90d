"""Predictions files of trivial baselines, for the leaderboard.

    python leaderboard/baselines.py --data_dir DIR --out DIR

writes, for the test splits of mnist_fg/mnist, mnist_circles/mnist and
mnist_mosaic/2x2 and mnist_mosaic/scatter (built in --data_dir, any file
format):

* fg-all-background.npz: no pixel is foreground;
* fg-fixed-threshold.npz: foreground where the pixel is >= 128, one
  threshold for every image instead of each image's own;
* circles-mean.npz: the most frequent training label and the mean training
  circle for every image;
* mosaic-all-background.npz, mosaic-scatter-all-background.npz: every
  pixel background (and, for scatter, no object);
* mosaic-scatter-one-object.npz: every pixel >= 128 one object of one
  class (the most frequent training digit);
* mosaic-scatter-threshold-components.npz: each 8-connected region of
  pixels >= 128 one object (class-agnostic: no `mask`);
* multimnist-most-frequent.npz: the two most frequent training labels of
  mnist_mosaic/multimnist for every mosaic.

Score each with `mnist-derived score`.
"""

import argparse
import pathlib

import numpy as np

from mnist_derived import builds
from mnist_derived import files
from mnist_derived.cli import options
from mnist_derived.evaluation import instances
from mnist_derived.evaluation import score


def _split(dataset, split, features, data_dir):
  return score.load_truth(builds.built_builder(dataset, data_dir), split,
                          features)


def _most_frequent(dataset, count, data_dir):
  """The `count` most frequent digit classes of a mosaic's training split."""
  train = _split(dataset, "train", ("objects",), data_dir)
  labels = np.concatenate([o["label"] for o in train["objects"]])
  return np.argsort(-np.bincount(labels, minlength=10), kind="stable")[:count]


def _scatter_baselines(out, data_dir):
  test = _split("mnist_mosaic/scatter", "test", ("image",), data_dir)
  index, bright = test["index"], test["image"][..., 0] >= 128
  files.save_npz(out / "mosaic-scatter-all-background.npz", {
      "index": index, "mask": np.zeros(bright.shape, np.uint8),
      "instances": np.zeros(bright.shape, np.int64)})
  digit = _most_frequent("mnist_mosaic/scatter", 1, data_dir)[0]
  files.save_npz(out / "mosaic-scatter-one-object.npz", {
      "index": index, "instances": bright.astype(np.int64),
      "mask": (bright * (digit + 1)).astype(np.uint8)})
  files.save_npz(out / "mosaic-scatter-threshold-components.npz", {
      "index": index, "instances": instances.components(bright)})


def _multimnist_baseline(out, data_dir):
  test = _split("mnist_mosaic/multimnist", "test", (), data_dir)
  pair = _most_frequent("mnist_mosaic/multimnist", 2, data_dir)
  files.save_npz(out / "multimnist-most-frequent.npz", {
      "index": test["index"], "labels": np.tile(pair, (len(test["index"]), 1))})


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  options.add_data_dir(parser)
  parser.add_argument("--out", required=True)
  args = parser.parse_args()
  out = pathlib.Path(args.out)
  out.mkdir(parents=True, exist_ok=True)

  fg = _split("mnist_fg/mnist", "test", ("image",), args.data_dir)
  images = fg["image"][..., 0]
  save = files.save_npz
  save(out / "fg-all-background.npz",
       {"index": fg["index"], "mask": np.zeros_like(images, dtype=bool)})
  save(out / "fg-fixed-threshold.npz",
       {"index": fg["index"], "mask": images >= 128})

  train = _split("mnist_circles/mnist", "train", ("label", "circle"),
                 args.data_dir)
  test = _split("mnist_circles/mnist", "test", (), args.data_dir)
  n = len(test["index"])
  save(out / "circles-mean.npz", {
      "index": test["index"],
      "label": np.full(n, np.argmax(np.bincount(train["label"]))),
      "circle": np.tile(train["circle"].astype(np.float64).mean(axis=0),
                        (n, 1))})

  mosaic = _split("mnist_mosaic/2x2", "test", ("image",), args.data_dir)
  save(out / "mosaic-all-background.npz", {
      "index": mosaic["index"],
      "mask": np.zeros(mosaic["image"].shape[:3], np.uint8)})
  _scatter_baselines(out, args.data_dir)
  _multimnist_baseline(out, args.data_dir)
  print(f"wrote {', '.join(sorted(p.name for p in out.glob('*.npz')))} in {out}")


if __name__ == "__main__":
  main()
