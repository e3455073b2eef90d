"""`python -m training train|evaluate ...`: the same as `mnist-derived train|evaluate ...`."""

import sys

from mnist_derived.cli import main

sys.exit(main(sys.argv[1:]))
