"""PNG encoding of the builders' images: ours against what else a user
would pick, per image, in one run.

    python benchmarks/png.py --manual_dir ../shared/data/mnist

Images: 4096 MNIST test digits (28x28) and the image, class mask and
instance mask of 1366 `mnist_mosaic/scatter` examples (64x64). Encoders:
`encoding.png_batch` (ours: zlib run-length, written directly), OpenCV's
`imencode` with its defaults and with the run-length strategy (what the
builders used before), and TensorFlow's `encode_png` (what TFDS does with an
array). Prints microseconds per image, mean bytes, and each one's time as a
multiple of ours; checks that every encoder's output decodes to the input.
"""

import argparse
import time

import cv2
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from mnist_derived import MnistMosaic
from mnist_derived.core import encoding
from mnist_derived.core import sources

_RLE = [cv2.IMWRITE_PNG_COMPRESSION, 6,
        cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]

ENCODERS = {
    "ours (png_batch)": encoding.png_batch,
    "OpenCV imencode, defaults": lambda batch: [
        cv2.imencode(".png", image)[1].tobytes() for image in batch],
    "OpenCV imencode, RLE": lambda batch: [
        cv2.imencode(".png", image, _RLE)[1].tobytes() for image in batch],
    "TF encode_png": lambda batch: [
        tf.io.encode_png(image[..., None]).numpy() for image in batch],
}


def _images(manual_dir):
  dl_manager = tfds.download.DownloadManager(download_dir="/tmp")
  images, labels = sources.load_splits(manual_dir, dl_manager, "mnist")["test"]
  config = MnistMosaic.builder_configs["scatter"]
  canvases = []
  for _, example in MnistMosaic(config=config).examples_of_chunk(
      "test", images, labels, 0, 1366):
    canvases += [cv2.imdecode(np.frombuffer(example[key], np.uint8),
                              cv2.IMREAD_UNCHANGED)
                 for key in ("image", "mask", "instances")]
  return {"MNIST digits 28x28": images[:4096],
          "scatter canvases 64x64": np.stack(canvases)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--manual_dir", required=True)
  args = parser.parse_args()
  for kind, batch in _images(args.manual_dir).items():
    print(f"\n{kind} ({len(batch)} images)")
    ours = None
    for name, encode in ENCODERS.items():
      best = float("inf")
      for _ in range(3):
        start = time.perf_counter()
        pngs = encode(batch)
        best = min(best, time.perf_counter() - start)
      for png, image in zip(pngs, batch):
        decoded = cv2.imdecode(np.frombuffer(png, np.uint8),
                               cv2.IMREAD_UNCHANGED)
        assert np.array_equal(decoded, image), name
      per_image = 1e6 * best / len(batch)
      ours = ours or per_image
      print(f"  {name:28s} {per_image:6.1f} us/image"
            f" {np.mean([len(p) for p in pngs]):6.0f} B  x{per_image / ours:.2f}")


if __name__ == "__main__":
  main()
