"""Errors a user fixes in their input, and how commands show them.

A bad source file, a failed download or a bad predictions file is not a bug:
its message names the file and the problem, and a traceback through TFDS,
gzip or numpy would only bury it. The package's own commands and the `tfds`
command print such an error as one line, `error: <file>: <problem>`, and
exit with a non-zero status (`cli/process.py`, the one place that does);
MNIST_DERIVED_TRACEBACK=1 shows the traceback too. Library callers
(`tfds.load`, `download_and_prepare`, `Evaluator`) get ordinary exceptions.
"""

import os

# Loaded by the `tfds` console script before it runs a command.
TFDS_CLI_MODULE = "tensorflow_datasets.scripts.cli.main"
TRACEBACK_ENV = "MNIST_DERIVED_TRACEBACK"


class InputError(Exception):
  """Base of the errors caused by input files, flags or downloads, not code."""


class InputFileError(InputError, ValueError):
  """One input file is missing, unreadable or malformed."""

  def __init__(self, path, problem):
    self.path = os.fspath(path)
    self.problem = problem
    super().__init__(f"{self.path}: {problem}")


def import_extra(module, what, extra):
  """Imports an optional dependency, or an InputError naming the extra that
  installs it: `import_extra("grain", "grain_dataset", "jax")`."""
  import importlib  # pylint: disable=g-import-not-at-top
  try:
    return importlib.import_module(module)
  except ImportError:
    raise InputError(f"{what} needs {module}, which is not installed: pip"
                     f" install 'mnist-derived[{extra}]'") from None
