"""The order of the examples in each epoch, and the sampler that cuts it
into batches."""

import numpy as np

# A generated split is shuffled a block of consecutive examples at a time
# (see `BlockOrder`).
BLOCK = 4096


def epoch_order(num_examples, seed, epoch, shuffle=True):
  """The example order of one epoch: a permutation seeded by (seed, epoch)."""
  if not shuffle:
    return range(num_examples)
  return np.random.default_rng([seed, epoch]).permutation(num_examples)


class BlockOrder:
  """A permutation of range(num_examples) of any size, computed a slice at
  a time: the blocks of `block` consecutive examples in an order seeded by
  (seed, epoch), each block's examples in an order seeded by (seed, epoch,
  block). A batch then reads examples near each other, which a generated
  split draws from one or two passes over its source digits."""

  def __init__(self, num_examples, seed, epoch, block=BLOCK):
    self.num_examples, self.block = num_examples, block
    self._key = (seed, epoch)
    num_blocks = -(-num_examples // block)
    self.blocks = np.random.default_rng([seed, epoch]).permutation(num_blocks)
    sizes = np.minimum(block, num_examples - self.blocks * block)
    self._ends = np.cumsum(sizes)
    self._last = (None, None)

  def __len__(self):
    return self.num_examples

  def __getitem__(self, where):
    if not isinstance(where, slice):
      return self[where:where + 1][0]
    positions = np.arange(self.num_examples)[where] if (
        where.step not in (None, 1)) else np.arange(
            *where.indices(self.num_examples))
    at = np.searchsorted(self._ends, positions, side="right")
    out = np.empty(len(positions), np.int64)
    for k in np.unique(at):
      here = at == k
      within = positions[here] - (self._ends[k - 1] if k else 0)
      out[here] = self.blocks[k] * self.block + self._within(int(k))[within]
    return out

  def _within(self, k):
    """The order inside the k-th block (the last one asked for is kept:
    consecutive batches read the same block)."""
    if self._last[0] != k:
      size = int(self._ends[k] - (self._ends[k - 1] if k else 0))
      self._last = (k, np.random.default_rng(
          [*self._key, int(self.blocks[k])]).permutation(size))
    return self._last[1]


class EpochSampler:
  """Batches of indices of a split, its `epoch_order` a new one each epoch."""

  def __init__(self, split, batch_size, shuffle, seed, drop_last):
    self.split, self.batch_size = split, batch_size
    self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
    self.epoch = 0

  def __len__(self):
    if self.drop_last:
      return len(self.split) // self.batch_size
    return -(-len(self.split) // self.batch_size)

  def __iter__(self):
    epoch_order = self.split.epoch_order(self.seed, self.epoch, self.shuffle)
    self.epoch += 1
    for k in range(len(self)):
      yield epoch_order[k * self.batch_size:(k + 1) * self.batch_size]
