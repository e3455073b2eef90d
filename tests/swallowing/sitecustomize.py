"""Loaded at start-up by a command run with this folder on PYTHONPATH: the
command's SIGTERM handler then raises where foreign code catches the error
and prints it through sys.excepthook, as TensorFlow's C++ may do."""

import signal
import sys

_install = signal.signal


def _swallowed(handler):
  def swallowing(signum, frame):
    try:
      handler(signum, frame)
    except BaseException:  # pylint: disable=broad-except
      sys.excepthook(*sys.exc_info())
  return swallowing


def _signal(signum, handler):
  if signum == signal.SIGTERM and callable(handler):
    handler = _swallowed(handler)
  return _install(signum, handler)


signal.signal = _signal
