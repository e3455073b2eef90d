"""Training-step time of one task's Keras model on each Keras backend.

    python benchmarks/training_backends.py pairs|scatter|mosaic_scatter \
        [--steps 30] [--batch 128]

Each backend runs in its own process (Keras picks its backend at import),
on the same random uint8 batch, after a few warm-up steps; the ratios are
measured in this one run.
"""

import argparse
import json
import os
import subprocess
import sys

_STEP = r"""
import json, sys, time
import numpy as np
import keras
from training import models
steps, batch = int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
def uint8(*shape):
  return rng.integers(0, 256, (batch, *shape), dtype=np.uint8)
if sys.argv[1] == "pairs":
  model, loss = models.get_pairs_model(), "binary_crossentropy"
  x, y = uint8(36, 36, 1), (rng.random((batch, 10)) < 0.2).astype("float32")
elif sys.argv[1] == "scatter":  # the scatter task's centres and digit stages
  model = models.get_scatter_model()
  loss = {"centres": "binary_crossentropy", "digit_mask": "binary_crossentropy",
          "digit_label": "sparse_categorical_crossentropy"}
  x = {"image": uint8(64, 64, 1), "crop": uint8(32, 32, 1)}
  y = {"centres": rng.random((batch, 32, 32, 1)).astype("float32"),
       "digit_mask": (rng.random((batch, 32, 32, 1)) < 0.2).astype("float32"),
       "digit_label": rng.integers(0, 10, batch)}
else:  # the semantic U-Net on a 64x64 scattered mosaic
  model, loss = models.get_mosaic_model((64, 64, 1), 11), "sparse_categorical_crossentropy"
  x, y = uint8(64, 64, 1), rng.integers(0, 11, (batch, 64, 64, 1))
model.compile(optimizer="adam", loss=loss)
for _ in range(3):
  model.train_on_batch(x, y)
start = time.perf_counter()
for _ in range(steps):
  model.train_on_batch(x, y)
print(json.dumps({"examples_per_s": steps * batch / (time.perf_counter() - start)}))
"""

def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("task", choices=["pairs", "scatter", "mosaic_scatter"])
  parser.add_argument("--steps", type=int, default=30)
  parser.add_argument("--batch", type=int, default=128)
  parser.add_argument("--backends", default="tensorflow,jax,torch")
  args = parser.parse_args()
  rates = {}
  for backend in args.backends.split(","):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", _STEP, args.task, str(args.steps),
         str(args.batch)], env=env, capture_output=True, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if proc.returncode:
      print(f"{backend}: failed: {proc.stderr.strip().splitlines()[-1]}")
      continue
    rates[backend] = json.loads(proc.stdout.strip().splitlines()[-1])[
        "examples_per_s"]
  fastest = max(rates.values())
  for backend, rate in rates.items():
    print(f"{backend:10s} {rate:8.0f} examples/s  {rate / fastest:.2f}x the"
          " fastest")


if __name__ == "__main__":
  main()
