"""Chunks made in worker processes, out of the writer's interpreter lock.

TFDS encodes, serializes and writes examples in Python, holding the
interpreter lock; a derivation thread beside it gets the lock only in turns,
so a build used little more than one core. `ChunkProcesses` makes chunks in
separate Python processes instead and hands their examples back in order.

The workers are plain `python -c` subprocesses that import only
`mnist_derived` (which does not import TensorFlow) and talk over their
stdin/stdout with pickle. multiprocessing is not used on purpose: its
"spawn" and "forkserver" re-import the parent's main module, which under
`tfds build` is TFDS's CLI with TensorFlow and Beam (seconds per worker),
and "fork" copies a process running TensorFlow's threads, which is unsafe.

A worker exits when its stdin closes, so a killed build leaves none behind.
"""

import os
import pickle
import subprocess
import sys

# A worker ignores Ctrl-C and SIGTERM sent to its process group (its parent
# stops it, by closing its stdin, once the parent's own cleanup has run),
# reads its parent's sys.path, then serves requests.
_BOOT = ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN);"
         " signal.signal(signal.SIGTERM, signal.SIG_IGN);"
         " import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer);"
         " from mnist_derived.core import processes; processes.serve()")

# Chunks requested ahead per worker: one being made, one waiting to be read.
_AHEAD = 2


class WorkerError(RuntimeError):
  """A worker process died or sent something that is not a chunk."""


class TaskNotImportable(WorkerError):
  """make_chunk cannot go to a fresh process: it does not pickle (a lambda, a
  local function) or a worker cannot import it by name (defined in
  `__main__`, or in a module loaded from a file path)."""


def usable_cpus():
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # not on Linux
    return os.cpu_count() or 1


class _Worker:
  """One worker process and its two pipes."""

  def __init__(self):
    self.process = subprocess.Popen(
        [sys.executable, "-c", _BOOT], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE)
    self.pending = 0  # requests sent, replies not yet read
    self.send(sys.path)

  def _stopped(self):
    return WorkerError(
        f"a chunk worker process (pid {self.process.pid}) stopped (exit code"
        f" {self.process.poll()}); its error, if any, is above")

  def send(self, message):
    try:
      pickle.dump(message, self.process.stdin,
                  protocol=pickle.HIGHEST_PROTOCOL)
      self.process.stdin.flush()
    except BrokenPipeError as e:
      raise self._stopped() from e

  def receive(self):
    try:
      kind, payload = pickle.load(self.process.stdout)
    except (EOFError, pickle.UnpicklingError) as e:
      raise self._stopped() from e
    self.pending -= 1
    if kind == "error":
      raise payload
    if kind == "task error":
      raise TaskNotImportable(payload)
    return payload

  def close(self, kill=False):
    if kill:
      self.process.kill()
    try:
      self.process.stdin.close()
    except BrokenPipeError:
      pass
    self.process.stdout.close()
    self.process.wait()


class ChunkProcesses:
  """A context manager of worker processes that make chunks.

  Workers start with `start` or the first `imap`, serve every split of a
  build, and exit with the context. make_chunk must pickle by name: a
  module-level function or a classmethod of an importable class, with plain
  data (configs, arrays) bound by functools.partial; anything else is a
  TaskNotImportable before the first item.
  """

  def __init__(self, num_workers):
    if num_workers < 1:
      raise ValueError(f"need at least one worker, got {num_workers}")
    self.num_workers = num_workers
    self._workers = []

  def __enter__(self):
    return self

  def start(self):
    """Starts the workers if they are not running (imap does too)."""
    if not self._workers:
      self._workers = [_Worker() for _ in range(self.num_workers)]

  def __exit__(self, *exc_info):
    self.close(kill=exc_info[0] is not None)

  def close(self, kill=False):
    workers, self._workers = self._workers, []
    for worker in workers:
      worker.close(kill=kill or worker.pending > 0)

  def imap(self, make_chunk, bounds):
    """Yields the items of make_chunk(start, stop) for each bound, in order.

    Chunk k is made by worker k mod n, at most _AHEAD chunks ahead of the
    caller per worker. A worker's exception is raised here, in order; if the
    caller stops early, the workers are killed (the next imap starts new
    ones). TaskNotImportable comes before any item.
    """
    bounds = list(bounds)
    try:
      task = pickle.dumps(make_chunk, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
      raise TaskNotImportable(f"{type(e).__name__}: {e}") from e
    self.start()
    workers = self._workers
    for worker in workers:
      worker.send(("task", task))
    sent = 0

    def request_up_to(limit):
      nonlocal sent
      while sent < min(limit, len(bounds)):
        worker = workers[sent % len(workers)]
        worker.send(("chunk", bounds[sent]))
        worker.pending += 1
        sent += 1

    finished = False
    try:
      request_up_to(_AHEAD * len(workers))
      for k in range(len(bounds)):
        chunk = workers[k % len(workers)].receive()
        request_up_to(k + 1 + _AHEAD * len(workers))
        yield from chunk
      finished = True
    finally:
      if not finished:  # an error, or the caller stopped: replies are owed
        self.close(kill=True)


def serve():
  """A worker's loop: ("task", pickled make_chunk) sets the function;
  ("chunk", (start, stop)) replies ("ok", items) or ("error", exception)."""
  requests = sys.stdin.buffer
  # Replies get a private copy of stdout; anything printed goes to stderr.
  replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
  os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
  make_chunk = None
  while True:
    try:
      kind, payload = pickle.load(requests)
    except EOFError:  # the parent closed the pipe, or died
      return
    if kind == "task":  # pickled again, so a bad one fails here, not above
      make_chunk = payload
      continue
    try:
      if isinstance(make_chunk, bytes):
        make_chunk = pickle.loads(make_chunk)
    except Exception as e:  # pylint: disable=broad-except
      reply = ("task error", f"{type(e).__name__}: {e}")
    else:
      try:
        reply = ("ok", list(make_chunk(*payload)))
      except Exception as e:  # pylint: disable=broad-except
        reply = ("error", _picklable(e))
    try:
      pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
      replies.flush()
    except BrokenPipeError:
      return


def _picklable(error):
  try:
    pickle.loads(pickle.dumps(error))
    return error
  except Exception:  # pylint: disable=broad-except
    return WorkerError(f"{type(error).__name__}: {error}")

