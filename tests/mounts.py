"""Folders with the faults of a real machine: a small file system that fills
up, a read-only one. Real mounts (the tests run as root in CI); a test
skips where none can be made."""

import contextlib
import os
import shutil
import subprocess

import pytest


def _run(command):
  return subprocess.run(command, shell=True, capture_output=True,
                        check=False).returncode == 0


@contextlib.contextmanager
def tmpfs(folder, size):
  """A tmpfs of `size` ("1m") mounted on folder for the block."""
  folder.mkdir(parents=True, exist_ok=True)
  if not _run(f"mount -t tmpfs -o size={size} tmpfs {folder}"):
    pytest.skip("no tmpfs can be mounted here")
  try:
    yield folder
  finally:
    _run(f"umount --lazy {folder}")


@contextlib.contextmanager
def read_only(data, mounted):
  """`data` seen read-only at `mounted`: a read-only bind mount (root writes
  through permission bits), else permission bits."""
  mounted.mkdir(parents=True, exist_ok=True)
  bound = _run(f"mount --bind {data} {mounted} && mount -o remount,bind,ro"
               f" {mounted}")
  if not bound:
    _run(f"umount {mounted}")
    for path in [data, *data.rglob("*")]:
      path.chmod(0o555 if path.is_dir() else 0o444)
    mounted = data
  try:
    if os.access(mounted, os.W_OK):
      pytest.skip("no read-only folder can be made here")
    yield mounted
  finally:
    if bound:
      _run(f"umount --lazy {mounted}")
    for path in [data, *data.rglob("*")]:
      path.chmod(0o755)


def fill(folder, leave=0):
  """Writes a file into folder until `leave` bytes are free (0: full)."""
  chunk = b"\0" * 65536
  with open(folder / "filler", "wb") as out:
    with contextlib.suppress(OSError):
      while shutil.disk_usage(folder).free > leave + len(chunk):
        out.write(chunk)
        out.flush()
      out.write(b"\0" * max(0, shutil.disk_usage(folder).free - leave))
      out.flush()
