"""CI, in a venv that never had TensorFlow: the PyTorch and grain loaders
read every index once, and perfect predictions score 1.0 through the
command.

    python .ci/no_tensorflow.py DATA_DIR mnist_fg/mnist mnist_mosaic/scatter
"""

import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

from mnist_derived import loaders

SCORE_KEYS = {"mnist_fg": "mean_image_jaccard", "mnist_mosaic": "mean_iou"}


def check_loaders(dataset, data_dir):
  size = len(loaders.DecodedSplit(dataset, "train", data_dir))
  torch_seen = [int(i) for batch in loaders.torch_loader(
      dataset, "train", 256, seed=0, data_dir=data_dir)
                for i in batch["index"]]
  grain_seen = [int(i) for batch in loaders.grain_dataset(
      dataset, "train", 256, seed=0, data_dir=data_dir)
                for i in batch["index"]]
  for name, seen in (("torch", torch_seen), ("grain", grain_seen)):
    assert len(seen) == size and len(set(seen)) == size, (dataset, name)
  print(f"{dataset}: torch and grain read each of {size} train examples once")


def check_perfect_score(dataset, data_dir):
  test = loaders.DecodedSplit(dataset, "test", data_dir)
  batch = test.batch(np.arange(len(test)))
  with tempfile.TemporaryDirectory() as folder:
    path = pathlib.Path(folder) / "perfect.npz"
    np.savez(path, index=batch["index"], mask=batch["mask"][..., 0])
    proc = subprocess.run(
        ["mnist-derived", "score", dataset, "--predictions", str(path),
         "--data_dir", data_dir], capture_output=True, text=True, check=True)
  key = SCORE_KEYS[dataset.split("/")[0]]
  score = json.loads(proc.stdout)[key]
  assert score == 1.0, (dataset, key, score)
  print(f"{dataset}: perfect predictions score {key} = {score}")


def main():
  data_dir, *datasets = sys.argv[1:]
  assert "tensorflow" not in sys.modules
  for dataset in datasets:
    check_loaders(dataset, data_dir)
    check_perfect_score(dataset, data_dir)
  assert "tensorflow" not in sys.modules


if __name__ == "__main__":
  main()
