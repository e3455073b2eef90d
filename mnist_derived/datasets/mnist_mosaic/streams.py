"""The seeded draws every mosaic layout shares: which source digits a split
may use, and the stream of source digits it takes them from."""

import functools
import zlib

import numpy as np



def _permutation(num, key):
  """A uniform permutation of range(num) that depends only on key.

  Sorting PCG64's raw 64-bit stream: NumPy keeps SeedSequence and
  bit-generator streams fixed across versions, unlike its samplers.
  """
  raw = stream(*key).random_raw(num)
  return np.argsort(raw, kind="stable")


def crc(text):
  return zlib.crc32(text.encode())


def stream(*key):
  """PCG64 seeded with SeedSequence(key): read as raw 64-bit words, the same
  on every machine (NumPy keeps these fixed, unlike its samplers)."""
  return np.random.PCG64(np.random.SeedSequence(list(key)))


@functools.lru_cache(maxsize=8)
def source_pool(num_sources, seed, split, validation_fraction):
  """Sorted source positions a split draws from (read-only array).

  test: the whole source test split. validation: a seeded
  `validation_fraction` of the source train split; train: the rest of it, so
  no source digit is in both.
  """
  if split == "test":
    pool = np.arange(num_sources)
  else:
    held_out = round(num_sources * validation_fraction)
    order = _permutation(num_sources, [seed, crc("validation sources")])
    pool = np.sort(order[:held_out] if split == "validation"
                   else order[held_out:])
  pool.flags.writeable = False
  return pool


# A batch of consecutive examples reads one or two passes; a batch of
# examples from all over a split (a generated split read out of order) may
# read many: keep enough of them.
@functools.lru_cache(maxsize=16)
def source_permutation(num_sources, seed, split, draw_pass):
  """The order of a split's pool in one pass over it (read-only array)."""
  perm = _permutation(num_sources, [seed, crc(split), draw_pass])
  perm.flags.writeable = False
  return perm


def draw_at(pool, seed, split, positions):
  """Source indices at `positions` (int64, any order) of a split's draw
  stream.

  The stream is a sequence of permutations of the pool, one per pass: every
  pass uses each source once, so sources are drawn without replacement
  within a pass and all are used equally often.
  """
  positions = np.asarray(positions, np.int64)
  passes = positions // len(pool)
  indices = np.empty_like(positions)
  for draw_pass in np.unique(passes):
    in_pass = passes == draw_pass
    perm = source_permutation(len(pool), seed, split, int(draw_pass))
    indices[in_pass] = pool[perm[positions[in_pass] % len(pool)]]
  return indices


def draw_source_indices(pool, cells, seed, split, examples):
  """Source indices of grid mosaics `examples` (int64 (E,)): (E, cells).

  The cells of all mosaics, in order, read consecutive positions of the
  split's draw stream (`draw_at`), so mosaic i depends only on
  (seed, split, i), whatever the sharding.
  """
  examples = np.asarray(examples, np.int64)
  return draw_at(pool, seed, split,
                 examples[:, None] * cells + np.arange(cells))


def uniform_integers(raw, low, high):
  """Maps raw uint64 words to integers in [low, high] (inclusive).

  Multiply-shift on the top 32 bits: exact in integers, so the same on every
  machine; the bias is below 2**-24 for these ranges.
  """
  span = (np.asarray(high, np.int64) - low + 1).astype(np.uint64)
  return (low + (((raw >> np.uint64(32)) * span) >> np.uint64(32))).astype(
      np.int64)
