"""`python -m mnist_derived VERB ...`: the `mnist-derived` command."""

import sys

from mnist_derived.cli import main

sys.exit(main())
