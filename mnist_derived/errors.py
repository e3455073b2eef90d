"""Errors a user fixes in their input, and how the `tfds` command shows them.

A bad source file or a failed download is not a bug: its message names the
file and the problem, and a traceback through TFDS, gzip or numpy would only
bury it. Under the `tfds` command, such an error is printed as one line and
the command exits with status 1. Set MNIST_DERIVED_TRACEBACK=1 to see the
full traceback anyway. Other programs see ordinary exceptions.
"""

import os
import sys

# Imported by the `tfds` console script before it runs a command.
_TFDS_CLI_MODULE = "tensorflow_datasets.scripts.cli.main"


class InputError(Exception):
  """Base of the errors caused by input files or downloads, not by code."""


def _print_input_errors(previous_hook):
  def hook(exc_type, exc, tb):
    if issubclass(exc_type, InputError) and not os.environ.get(
        "MNIST_DERIVED_TRACEBACK"):
      print(f"error: {exc}", file=sys.stderr)
    else:
      previous_hook(exc_type, exc, tb)
  hook.mnist_derived = True
  return hook


def install_tfds_cli_hook():
  """Under the `tfds` command, prints uncaught InputErrors as one line."""
  if _TFDS_CLI_MODULE in sys.modules and not getattr(
      sys.excepthook, "mnist_derived", False):
    sys.excepthook = _print_input_errors(sys.excepthook)
