"""Predictions files of trivial baselines, for the leaderboard.

    python leaderboard/baselines.py --data_dir DIR --out DIR

writes, for the test splits of mnist_fg/mnist, mnist_circles/mnist,
mnist_mosaic/2x2, mnist_mosaic/scatter, mnist_mosaic/multimnist and
mnist_moving/mnist (built in --data_dir, any file format):

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
  mnist_mosaic/multimnist for every mosaic;
* moving-copy-last.npz, moving-mean-frame.npz: mnist_moving/mnist's last 10
  test frames predicted as the 10th frame again, or as the mean training
  frame;
* moving-linked-components.npz: each 8-connected region of pixels >= 128
  of each frame one object, linked to the previous frame's region it
  overlaps most.

`--only moving ...` writes some of them.

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


def _fg_baselines(out, data_dir):
  fg = _split("mnist_fg/mnist", "test", ("image",), data_dir)
  images = fg["image"][..., 0]
  files.save_npz(out / "fg-all-background.npz",
                 {"index": fg["index"], "mask": np.zeros_like(images, dtype=bool)})
  files.save_npz(out / "fg-fixed-threshold.npz",
                 {"index": fg["index"], "mask": images >= 128})


def _circles_baseline(out, data_dir):
  train = _split("mnist_circles/mnist", "train", ("label", "circle"), data_dir)
  test = _split("mnist_circles/mnist", "test", (), data_dir)
  n = len(test["index"])
  files.save_npz(out / "circles-mean.npz", {
      "index": test["index"],
      "label": np.full(n, np.argmax(np.bincount(train["label"]))),
      "circle": np.tile(train["circle"].astype(np.float64).mean(axis=0),
                        (n, 1))})


def _mosaic_baseline(out, data_dir):
  mosaic = _split("mnist_mosaic/2x2", "test", ("image",), data_dir)
  files.save_npz(out / "mosaic-all-background.npz", {
      "index": mosaic["index"],
      "mask": np.zeros(mosaic["image"].shape[:3], np.uint8)})


def _moving_baselines(out, data_dir):
  """The last 10 frames from the first 10: the last seen frame again, and
  the mean training frame (per pixel, over every frame of every train
  sequence)."""
  test = _split("mnist_moving/mnist", "test", ("image",), data_dir)
  frames = test["image"][..., 0]
  files.save_npz(out / "moving-copy-last.npz", {
      "index": test["index"], "frames": np.repeat(frames[:, 9:10], 10, axis=1)})
  train = _split("mnist_moving/mnist", "train", ("image",), data_dir)
  mean = train["image"][..., 0].mean(axis=(0, 1), dtype=np.float64) / 255
  files.save_npz(out / "moving-mean-frame.npz", {
      "index": test["index"],
      "frames": np.broadcast_to(mean.astype(np.float32),
                                (len(frames), 10) + mean.shape)})


def _linked(sequence_components):
  """Components (T, H, W) of one sequence, each given the id of the
  previous frame's component it overlaps most; of several claiming one id
  the largest overlap keeps it, and the others, as components overlapping
  none, get new ids."""
  linked = np.zeros_like(sequence_components)
  next_id = 1
  for t, frame in enumerate(sequence_components):
    claims = {}
    for k in np.unique(frame[frame > 0]):
      before = linked[t - 1][frame == k] if t else np.zeros(0, np.int64)
      before = before[before > 0]
      key = int(np.bincount(before).argmax()) if len(before) else 0
      overlap = int((before == key).sum()) if key else 0
      claims.setdefault(key, []).append((overlap, k))
    for old_id, claimants in sorted(claims.items()):
      for rank, (_, k) in enumerate(sorted(claimants, reverse=True)):
        if old_id and rank == 0:
          linked[t][frame == k] = old_id
        else:
          linked[t][frame == k] = next_id
          next_id += 1
  return linked


def _moving_components(out, data_dir):
  """Each 8-connected region of pixels >= 128 of each frame one object,
  linked from frame to frame by overlap."""
  test = _split("mnist_moving/mnist", "test", ("image",), data_dir)
  frames = test["image"][..., 0] >= 128
  tracks = np.stack([_linked(instances.components(seq)) for seq in frames])
  files.save_npz(out / "moving-linked-components.npz", {
      "index": test["index"], "instances": tracks})


BASELINES = {"fg": _fg_baselines, "circles": _circles_baseline,
             "mosaic": _mosaic_baseline, "scatter": _scatter_baselines,
             "multimnist": _multimnist_baseline, "moving": _moving_baselines,
             "moving_tracks": _moving_components}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  options.add_data_dir(parser)
  parser.add_argument("--out", required=True)
  parser.add_argument("--only", nargs="+", choices=sorted(BASELINES),
                      default=sorted(BASELINES),
                      help="the baselines to write (default: all)")
  args = parser.parse_args()
  out = pathlib.Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  for name in args.only:
    BASELINES[name](out, args.data_dir)
  print(f"wrote {', '.join(sorted(p.name for p in out.glob('*.npz')))} in {out}")


if __name__ == "__main__":
  main()
