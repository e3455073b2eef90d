"""The `mnist-derived` command as the tests run it: the installed console
script, or `-c` where a test builder must be registered first."""

import os
import shutil
import sys

# The console script installed beside this interpreter.
MNIST_DERIVED = shutil.which("mnist-derived",
                             path=os.path.dirname(sys.executable)) or "mnist-derived"
# A console script only sees builders registered on import; the tiny mosaics
# are test builders, so their commands go through `-c`.
TEST_BUILDERS = ("mnist_mosaic_tiny", "mnist_mosaic_slow")
_WITH_TINY = ("import sys, tests.builder_testing;"
              " from mnist_derived.cli import main; sys.exit(main())")


def command(verb, dataset):
  """The command line of `mnist-derived VERB DATASET`."""
  if dataset.startswith(TEST_BUILDERS):
    return [sys.executable, "-c", _WITH_TINY, verb, dataset]
  return [MNIST_DERIVED, verb, dataset]
