"""Chunks made in worker processes: same items, in order; errors, early stops
and dead workers handled; a build through them writes the same dataset."""

import functools
import sys
import types

import pytest
import tensorflow_datasets as tfds

from mnist_derived import MnistMosaic
from mnist_derived import fingerprint
from mnist_derived.core import builder
from mnist_derived.core import examples
from mnist_derived.core import generation
from mnist_derived.core import processes
import tests.builder_testing  # pylint: disable=unused-import (registers mnist_mosaic_tiny)
from tests.conftest import DUMMY_DATA
from tests.conftest import DUMMY_SCATTER

# A chunk function any process can import: range(start, stop).
BOUNDS = generation.chunk_bounds(50, size=4)


def _alive(pool):
  return [w.process for w in pool._workers if w.process.poll() is None]  # pylint: disable=protected-access


def test_chunks_come_back_in_order():
  with processes.ChunkProcesses(2) as pool:
    assert list(pool.imap(range, BOUNDS)) == list(range(50))
    # The same workers serve the next split.
    started = [w.process.pid for w in pool._workers]  # pylint: disable=protected-access
    assert list(pool.imap(range, [(7, 9)])) == [7, 8]
    assert [w.process.pid for w in pool._workers] == started  # pylint: disable=protected-access
    workers = _alive(pool)
  assert all(p.poll() is not None for p in workers)  # exited with the context


def test_builder_chunks_equal_direct_calls(dummy_mnist):
  images, labels = dummy_mnist["test"]
  config = MnistMosaic.builder_configs["scatter_scaled"]
  kinds = examples.feature_kinds(MnistMosaic(config=config).info.features)
  make_chunk = functools.partial(builder.encoded_chunk, MnistMosaic, config,
                                 "test", kinds, images, labels)
  bounds = generation.chunk_bounds(40, size=7)
  direct = [pair for bound in bounds for pair in make_chunk(*bound)]
  with processes.ChunkProcesses(2) as pool:
    assert list(pool.imap(make_chunk, bounds)) == direct


def test_an_error_is_raised_in_order_and_stops_the_workers():
  with processes.ChunkProcesses(2) as pool:
    items = pool.imap(range, [(0, 2), (2, 4), (1.5, 6), (6, 8)])
    assert [next(items) for _ in range(4)] == [0, 1, 2, 3]
    workers = _alive(pool)
    with pytest.raises(TypeError, match="float"):
      next(items)
    assert all(p.wait(timeout=10) is not None for p in workers)
    assert list(pool.imap(range, [(0, 3), (3, 5)])) == list(range(5))


def test_stopping_early_stops_the_workers():
  with processes.ChunkProcesses(2) as pool:
    items = pool.imap(range, BOUNDS)
    assert next(items) == 0
    workers = _alive(pool)
    items.close()
    assert all(p.wait(timeout=10) is not None for p in workers)
    assert list(pool.imap(range, [(0, 3), (3, 5)])) == list(range(5))


@pytest.mark.parametrize("task_size", [0, 10_000_000])
def test_a_dead_worker_is_a_clear_error(task_size):
  # A small task fits the pipe and the reply is missing; a large one (a
  # source split) cannot be sent at all.
  make_chunk = functools.partial(_slice_of, b"x" * task_size)
  with processes.ChunkProcesses(1) as pool:
    pool.start()
    pool._workers[0].process.kill()  # pylint: disable=protected-access
    pool._workers[0].process.wait()  # pylint: disable=protected-access
    with pytest.raises(processes.WorkerError, match="worker process .* stopped"):
      list(pool.imap(make_chunk, BOUNDS))


def _slice_of(data, start, stop):
  return data[start:stop]


def _notebook_function(start, stop):
  return [start * 10, stop * 10]


@pytest.mark.parametrize("kind", ["lambda", "local", "__main__"])
def test_functions_that_do_not_pickle_by_name_run_in_a_thread(
    kind, monkeypatch):
  def local(start, stop):
    return [start * 10, stop * 10]
  make_chunk = {"lambda": lambda start, stop: [start * 10, stop * 10],
                "local": local, "__main__": _notebook_function}[kind]
  if kind == "__main__":  # as if defined in a notebook
    monkeypatch.setattr(_notebook_function, "__module__", "__main__")
  monkeypatch.setattr(generation, "PROCESS_CHUNK", 8)  # several chunks
  with processes.ChunkProcesses(2) as pool:
    with pytest.raises(processes.TaskNotImportable):
      next(pool.imap(make_chunk, BOUNDS))
    assert list(generation.local_examples(make_chunk, BOUNDS, pool)) == [
        value for start, stop in BOUNDS for value in (start * 10, stop * 10)]


def test_worker_count(monkeypatch):
  monkeypatch.setenv(generation.WORKERS_VARIABLE, "0")
  assert generation.num_worker_processes() == 0
  monkeypatch.setenv(generation.WORKERS_VARIABLE, "two")
  with pytest.raises(ValueError, match="MNIST_DERIVED_WORKERS.*'two'"):
    generation.num_worker_processes()
  monkeypatch.delenv(generation.WORKERS_VARIABLE)
  assert generation.num_worker_processes() == min(
      generation.MAX_WORKER_PROCESSES, processes.usable_cpus() - 1)


def _build(name, data_dir):
  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=DUMMY_DATA))
  return fingerprint.builder_fingerprints(builder)


@pytest.mark.parametrize("name", ["mnist_fg/mnist", DUMMY_SCATTER])
def test_a_build_through_processes_equals_one_in_a_thread(
    name, tmp_path, monkeypatch):
  monkeypatch.setenv(generation.WORKERS_VARIABLE, "0")
  in_thread = _build(name, tmp_path / "thread")
  # Chunks of 5 examples, so that each split takes several.
  monkeypatch.setattr(generation, "PROCESS_CHUNK", 5)
  monkeypatch.setenv(generation.WORKERS_VARIABLE, "2")
  chunks = []
  real_imap = processes.ChunkProcesses.imap
  monkeypatch.setattr(processes.ChunkProcesses, "imap", lambda self, f, b: (
      chunks.extend(b) or real_imap(self, f, b)))
  assert _build(name, tmp_path / "processes") == in_thread
  assert len(chunks) > 3


@pytest.mark.parametrize("total,offset", [(0, 0), (3, 0), (10000, 0),
                                          (5000, 700)])
def test_process_chunks_cover_the_bounds_once(total, offset):
  bounds = generation.chunk_bounds(total, offset=offset)
  pieces = generation.process_chunks(bounds)
  covered = [i for start, stop in pieces for i in range(start, stop)]
  assert covered == list(range(offset, offset + total))
  sizes = [stop - start for start, stop in pieces]
  assert all(size <= generation.PROCESS_CHUNK for size in sizes)
  if total > generation.PROCESS_CHUNK:
    assert sizes[0] == generation.PROCESS_CHUNK // 4


def test_a_chunk_function_workers_cannot_import_runs_in_a_thread(monkeypatch):
  # A module only this process knows, as one loaded from a file path.
  module = types.ModuleType("chunks_from_a_path")
  exec("def make_chunk(start, stop):\n  return [start * 10, stop * 10]",  # pylint: disable=exec-used
       module.__dict__)
  monkeypatch.setitem(sys.modules, module.__name__, module)
  monkeypatch.setattr(generation, "PROCESS_CHUNK", 8)  # several chunks
  with processes.ChunkProcesses(2) as pool:
    with pytest.raises(processes.TaskNotImportable, match="chunks_from_a_path"):
      next(pool.imap(module.make_chunk, BOUNDS))
    assert list(generation.local_examples(module.make_chunk, BOUNDS, pool)) == [
        value for start, stop in BOUNDS for value in (start * 10, stop * 10)]
