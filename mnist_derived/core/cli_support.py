"""What the package's commands share: flags, one-line errors, atomic writes."""

import contextlib
import os
import pathlib
import sys
import tempfile

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


@contextlib.contextmanager
def absl_errors_only():
  """Shows only errors of absl logging (TFDS's) inside the block: for
  warnings the caller knows to be noise and says better itself."""
  from absl import logging  # pylint: disable=g-import-not-at-top
  verbosity = logging.get_verbosity()
  logging.set_verbosity(logging.ERROR)
  try:
    yield
  finally:
    logging.set_verbosity(verbosity)


def built_builder(dataset, data_dir=None, manual_dir=None,
                  can_build=False):
  """The TFDS builder of a built dataset ('name/config'), or an InputError.

  With `manual_dir`, an unbuilt dataset is built first from the source files
  there (as `tfds build --manual_dir` would). `can_build` says the calling
  command takes --manual_dir, so the error offers it.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import mnist_derived  # noqa: F401 pylint: disable=g-import-not-at-top,unused-import
  # TFDS warns that an unbuilt folder has no dataset_info.json; the error
  # below says it better.
  with absl_errors_only():
    try:
      builder = tfds.builder(dataset, data_dir=data_dir)
      prepared = builder.is_prepared()
    except (tfds.core.registered.DatasetNotFoundError, ValueError) as e:
      raise errors.InputError(
          f"{dataset}: {str(e).strip().splitlines()[0]}") from None
  if not prepared and manual_dir is not None:
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
    return builder
  if not prepared:
    root = pathlib.Path(builder.data_dir).parents[2]  # <root>/name/config/version
    offer = (" (or add --manual_dir <your MNIST folder> to this command)"
             if can_build else "")
    raise errors.InputError(
        f"{dataset} is not built in {root}: build it first with `"
        + BUILD_HINT.format(dataset=dataset, data_dir=root) + "`" + offer)
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


# Set by a user who wants TensorFlow's own start-up and C++ logs.
TF_LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"


def import_tensorflow_quietly():
  """Imports TensorFlow without its start-up lines, unless they are asked for.

  TensorFlow prints about eight lines at import and first use (oneDNN, CUDA
  drivers, an `E0000 ... failed call to cuInit` on a machine without a GPU)
  that say nothing about the command. Unless the user has set
  TF_CPP_MIN_LOG_LEVEL (to 0 to see them all), this sets it to 3 (C++
  errors off: Python exceptions are unaffected) and holds back what the
  import writes to stderr, replaying it if the import fails.
  """
  if TF_LOG_LEVEL_ENV in os.environ or "tensorflow" in sys.modules:
    return
  os.environ[TF_LOG_LEVEL_ENV] = "3"
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow  # noqa: F401 pylint: disable=g-import-not-at-top,unused-import
      import tensorflow_datasets  # noqa: F401 pylint: disable=g-import-not-at-top,unused-import
    except BaseException:
      os.dup2(saved, 2)
      captured.seek(0)
      sys.stderr.write(captured.read().decode(errors="replace"))
      raise
    finally:
      os.dup2(saved, 2)
      os.close(saved)
