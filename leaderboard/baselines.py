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
  pixel background.

Score each with `mnist-derived score`.
"""

import argparse
import pathlib

import numpy as np

from mnist_derived import builds
from mnist_derived import files
from mnist_derived.cli import options
from mnist_derived.evaluation import score


def _split(dataset, split, features, data_dir):
  return score.load_truth(builds.built_builder(dataset, data_dir), split,
                          features)


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

  for dataset, name in [("mnist_mosaic/2x2", "mosaic"),
                        ("mnist_mosaic/scatter", "mosaic-scatter")]:
    mosaic = _split(dataset, "test", (), args.data_dir)
    shape = builds.built_builder(
        dataset, args.data_dir).info.features["mask"].shape[:2]
    save(out / f"{name}-all-background.npz", {
        "index": mosaic["index"],
        "mask": np.zeros((len(mosaic["index"]), *shape), np.uint8)})
  print(f"wrote {', '.join(sorted(p.name for p in out.glob('*.npz')))} in {out}")


if __name__ == "__main__":
  main()
