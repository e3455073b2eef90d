"""Input pipelines: every example comes from `tfds.load` of mnist_derived."""

import tensorflow as tf
import tensorflow_datasets as tfds

import mnist_derived  # noqa: F401  (registers the builders with TFDS)

# The reference held out 10% of train for validation; so do we.
TRAIN_SPLIT = "train[:90%]"
VALIDATION_SPLIT = "train[90%:]"


def load_examples(dataset, split, data_dir=None, limit=None):
  """A split of `dataset` ("name/config") as a tf.data.Dataset of dicts."""
  ds = tfds.load(dataset, split=split, data_dir=data_dir, shuffle_files=False)
  return ds.take(limit) if limit else ds


def dataset_info(dataset, data_dir=None):
  return tfds.builder(dataset, data_dir=data_dir).info


def num_examples(dataset, split, data_dir=None, limit=None):
  count = dataset_info(dataset, data_dir).splits[split].num_examples
  return min(count, limit) if limit else count


def training_pipeline(task, dataset, split, batch_size, data_dir=None,
                      limit=None, shuffle_seed=None):
  """(inputs, targets) batches: decoded once, cached, reshuffled per epoch."""
  ds = load_examples(dataset, split, data_dir, limit)
  ds = ds.map(task.inputs_targets, num_parallel_calls=tf.data.AUTOTUNE)
  # Decoding PNGs costs more than a small model's step: do it once.
  ds = ds.cache()
  if shuffle_seed is not None:
    ds = ds.shuffle(num_examples(dataset, split, data_dir, limit),
                    seed=shuffle_seed, reshuffle_each_iteration=True)
  return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def scoring_pipeline(dataset, split, batch_size, data_dir=None, limit=None):
  """Batched example dicts in split order, for `Task.score`."""
  ds = load_examples(dataset, split, data_dir, limit)
  return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
