"""Training step time with the tfds input pipeline vs batches held in memory.

    python benchmarks/input_pipeline.py [--tasks fg circles mosaic] [--steps 200]
        [--array-record-data-dir DIR]

For each task: the task's model, compiled as `train` compiles it, runs
`--steps` steps of `fit` twice in one process: fed by `training.data`'s
pipeline (tfds.load, cached after a warm-up pass, shuffled, batched,
prefetched) and fed by the same examples as numpy arrays. Prints both times
per step and their ratio (target: tfds within 5% of memory). With
--array-record-data-dir (builds made with `--file_format array_record`), also
fed by `data.data_source_pipeline`: random access, decoded every step.
"""

import argparse
import time

import numpy as np

from mnist_derived import builds
from training import data
from training import runner
from training.tasks import TASKS


def _time_fit(model, feed, steps, **kwargs):
  start = time.perf_counter()
  model.fit(feed, epochs=1, steps_per_epoch=steps, verbose=0, **kwargs)
  return (time.perf_counter() - start) / steps


def bench(task_name, steps, data_dir=None, array_record_data_dir=None):
  task = TASKS[task_name]
  batch = task.batch_size
  split = f"train[:{steps * batch}]"
  built = builds.built_builder(task.dataset, data_dir)
  pipeline = data.training_pipeline(task, built, split, batch,
                                    shuffle_seed=0).repeat()
  # The same examples, decoded, as arrays.
  examples = list(data.training_pipeline(task, built, split, batch)
                  .unbatch().as_numpy_iterator())
  inputs = np.stack([x for x, _ in examples])
  if isinstance(examples[0][1], dict):
    targets = {k: np.stack([y[k] for _, y in examples]) for k in examples[0][1]}
  else:
    targets = np.stack([y for _, y in examples])
  model = task.get_model(built.info.features)
  runner.compile_model(task, model, steps, 1, task.learning_rate)
  _time_fit(model, pipeline, steps)  # warm-up: compile, fill the cache
  tfds_step = _time_fit(model, pipeline, steps)
  memory_step = _time_fit(model, inputs, steps, y=targets, batch_size=batch,
                          shuffle=True)
  line = (f"{task_name:8s} batch {batch:3d}: tfds {tfds_step * 1e3:6.1f} ms/step,"
          f" memory {memory_step * 1e3:6.1f} ms/step,"
          f" ratio {tfds_step / memory_step:.3f}")
  if array_record_data_dir:
    # Random access, no cache: every step reads and decodes its examples.
    source = data.data_source_pipeline(
        task, builds.built_builder(task.dataset, array_record_data_dir), split,
        batch, shuffle_seed=0)
    _time_fit(model, source, steps)  # warm-up
    source_step = _time_fit(model, source, steps)
    line += (f"; data_source {source_step * 1e3:6.1f} ms/step,"
             f" ratio {source_step / memory_step:.3f}")
  print(line)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--tasks", nargs="+", default=sorted(TASKS))
  parser.add_argument("--steps", type=int, default=200)
  parser.add_argument("--data-dir")
  parser.add_argument("--array-record-data-dir",
                      help="also time tfds.data_source on builds made here"
                      " with --file_format array_record")
  args = parser.parse_args()
  for task in args.tasks:
    bench(task, args.steps, args.data_dir, args.array_record_data_dir)


if __name__ == "__main__":
  main()
