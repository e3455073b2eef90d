"""Files written whole or not at all: beside their path, then renamed."""

import contextlib
import os
import pathlib


@contextlib.contextmanager
def atomic_path(path):
  """Yields a hidden partial path beside `path` to write; renames it to
  `path` when the block ends, and removes it when the block fails. The
  partial ends in `path`'s whole name, for writers that choose a format by
  how it ends (`.npz`, `.keras`, Keras's `.weights.h5`)."""
  path = pathlib.Path(path)
  partial = path.with_name(f".partial.{path.name}")
  try:
    yield partial
    os.replace(partial, path)
  finally:
    partial.unlink(missing_ok=True)


def write_text(path, text):
  with atomic_path(path) as partial:
    partial.write_text(text)


def save_npz(path, arrays):
  """np.savez_compressed, never half-written."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  with atomic_path(path) as partial:
    np.savez_compressed(partial, **arrays)


def save_figure(fig, path, dpi=90):
  """A matplotlib figure, never half-written; makes the folder."""
  pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
  with atomic_path(path) as partial:
    fig.savefig(partial, dpi=dpi)
