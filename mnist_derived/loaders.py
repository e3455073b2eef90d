"""PyTorch and grain views of a built dataset, with no TensorFlow graph.

Both read an array_record build (`tfds build ... --file_format array_record`)
through `tfds.data_source`, which decodes each example with numpy and OpenCV
or PIL, and hand out examples as dicts of numpy arrays: `image` uint8
(H, W, 1), `mask` uint8, `label` int64, `circle` float32, ... with each
feature's own dtype and shape, exactly the values `tfds.load` gives.

    from mnist_derived import loaders
    batches = loaders.torch_loader("mnist_fg/mnist", "train", batch_size=64,
                                   seed=0)  # dicts of torch tensors
    batches = loaders.grain_dataset("mnist_fg/mnist", "train", seed=0).batch(64)

Neither torch nor grain is imported here until asked for (`pip install
'mnist-derived[torch]'` or `'mnist-derived[jax]'`).
"""

import os


from mnist_derived.core import cli_support
from mnist_derived.core import errors
from mnist_derived.core import fingerprint


class ExampleSource:
  """A split of an array_record build, read by index: len(), [i], [[i, j]].

  A map-style dataset for `torch.utils.data.DataLoader` (duck-typed, so
  importing it needs no torch) and a data source for grain. Each process
  opens the files itself on first read. Start worker processes with
  forkserver or spawn (`torch_loader` does): once a process has read, the
  array_record library's threads do not survive a fork into a worker.
  """

  def __init__(self, dataset, split="train", data_dir=None):
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    builder = cli_support.built_builder(dataset, data_dir)
    if builder.info.file_format != tfds.core.FileFormat.ARRAY_RECORD:
      raise errors.InputError(
          f"{dataset} in {data_dir or 'the default data dir'} is built as"
          f" {builder.info.file_format.value}; random access needs"
          " array_record: build it again with `tfds build --imports"
          f" mnist_derived {dataset} --file_format array_record ...`")
    if split not in builder.info.splits:
      raise errors.InputError(f"{dataset}: no split {split!r}; it has"
                              f" {', '.join(sorted(builder.info.splits))}")
    self.dataset, self.split, self._data_dir = dataset, split, data_dir
    self._num_examples = builder.info.splits[split].num_examples
    self._specs = fingerprint.feature_specs(builder.info.features)
    self._reader, self._reader_pid = None, None

  def _source(self):
    if self._reader_pid != os.getpid():
      import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
      self._reader = tfds.data_source(self.dataset, split=self.split,
                                      data_dir=self._data_dir)
      self._reader_pid = os.getpid()
    return self._reader

  def __getstate__(self):
    return {**self.__dict__, "_reader": None, "_reader_pid": None}

  @property
  def has_variable_objects(self):
    """True when examples hold a different number of objects each."""
    return any(path.startswith("/objects/") and shape[:1] == (None,)
               for path, (_, shape) in self._specs.items())

  def __len__(self):
    return self._num_examples

  def __getitem__(self, index):
    return fingerprint.as_arrays(self._source()[int(index)], self._specs)

  def __getitems__(self, indices):
    """A list of examples, read in one call (DataLoader uses it)."""
    examples = self._source().__getitems__([int(i) for i in indices])
    return [fingerprint.as_arrays(ex, self._specs) for ex in examples]

  def __repr__(self):
    return f"ExampleSource({self.dataset!r}, {self.split!r}, {len(self)} examples)"


def collate_objects(examples):
  """PyTorch's default collation, except that variable-length `objects`
  (scattered mosaics: 0 to 4 digits each) stay one dict of tensors per
  example, in a list, as detection models take their targets."""
  import torch  # pylint: disable=g-import-not-at-top
  fixed = [{k: v for k, v in ex.items() if k != "objects"} for ex in examples]
  batch = torch.utils.data.default_collate(fixed)
  batch["objects"] = [{k: torch.as_tensor(v) for k, v in ex["objects"].items()}
                      for ex in examples]
  return batch


def torch_loader(dataset, split="train", batch_size=64, shuffle=True,
                 num_workers=2, seed=None, data_dir=None, **kwargs):
  """A `torch.utils.data.DataLoader` of a split: batches of torch tensors.

  Shuffled per epoch (seeded when `seed` is given); every example once per
  epoch. Workers start by forkserver, so a script using them needs the
  usual `if __name__ == "__main__":` guard. Other keyword arguments go to
  the DataLoader. Datasets whose `objects` vary in number per example get
  `collate_objects` unless a `collate_fn` is given.
  """
  import torch  # pylint: disable=g-import-not-at-top
  generator = torch.Generator().manual_seed(seed) if seed is not None else None
  source = ExampleSource(dataset, split, data_dir)
  if source.has_variable_objects:
    kwargs.setdefault("collate_fn", collate_objects)
  return torch.utils.data.DataLoader(
      source, batch_size=batch_size,
      shuffle=shuffle, num_workers=num_workers, generator=generator,
      multiprocessing_context="forkserver" if num_workers else None, **kwargs)


def grain_dataset(dataset, split="train", data_dir=None, seed=None):
  """A `grain.MapDataset` of a split: shuffled per epoch when seeded.

  Chain grain's own transformations on it (`.batch(64)`, `.map(f)`,
  `.to_iter_dataset()` with read options for threads); one pass visits every
  example once.
  """
  import grain  # pylint: disable=g-import-not-at-top
  ds = grain.MapDataset.source(ExampleSource(dataset, split, data_dir))
  return ds.shuffle(seed=seed) if seed is not None else ds
