"""Training-step time of the scatter U-Net against the mosaic U-Net.

    python benchmarks/unet_steps.py [--steps 20] [--batch_size 32]

Both models take mnist_mosaic/scatter's 64x64 images; each is compiled with
its task's losses and timed over `--steps` training steps on one fixed
batch after two warm-up steps, in one process, alternately, three times.
Prints each model's median step time, the epoch of 60000 mosaics it
implies, and the ratio scatter / mosaic.
"""

import argparse
import statistics
import time

import keras
import numpy as np

from training import models
from training import tasks

SHAPE = (64, 64, 1)
ROUNDS = 3


def _compiled(task_name, model):
  task = tasks.TASKS[task_name]
  model.compile(optimizer="adam", loss=task.loss,
                loss_weights=task.loss_weights)
  return model


def _batch(task_name, batch_size):
  rng = np.random.default_rng(0)
  image = rng.integers(0, 256, (batch_size, *SHAPE), dtype=np.uint8)
  mask = rng.integers(0, 11, (batch_size, *SHAPE), dtype=np.uint8)
  if task_name == "mosaic":
    return image, mask
  targets = [tasks.TASKS[task_name].inputs_targets(
      {"image": i, "mask": m})[1] for i, m in zip(image, mask)]
  return image, {k: np.stack([t[k] for t in targets]) for k in targets[0]}


def _step_seconds(model, batch, steps):
  for _ in range(2):
    model.train_on_batch(*batch)
  start = time.perf_counter()
  for _ in range(steps):
    model.train_on_batch(*batch)
  return (time.perf_counter() - start) / steps


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--batch_size", type=int, default=32)
  args = parser.parse_args()
  runs = {
      "mosaic": (_compiled("mosaic", models.get_mosaic_model(SHAPE)),
                 _batch("mosaic", args.batch_size)),
      "scatter": (_compiled("scatter", models.get_scatter_model(SHAPE)),
                  _batch("scatter", args.batch_size)),
  }
  times = {name: [] for name in runs}
  for _ in range(ROUNDS):
    for name, (model, batch) in runs.items():
      times[name].append(_step_seconds(model, batch, args.steps))
  medians = {name: statistics.median(t) for name, t in times.items()}
  for name, seconds in medians.items():
    print(f"{name}: {1000 * seconds:.0f} ms a step of {args.batch_size},"
          f" {seconds * 60000 / args.batch_size:.0f} s an epoch of 60000"
          f" ({runs[name][0].count_params():,} parameters)")
  print(f"scatter / mosaic: {medians['scatter'] / medians['mosaic']:.2f}")


if __name__ == "__main__":
  keras.utils.set_random_seed(0)
  main()
