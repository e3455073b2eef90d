"""`grain_dataset`: a grain MapDataset of whole batches of a split."""

import numpy as np

from mnist_derived.core import errors
from mnist_derived.loaders import pytorch


class _GrainBatches:
  """A grain data source whose element k is batch k % b of epoch k // b."""

  def __init__(self, split, batch_size, seed, num_epochs, shuffle,
               drop_remainder):
    self.split, self.batch_size, self.seed = split, batch_size, seed
    self.shuffle, self.num_epochs = shuffle, num_epochs
    n = len(split)
    self.per_epoch = n // batch_size if drop_remainder else -(-n // batch_size)
    self._order = (None, None)

  def __len__(self):
    return self.per_epoch * self.num_epochs

  def __getitem__(self, k):
    epoch, k = divmod(int(k), self.per_epoch)
    if self._order[0] != epoch:
      self._order = (epoch, self.split.epoch_order(self.seed, epoch,
                                                   self.shuffle))
    epoch_order = self._order[1]
    return self.split.batch(
        epoch_order[k * self.batch_size:(k + 1) * self.batch_size])


def grain_dataset(dataset, split=None, batch_size=64, seed=None,
                  num_epochs=1, shuffle=True, drop_remainder=False,
                  data_dir=None, cache_dir=None):
  """A `grain.MapDataset` of batches (dicts of numpy arrays) of a split.

  dataset: a name or a split object, as `torch_loader` takes. Each of
  `num_epochs` epochs visits every example once, in the split's
  `epoch_order` of (seed, epoch). Chain grain's own steps on it
  (`.map(f)`, `.to_iter_dataset(grain.ReadOptions(num_threads=...))`, or
  `grain.experimental.multiprocess_prefetch` where batches are computed).
  With `batch_size=None` it is a MapDataset of single examples instead,
  shuffled by grain when seeded: slower, for per-example transformations
  before grain's own `.batch()`.
  """
  grain = errors.import_extra("grain", "grain_dataset", "jax")
  source = pytorch.as_split(dataset, split, data_dir, cache_dir)
  if batch_size is None:
    ds = grain.MapDataset.source(source).repeat(num_epochs)
    return ds.shuffle(seed=seed) if shuffle and seed is not None else ds
  if seed is None:
    seed = int(np.random.default_rng().integers(2**31))
  return grain.MapDataset.source(_GrainBatches(
      source, batch_size, seed, num_epochs, shuffle, drop_remainder))
