"""`python -m training train|evaluate ...`: the same as `mnist-derived train|evaluate ...`.

The command is run, not imported: `training` is a library the command uses,
and depends on nothing above it.
"""

import os
import sys

os.execv(sys.executable, [sys.executable, "-m", "mnist_derived", *sys.argv[1:]])
