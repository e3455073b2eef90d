"""Input pipelines: every example comes from TFDS builds of mnist_derived.

Two ways in: `tfds.load` (tf.data, any file format) for `training_pipeline`,
or `tfds.data_source` (random access, array_record builds only) for
`data_source_pipeline`.
"""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

import mnist_derived  # noqa: F401  (registers the builders with TFDS)
from mnist_derived import decoding

def load_examples(dataset, split, data_dir=None, limit=None):
  """A split of `dataset` ("name/config") as a tf.data.Dataset of dicts of
  its `batchable_features`."""
  ds = tfds.load(dataset, split=split, data_dir=data_dir, shuffle_files=False)
  keys = batchable_features(dataset_info(dataset, data_dir))
  ds = ds.map(lambda ex: {k: ex[k] for k in keys})
  return ds.take(limit) if limit else ds


def batchable_features(info):
  """Top-level features of fixed shape: the ones a batch can stack. A
  scattered mosaic's `objects` (0 to 4 per example) are not; no task reads
  them."""
  return [key for key, feature in info.features.items()
          if all(None not in spec.shape
                 for spec in tf.nest.flatten(feature.get_tensor_info()))]


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
  """Batched example dicts in split order, for `Task.score`.

  Reads array_record builds through `tfds.data_source` (tf.data can't read
  them), any other build through `tfds.load`.
  """
  if is_array_record(dataset, data_dir):
    source = tfds.data_source(dataset, split=split, data_dir=data_dir)
    return IndexedBatches(source, lambda batch: batch, batch_size, limit=limit,
                          keys=batchable_features(source.dataset_info))
  ds = load_examples(dataset, split, data_dir, limit)
  return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def is_array_record(dataset, data_dir=None):
  file_format = dataset_info(dataset, data_dir).file_format
  return file_format == tfds.core.FileFormat.ARRAY_RECORD


def data_source_pipeline(task, dataset, split, batch_size, data_dir=None,
                         limit=None, shuffle_seed=None):
  """(inputs, targets) batches read by index from an array_record build.

  Build the dataset with `tfds build ... --file_format array_record`.
  `tfds.data_source` reads any example by index, so each epoch is a fresh
  permutation of the whole split: a true shuffle, with no shuffle buffer and
  no cache of decoded examples in memory.
  """
  source = tfds.data_source(dataset, split=split, data_dir=data_dir)
  return IndexedBatches(source, task.inputs_targets, batch_size,
                        shuffle_seed=shuffle_seed, limit=limit,
                        keys=batchable_features(source.dataset_info))


class IndexedBatches(keras.utils.PyDataset):
  """Batches of a random-access source, in a seeded new order every epoch.

  Epoch e reads the permutation drawn from (seed, e); without a seed, index
  order. Examples are stacked per feature, then mapped by inputs_targets.
  """

  def __init__(self, source, inputs_targets, batch_size, shuffle_seed=None,
               limit=None, keys=None):
    # Two threads read and decode batches ahead of the training step (OpenCV
    # and numpy release the GIL).
    super().__init__(workers=2, max_queue_size=8)
    self._source = source
    self._keys = keys  # the features to stack; None: all
    self._inputs_targets = inputs_targets
    self._batch_size = batch_size
    self._seed = shuffle_seed
    self._size = min(len(source), limit) if limit else len(source)
    self._epoch = 0
    self._order = self._epoch_order()

  def _epoch_order(self):
    if self._seed is None:
      return np.arange(self._size)
    return np.random.default_rng([self._seed, self._epoch]).permutation(
        self._size)

  def __len__(self):
    return -(-self._size // self._batch_size)

  def __getitem__(self, batch):
    indices = self._order[batch * self._batch_size:
                          (batch + 1) * self._batch_size]
    examples = decoding.read_records(self._source, indices)
    if self._keys is not None:
      examples = [{k: ex[k] for k in self._keys} for ex in examples]
    return self._inputs_targets(_stack(examples))

  def __iter__(self):  # one pass, as scoring reads it
    return (self[batch] for batch in range(len(self)))

  def on_epoch_end(self):
    self._epoch += 1
    self._order = self._epoch_order()


def _stack(examples):
  """A list of (nested) example dicts -> one dict of stacked arrays."""
  first = examples[0]
  if isinstance(first, dict):
    return {key: _stack([e[key] for e in examples]) for key in first}
  return np.stack(examples)
