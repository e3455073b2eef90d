"""What writing a build or an export needs of its folder, checked before any
work: that it can be written, that it has room, and that nobody else is
building the same dataset in it.

A lock is an `flock` on a hidden file in the data dir,
`<data_dir>/.<name>.<config>.<version>.lock`, removed by its holder when the
build ends (a waiter that then finds its file gone takes a new one), so a
data dir holds one only while a build runs. Local file systems honour it
between processes; on NFS, Linux turns `flock` into an NFS (POSIX) lock,
which holds between machines where the server runs its lock manager
(NFSv4 always does). File systems without locks (some FUSE mounts) ignore
it: build there from one job at a time.
"""

import contextlib
import errno
import fcntl
import os
import pathlib
import shutil
import tempfile
import threading

from mnist_derived.core import errors

# Lock files each thread holds: taking one again in the same thread (a
# caller and the builder it calls) does not wait for itself; another thread
# waits as another process would.
_HELD = threading.local()
_FULL = (errno.ENOSPC, errno.EDQUOT)
_NO_SPACE = os.strerror(errno.ENOSPC)


class Unwritable(errors.InputError):
  """A folder the job must write into cannot be written."""


class DiskFull(errors.InputError):
  """The folder's disk has no room for the job, or filled during it."""


def megabytes(size):
  return f"{size / 1e6:.1f} MB"


def _existing_ancestor(path):
  path = pathlib.Path(path).absolute()
  while not path.exists() and path != path.parent:
    path = path.parent
  return path


def check_writable(path, flag, is_file=False):
  """Raises Unwritable unless `path` (a folder, made later if missing, or a
  file) can be written: tried in its nearest existing folder, nothing left."""
  folder = _existing_ancestor(os.path.dirname(os.path.abspath(path))
                              if is_file else path)
  if not folder.is_dir():
    raise Unwritable(f"{folder}: is a file, not a folder")
  try:
    with tempfile.TemporaryFile(dir=folder):
      pass
  except OSError as e:
    raise Unwritable(f"{path}: cannot write there ({folder}:"
                     f" {e.strerror}); choose another {flag}") from None


def check_free_space(path, needed, what, flag):
  """Raises DiskFull when `path`'s disk has less than `needed` bytes free."""
  free = shutil.disk_usage(_existing_ancestor(path)).free
  if free < needed:
    raise DiskFull(f"{path}: {what} needs about {megabytes(needed)} and"
                   f" {megabytes(free)} is free there; free some space or"
                   f" choose another {flag}")


def is_disk_full(error):
  """True when error, or one it was raised from, is a full disk or quota,
  however the library that met it wrapped it (TFDS and TensorFlow keep only
  the system's message)."""
  while error is not None:
    if isinstance(error, OSError) and error.errno in _FULL:
      return True
    if _NO_SPACE in str(error):
      return True
    error = error.__cause__ or error.__context__
  return False


@contextlib.contextmanager
def disk_full_reported(path, what, flag):
  """Turns a full disk met inside the block into one DiskFull naming path."""
  try:
    yield
  except Exception as e:  # pylint: disable=broad-except
    if isinstance(e, DiskFull) or not is_disk_full(e):
      raise
    raise DiskFull(f"{path}: the disk filled up while {what}; nothing"
                   f" half-written was kept. Free some space or choose"
                   f" another {flag}") from e


def lock_path(version_folder):
  """<data_dir>/.<name>.<config>.<version>.lock of <data_dir>/name/config/version."""
  version_folder = pathlib.Path(version_folder)
  root, names = version_folder.parents[2], version_folder.parts[-3:]
  return root / f".{'.'.join(names)}.lock"


def _locked(path, on_wait):
  """A descriptor of `path` holding its exclusive lock; waits (on_wait(path)
  first) while another process holds it."""
  waited = False
  while True:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    try:
      fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      if on_wait is not None and not waited:
        on_wait(path)
      waited = True
      fcntl.flock(descriptor, fcntl.LOCK_EX)
    try:  # the holder we waited for removes its file: ours if still there
      if os.stat(path).st_ino == os.fstat(descriptor).st_ino:
        return descriptor
    except FileNotFoundError:
      pass
    os.close(descriptor)


@contextlib.contextmanager
def one_writer(version_folder, on_wait=None):
  """Holds the build lock of a version folder for the block; waits while
  another process or thread holds it, calling on_wait(lock file) once
  first."""
  path = lock_path(version_folder)
  held = _HELD.__dict__.setdefault("paths", set())
  if path in held:
    yield
    return
  path.parent.mkdir(parents=True, exist_ok=True)
  descriptor = _locked(path, on_wait)
  held.add(path)
  try:
    yield
  finally:
    held.discard(path)
    with contextlib.suppress(FileNotFoundError):
      os.unlink(path)  # before the lock goes: a waiter then retries
    os.close(descriptor)


def remove_stale_incomplete(version_folder):
  """Removes what killed builds of this version left (TFDS's
  `incomplete.<random>_<version>` folders). Only under `one_writer`: no
  live build of it can be writing one then."""
  version_folder = pathlib.Path(version_folder)
  stale = list(version_folder.parent.glob(f"incomplete.*_{version_folder.name}"))
  for folder in stale:
    shutil.rmtree(folder, ignore_errors=True)
  return stale
