"""Input pipelines: every example comes from a built TFDS builder, opened
once by the run and handed in.

Three ways in: `builder.as_dataset` (tf.data, what `tfds.load` reads, any
file format) for `training_pipeline`, `builder.as_data_source` (random
access, array_record builds only) for `data_source_pipeline`, or examples
computed from the source digits as they are read, never the same twice
(`loaders.GeneratedSplit`), for `fresh_pipeline`.
"""

import itertools
import threading

import keras
import numpy as np
import tensorflow as tf

from mnist_derived import decoding
from mnist_derived import loaders

def load_examples(builder, split, keys, limit=None):
  """A split of a built dataset as a tf.data.Dataset of dicts of `keys`."""
  ds = builder.as_dataset(split=split, shuffle_files=False)
  ds = ds.map(lambda ex: {k: ex[k] for k in keys})
  return ds.take(limit) if limit else ds


def num_examples(builder, split, limit=None):
  count = builder.info.splits[split].num_examples
  return min(count, limit) if limit else count


def training_pipeline(task, builder, split, batch_size, limit=None,
                      shuffle_seed=None):
  """(inputs, targets) batches: decoded once, cached, reshuffled per epoch."""
  ds = load_examples(builder, split, task.reads, limit)
  ds = ds.map(task.inputs_targets, num_parallel_calls=tf.data.AUTOTUNE)
  # Decoding PNGs costs more than a small model's step: do it once.
  ds = ds.cache()
  if shuffle_seed is not None:
    ds = ds.shuffle(num_examples(builder, split, limit), seed=shuffle_seed,
                    reshuffle_each_iteration=True)
  return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def scoring_pipeline(task, builder, split, batch_size, limit=None):
  """Batches of the features the task reads, and `index`, in split order.

  Reads array_record builds through their data source (tf.data can't read
  them), any other build through tf.data.
  """
  keys = ("index", *task.reads)
  if decoding.is_array_record(builder):
    return IndexedBatches(builder.as_data_source(split=split),
                          lambda batch: batch, batch_size, limit=limit,
                          keys=keys)
  return load_examples(builder, split, keys, limit).batch(batch_size).prefetch(
      tf.data.AUTOTUNE)


def data_source_pipeline(task, builder, split, batch_size, limit=None,
                         shuffle_seed=None):
  """(inputs, targets) batches read by index from an array_record build.

  Build the dataset with `mnist-derived build ... --file_format
  array_record`. A data source reads any example by index, so each epoch is
  a fresh permutation of the whole split: a true shuffle, with no shuffle
  buffer and no cache of decoded examples in memory.
  """
  return IndexedBatches(builder.as_data_source(split=split),
                        task.inputs_targets, batch_size,
                        shuffle_seed=shuffle_seed, limit=limit,
                        keys=task.reads)


def fresh_pipeline(task, dataset, split, batch_size, per_epoch, epochs,
                   manual_dir, first_epoch=0):
  """(inputs, targets) batches of examples never read before: the k-th
  batch read is examples [k b, (k + 1) b) of the split generated on demand
  (the build's own examples first, then the same rule's next); a run
  resumed after `first_epoch` finished epochs reads on from there."""
  generated = loaders.GeneratedSplit(dataset, split, manual_dir=manual_dir,
                                     num_examples=per_epoch * (epochs + 1))
  return FreshBatches(generated, task.inputs_targets, batch_size, per_epoch,
                      first_epoch)


def generated_pipeline(task, dataset, split, batch_size, manual_dir,
                       limit=None):
  """(inputs, targets) batches of a split generated on demand (the build's
  examples), in order: for validation."""
  generated = loaders.GeneratedSplit(dataset, split, manual_dir=manual_dir)
  return SplitBatches(generated, task.inputs_targets, batch_size, limit)


class SplitBatches(keras.utils.PyDataset):
  """A split's batches in order, each mapped by inputs_targets."""

  def __init__(self, split, inputs_targets, batch_size, limit=None):
    super().__init__(workers=1, max_queue_size=8)
    self._split, self._inputs_targets = split, inputs_targets
    self._batch_size = batch_size
    self._size = min(len(split), limit) if limit else len(split)

  def __len__(self):
    return -(-self._size // self._batch_size)

  def __getitem__(self, batch):
    first = batch * self._batch_size
    last = min(first + self._batch_size, self._size)
    return self._inputs_targets(self._split.batch(range(first, last)))


class FreshBatches(keras.utils.PyDataset):
  """Batches of a generated split, each read once: the k-th batch asked
  for, whatever its position in Keras's epoch, holds examples [k b,
  (k + 1) b). Counting reads, not epochs: Keras announces epochs (and peeks
  at a batch) in ways that do not match the batches it then reads. The
  split holds a spare epoch for the peeks; past it reads wrap around."""

  def __init__(self, generated, inputs_targets, batch_size, per_epoch,
               first_epoch=0):
    super().__init__(workers=1, max_queue_size=8)
    self._generated, self._inputs_targets = generated, inputs_targets
    self._batch_size = batch_size
    self._batches = -(-per_epoch // batch_size)
    self._reads = itertools.count(first_epoch * self._batches)
    self._lock = threading.Lock()

  def __len__(self):
    return self._batches

  def __getitem__(self, batch):
    del batch  # every read is a new batch
    with self._lock:
      read = next(self._reads)
    first = read * self._batch_size % len(self._generated)
    last = min(first + self._batch_size, len(self._generated))
    return self._inputs_targets(self._generated.batch(range(first, last)))


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
