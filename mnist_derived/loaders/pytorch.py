"""`torch_loader`: a DataLoader of whole batches of a split."""

import warnings

import numpy as np

from mnist_derived.core import errors
from mnist_derived.loaders import order
from mnist_derived.loaders import splits


class _TorchBatches:
  """A map-style dataset of whole batches for a DataLoader with batch_size
  None: item k of a list of indices is that batch, as torch tensors."""

  def __init__(self, split):
    self.split = split

  def __len__(self):
    return len(self.split)

  def __getitem__(self, indices):
    fixed, ragged = self.split.batch_columns(indices)
    batch = _to_torch(fixed)
    for parent, (columns, counts) in ragged.items():
      batch[parent] = splits.ExampleRows(_to_torch(columns), counts,
                                         _torch_split)
    return batch


def _to_torch(tree):
  import torch  # pylint: disable=g-import-not-at-top
  if isinstance(tree, dict):
    return {k: _to_torch(v) for k, v in tree.items()}
  return torch.from_numpy(tree)


def _torch_split(rows, counts):
  return rows.split(counts)


def _identity(batch):
  return batch


def torch_loader(dataset, split=None, batch_size=64, shuffle=True,
                 seed=None, drop_last=False, data_dir=None, num_workers=0,
                 cache_dir=None, **kwargs):
  """A `torch.utils.data.DataLoader` of a split: dicts of torch tensors.

  dataset: a name ('mnist_fg/mnist', its `split` read as a `DecodedSplit`)
  or a split object (a `DecodedSplit` or a `GeneratedSplit`). Every example
  once per epoch; shuffled per epoch, by the split's `epoch_order` of
  (seed, epoch) when `seed` is given, else a random seed drawn once. A
  batch is read in one piece. Worker processes (`num_workers`) add the
  cost of sending each batch: for a built split many times the cost of
  reading it in the main process (the loader warns once), and for a
  `GeneratedSplit` more than generating it, at batch 64 on 2 cores (README,
  "Fresh examples"); they help where a transform of your own is slow. `objects` of mosaics come as a list with one dict
  of tensors per example, the form detection models take as targets.
  Other keyword arguments go to the DataLoader.
  """
  torch = errors.import_extra("torch", "torch_loader", "torch")
  source = as_split(dataset, split, data_dir, cache_dir)
  if seed is None:
    seed = int(np.random.default_rng().integers(2**31))
  sampler = order.EpochSampler(source, batch_size, shuffle, seed, drop_last)
  if num_workers and isinstance(source, splits.DecodedSplit):
    warnings.warn(
        f"torch_loader: num_workers={num_workers} reads {source.dataset} more"
        " slowly than num_workers=0: a built split's batch is one memory"
        " index, cheaper than sending it from a worker process", stacklevel=2)
  if num_workers:
    kwargs.setdefault("multiprocessing_context", "forkserver")
    # A worker's start reads the split again (maps its files, or reads its
    # source digits): once per loader, not once per epoch.
    kwargs.setdefault("persistent_workers", True)
  return torch.utils.data.DataLoader(
      _TorchBatches(source), batch_size=None, sampler=sampler,
      collate_fn=_identity, num_workers=num_workers, **kwargs)


def as_split(dataset, split, data_dir, cache_dir):
  """The split object a loader reads: given, or a name's DecodedSplit."""
  if isinstance(dataset, splits.Split):
    if split is not None or data_dir is not None or cache_dir is not None:
      raise TypeError(f"{dataset!r} is a split already: give split,"
                      " data_dir and cache_dir to it, not to the loader")
    return dataset
  return splits.DecodedSplit(dataset, split or "train", data_dir, cache_dir)
