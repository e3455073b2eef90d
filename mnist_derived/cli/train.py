"""mnist-derived train / evaluate: the Keras baselines of `training/`."""

import shlex
import sys


def add_arguments(parser, verb):
  from training import cli  # pylint: disable=g-import-not-at-top
  if verb == "train":
    cli._train_parser(parser)  # pylint: disable=protected-access
    run = cli._run_train  # pylint: disable=protected-access
  else:
    cli._evaluate_parser(parser)  # pylint: disable=protected-access
    run = cli._run_evaluate  # pylint: disable=protected-access
  parser.set_defaults(
      run=lambda args: run(args, shlex.join(["mnist-derived", *sys.argv[1:]])),
      needs_tensorflow=True)
