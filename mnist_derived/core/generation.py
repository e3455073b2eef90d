"""How a builder's derivation becomes examples: in chunks, locally or on Beam.

Each builder derives examples [start, stop) of a split from the split's
source arrays alone (`SourceBuilder.examples_of_chunk`), so any chunk can be
made anywhere, in any order, with the same result. A `ChunkMaker` makes a
split's chunks; `chunk_maker` chooses one, the only place that does:

* locally, chunks are made ahead in worker processes while TFDS encodes,
  serializes and writes the current one in this process
  (`processes.ChunkProcesses`; TFDS's Python and ours would otherwise take
  turns on one interpreter lock); with one CPU, $MNIST_DERIVED_WORKERS=0,
  a split of one chunk, or a builder that a fresh process cannot import by
  name (defined in `__main__`, or loaded from a file path), in a thread
  instead (`read_ahead`);
* on Apache Beam, each chunk is one element of a PCollection, and workers
  read the source files themselves (so the files must be readable from every
  worker: a local path for the DirectRunner, shared storage such as gs:// for
  a distributed runner).

Keys are example positions, the same on both paths, so both write the same
dataset.
"""

import concurrent.futures
import contextlib
import contextvars
import dataclasses
import functools
import os
import sys
import time
from typing import Optional

from mnist_derived.core import idx
from mnist_derived.core import processes

# Examples per chunk: large enough that numpy's per-call overhead vanishes
# (the lockstep circle iteration most), small enough to bound memory.
CHUNK = 4096


# Chunks handed to worker processes: smaller than CHUNK, as the writer waits
# for each split's first one.
PROCESS_CHUNK = 1024


def chunk_bounds(total, size=CHUNK, offset=0):
  """[(start, stop), ...] covering offset + range(total) in chunks of size."""
  return [(start, min(start + size, offset + total))
          for start in range(offset, offset + total, size)]


def read_ahead(make_chunk, bounds):
  """Yields the items of make_chunk(start, stop) for each bound, in order.

  The next chunk is made in a worker thread while the caller consumes the
  current one; at most two chunks exist at a time. Errors surface in order.
  """
  with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
    pending = None
    for bound in bounds:
      upcoming = pool.submit(make_chunk, *bound)
      if pending is not None:
        yield from pending.result()
      pending = upcoming
    if pending is not None:
      yield from pending.result()


# The writer (TFDS's encoding, serialization and shuffling, in this process)
# needs a core of its own; two workers outpace it: more would only take
# memory (each holds its source split).
MAX_WORKER_PROCESSES = 2
WORKERS_VARIABLE = "MNIST_DERIVED_WORKERS"


def num_worker_processes():
  """Worker processes for a local build: one per CPU beside the writer's, at
  most MAX_WORKER_PROCESSES; $MNIST_DERIVED_WORKERS overrides (0: a thread,
  as for debugging a builder)."""
  chosen = os.environ.get(WORKERS_VARIABLE)
  if chosen is None:
    return min(MAX_WORKER_PROCESSES, processes.usable_cpus() - 1)
  if not chosen.isdigit():
    raise ValueError(f"${WORKERS_VARIABLE} must be a whole number of worker"
                     f" processes (0 for a thread), not {chosen!r}")
  return int(chosen)


@contextlib.contextmanager
def worker_processes():
  """Chunk worker processes for a local build, or None for a thread."""
  workers = num_worker_processes()
  if not workers or not sys.executable:
    yield None
    return
  with processes.ChunkProcesses(workers) as pool:
    try:  # now: workers import while the build reads its source files
      pool.start()
    except OSError:  # no subprocesses here (a sandbox): a thread will do
      pool = None
    yield pool


def process_chunks(bounds):
  """Consecutive bounds (as `chunk_bounds` gives) recut for worker
  processes: PROCESS_CHUNK examples each, the first a quarter of that, as
  the writer waits for a split's first chunk and then no more."""
  if not bounds:
    return []
  start, stop = bounds[0][0], bounds[-1][1]
  head = min(start + PROCESS_CHUNK // 4, stop)
  return [(start, head)] + chunk_bounds(stop - head, PROCESS_CHUNK, head)


# {split: (examples, seconds)} of the splits generated in this context,
# where a caller asked for them (`split_times`); None otherwise.
_SPLIT_TIMES = contextvars.ContextVar("split_times", default=None)


@contextlib.contextmanager
def split_times():
  """Yields a dict that fills with {split: (examples, seconds)} as each split
  of a local build is generated, encoded and written (TFDS's shuffling and
  finalising after the last example not included)."""
  times = {}
  token = _SPLIT_TIMES.set(times)
  try:
    yield times
  finally:
    _SPLIT_TIMES.reset(token)


def timed(split, items):
  """items, noting in `split_times` how many there were and how long the
  consumer took from the first request to the last."""
  times = _SPLIT_TIMES.get()
  if times is None:
    yield from items
    return
  start, count = time.perf_counter(), 0
  for item in items:
    count += 1
    yield item
  times[split] = (count, time.perf_counter() - start)


def local_examples(make_chunk, bounds, pool):
  """The items of make_chunk over bounds, in order: from pool's worker
  processes when it pays, else from `read_ahead`'s thread."""
  pieces = process_chunks(bounds)
  if pool is not None and len(pieces) > 1:
    return _from_processes(pool, make_chunk, pieces, bounds)
  return read_ahead(make_chunk, bounds)


def _from_processes(pool, make_chunk, pieces, bounds):
  items = pool.imap(make_chunk, pieces)
  try:
    first = next(items)
  except processes.TaskNotImportable:  # before any item: the thread does all
    yield from read_ahead(make_chunk, bounds)
    return
  except StopIteration:
    return
  yield first
  yield from items


# A Beam worker makes many chunks of the same split: read its files once.
@functools.lru_cache(maxsize=2)
def _read_split_once(images_path, labels_path, num_classes):
  return idx.read_split(images_path, labels_path, num_classes)


def _chunk_on_worker(bound, make_chunk, images_path, labels_path, num_classes):
  images, labels = _read_split_once(images_path, labels_path, num_classes)
  return make_chunk(images, labels, *bound)


def beam_examples(make_chunk, bounds, images_path, labels_path, num_classes):
  """A Beam PTransform yielding make_chunk(images, labels, start, stop)'s items.

  make_chunk must pickle (a classmethod and plain data do); the paths must be
  readable from every worker.
  """
  import apache_beam as beam  # pylint: disable=g-import-not-at-top
  return beam.Create(bounds) | beam.FlatMap(
      _chunk_on_worker, make_chunk=make_chunk, images_path=str(images_path),
      labels_path=str(labels_path), num_classes=num_classes)


@dataclasses.dataclass(frozen=True)
class SourceSplit:
  """A source split as the chunk makers need it: its arrays here, its files
  for workers that read them themselves."""

  images: object
  labels: object
  paths: tuple  # (images path, labels path)
  num_classes: int


class ChunkMaker:
  """Makes a split's examples chunk by chunk.

  make_chunk(images, labels, start, stop) -> [(key, example)]; `examples`
  returns what TFDS's `_split_generators` takes for a split: a generator of
  (key, example), timed for `split_times`, or a Beam PTransform.
  """

  def examples(self, split, make_chunk, source, bounds):
    raise NotImplementedError


@dataclasses.dataclass
class Local(ChunkMaker):
  """Chunks made in this machine: ahead in worker processes where a pool
  is given and they pay, else in a thread (`local_examples`)."""

  pool: Optional[processes.ChunkProcesses] = None

  def examples(self, split, make_chunk, source, bounds):
    return timed(split, local_examples(
        functools.partial(make_chunk, source.images, source.labels), bounds,
        self.pool))


class OnBeam(ChunkMaker):
  """Each chunk one element of a Beam PCollection, made from the files."""

  def examples(self, split, make_chunk, source, bounds):
    del split  # Beam's own metrics time it
    return beam_examples(make_chunk, bounds, *source.paths,
                         source.num_classes)


@contextlib.contextmanager
def chunk_maker(beam=False):
  """The ChunkMaker of a build: Beam when the build asks for it, else
  worker processes where there are CPUs for them, else a thread."""
  if beam:
    yield OnBeam()
    return
  with worker_processes() as pool:
    yield Local(pool)
