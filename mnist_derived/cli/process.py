"""What only the command does to its process: TensorFlow's start-up lines,
one-line errors and exit statuses."""

import contextlib
import os
import signal
import sys
import tempfile

from mnist_derived.core import errors

# Set by a user who wants TensorFlow's own start-up and C++ logs.
TF_LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
# Exit statuses: a bad input, a bad predictions file, Ctrl-C, SIGTERM (the
# shell's 128 + signal number).
EXIT_INPUT, EXIT_PREDICTIONS = 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM


class Terminated(BaseException):
  """SIGTERM, raised where the command is so that its cleanup runs (Python's
  default ends the process at once, leaving partial files behind). A
  BaseException, like KeyboardInterrupt, so no `except Exception` keeps it."""


# Set once SIGTERM arrives. The handler's exception can land inside a
# callback from C++ (TensorFlow's), which prints it and carries on: the
# flag lets the command raise it again where Python code runs.
_terminated = []


def _raise_terminated(signum, frame):
  del signum, frame
  _terminated.append(True)
  raise Terminated()


def raise_if_terminated():
  """Raises Terminated if SIGTERM arrived and its exception was swallowed."""
  if _terminated:
    raise Terminated()


def _caused_by_termination(error):
  while error is not None:
    if isinstance(error, Terminated):
      return True
    error = error.__cause__ or error.__context__
  return False


def _hold_back_termination(hook_name, error_of):
  hook = getattr(sys, hook_name)
  if getattr(hook, "holds_back_termination", False):
    return
  def quiet(*args):
    if not _caused_by_termination(error_of(*args)):
      hook(*args)
  quiet.holds_back_termination = True
  setattr(sys, hook_name, quiet)


def terminate_cleanly():
  """SIGTERM from now on unwinds the command like Ctrl-C does; the
  traceback of a Terminated that foreign code caught and printed is held
  back (the command still stops, with raise_if_terminated)."""
  _terminated.clear()
  signal.signal(signal.SIGTERM, _raise_terminated)
  _hold_back_termination("excepthook", lambda kind, error, traceback: error)
  _hold_back_termination("unraisablehook",
                         lambda unraisable: unraisable.exc_value)


def import_tensorflow_quietly():
  """Imports TensorFlow without its start-up lines, unless they are asked for.

  TensorFlow prints about eight lines at import and first use (oneDNN, CUDA
  drivers, an `E0000 ... failed call to cuInit` on a machine without a GPU)
  that say nothing about the command, some of them even at
  TF_CPP_MIN_LOG_LEVEL=3. Unless the user has set TF_CPP_MIN_LOG_LEVEL to
  another level (0 to see them all), this sets it to 3 (C++ errors off:
  Python exceptions are unaffected) and holds back what the import writes
  to stderr, replaying it if the import fails.
  """
  if os.environ.get(TF_LOG_LEVEL_ENV, "3") != "3" or "tensorflow" in sys.modules:
    return
  os.environ[TF_LOG_LEVEL_ENV] = "3"
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow  # noqa: F401 pylint: disable=g-import-not-at-top,unused-import
      import tensorflow_datasets  # noqa: F401 pylint: disable=g-import-not-at-top,unused-import
    except Exception:  # an import that fails shows what it wrote; Ctrl-C not
      os.dup2(saved, 2)
      captured.seek(0)
      sys.stderr.write(captured.read().decode(errors="replace"))
      raise
    finally:
      os.dup2(saved, 2)
      os.close(saved)


def start_tensorflow():
  """Imports TensorFlow where it is installed, its start-up lines held back:
  before anything that may read a tfrecord build or train."""
  from mnist_derived import decoding  # pylint: disable=g-import-not-at-top
  if decoding.tensorflow_installed():
    import_tensorflow_quietly()


def exit_status(error):
  from mnist_derived.evaluation import predictions  # pylint: disable=g-import-not-at-top
  if isinstance(error, predictions.PredictionsError):
    return EXIT_PREDICTIONS
  return EXIT_INPUT


def _one_line(error):
  """True after printing `error: <message>` for an input error, unless
  MNIST_DERIVED_TRACEBACK asks for its traceback."""
  if not isinstance(error, errors.InputError) or os.environ.get(
      errors.TRACEBACK_ENV):
    return False
  print(f"error: {error}", file=sys.stderr)
  return True


@contextlib.contextmanager
def one_line_errors():
  """Ends the command with `error: <message>` and its exit status on an
  input error (files, flags, missing builds) or Ctrl-C; a bug keeps its
  traceback. MNIST_DERIVED_TRACEBACK=1 shows the traceback of these too."""
  try:
    yield
  except errors.InputError as e:
    if not _one_line(e):
      raise
    raise SystemExit(exit_status(e)) from None
  except KeyboardInterrupt:
    _stop("interrupted", EXIT_INTERRUPTED)
  except Terminated:
    _stop("terminated", EXIT_TERMINATED)
  except Exception as error:  # pylint: disable=broad-except
    # Terminated raised inside a callback from C++ may come back as the
    # library's own error (TensorFlow's), its cause the Terminated or lost:
    # after SIGTERM, whatever ends the command is the termination.
    if _terminated or _caused_by_termination(error):
      _stop("terminated", EXIT_TERMINATED)
    raise


def _stop(what, status):
  if os.environ.get(errors.TRACEBACK_ENV):
    raise  # pylint: disable=misplaced-bare-raise
  print(what, file=sys.stderr)
  raise SystemExit(status) from None


def one_line_under_tfds_cli():
  """Inside TFDS's own `tfds` command (absl's app.run), an input error ends
  it with one line and status 1, as in ours: absl's exception handlers see
  it after TFDS has unwound (its incomplete build folder removed); the
  traceback Python would print next is left out."""
  from absl import app  # pylint: disable=g-import-not-at-top

  class OneLine(app.ExceptionHandler):

    def wants(self, exception):
      return isinstance(exception, errors.InputError)

    def handle(self, exception):
      if _one_line(exception):
        _quiet_exit_for(exception)

  app.install_exception_handler(OneLine())


def _quiet_exit_for(exception):
  previous = sys.excepthook

  def hook(kind, value, traceback):
    if value is not exception:
      previous(kind, value, traceback)

  sys.excepthook = hook
