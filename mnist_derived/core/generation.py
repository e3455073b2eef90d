"""How a builder's derivation becomes examples: in chunks, locally or on Beam.

Each builder derives examples [start, stop) of a split from the split's
source arrays alone (`SourceBuilder.examples_of_chunk`), so any chunk can be
made anywhere, in any order, with the same result:

* locally, chunks are made one ahead in a worker thread while TFDS
  serializes and writes the current one (numpy and PNG encoding release the
  GIL, so a build keeps both cores of a 2-core machine busy);
* on Apache Beam, each chunk is one element of a PCollection, and workers
  read the source files themselves (so the files must be readable from every
  worker: a local path for the DirectRunner, shared storage such as gs:// for
  a distributed runner).

Keys are example positions, the same on both paths, so both write the same
dataset.
"""

import concurrent.futures
import functools

from mnist_derived.core import idx

# Examples per chunk: large enough that numpy's per-call overhead vanishes
# (the lockstep circle iteration most), small enough to bound memory.
CHUNK = 4096


def chunk_bounds(total, size=CHUNK):
  """[(start, stop), ...] covering range(total) in chunks of `size`."""
  return [(start, min(start + size, total)) for start in range(0, total, size)]


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
