"""What the package's commands share: flags, one-line errors, atomic writes."""

import contextlib
import os
import pathlib

from mnist_derived.core import errors

BUILD_HINT = ("tfds build --imports mnist_derived {dataset} --data_dir {data_dir}"
              " --manual_dir <your MNIST folder>")


def add_data_dir(parser):
  """--data_dir, as tfds spells it; --data-dir is accepted too."""
  parser.add_argument("--data_dir", "--data-dir", dest="data_dir",
                      help="TFDS data dir (default: TFDS's, ~/tensorflow_datasets)")


@contextlib.contextmanager
def one_line_errors(exit_code=1, types=(errors.InputError,)):
  """Turns the given input errors into 'error: ...' and an exit status.

  Only errors of input (files, flags, missing builds) are caught: a bug keeps
  its traceback. MNIST_DERIVED_TRACEBACK=1 shows the traceback of these too.
  """
  try:
    yield
  except types as e:
    errors.exit_with_one_line(e, exit_code)


def built_builder(dataset, data_dir=None):
  """The TFDS builder of a built dataset ('name/config'), or an InputError."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import mnist_derived  # noqa: F401 pylint: disable=g-import-not-at-top,unused-import
  from absl import logging  # pylint: disable=g-import-not-at-top
  verbosity = logging.get_verbosity()
  # TFDS warns that an unbuilt folder has no dataset_info.json; the error
  # below says it better.
  logging.set_verbosity(logging.ERROR)
  try:
    builder = tfds.builder(dataset, data_dir=data_dir)
    prepared = builder.is_prepared()
  except (tfds.core.registered.DatasetNotFoundError, ValueError) as e:
    raise errors.InputError(
        f"{dataset}: {str(e).strip().splitlines()[0]}") from None
  finally:
    logging.set_verbosity(verbosity)
  if not prepared:
    root = pathlib.Path(builder.data_dir).parents[2]  # <root>/name/config/version
    raise errors.InputError(
        f"{dataset} is not built in {root}: build it first with `"
        + BUILD_HINT.format(dataset=dataset, data_dir=root) + "`")
  return builder


def save_npz_atomically(path, arrays):
  """np.savez_compressed beside `path`, then a rename: never a half-written
  predictions file."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  path = pathlib.Path(path)
  partial = path.with_name(f".{path.stem}.partial.npz")
  np.savez_compressed(partial, **arrays)
  os.replace(partial, path)


def write_text_atomically(path, text):
  """Writes beside `path`, then renames: never a half-written file."""
  path = pathlib.Path(path)
  partial = path.with_name(f".{path.name}.partial")
  partial.write_text(text)
  os.replace(partial, path)
