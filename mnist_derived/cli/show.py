"""mnist-derived show: a montage of a built dataset, saved as a picture."""

import json

from mnist_derived import builds
from mnist_derived import files
from mnist_derived.cli import options


def add_arguments(parser, verb):
  del verb
  parser.add_argument("dataset", help="e.g. mnist_mosaic/scatter")
  options.add_split(parser)
  parser.add_argument("--num", type=_positive, default=16,
                      help="examples to draw (default 16)")
  parser.add_argument("--out", required=True, help="the picture, e.g. fig.png")
  options.add_data_dir(parser)
  parser.set_defaults(run=run, needs_tensorflow=False,
                      outputs={"out": "file"})


def _positive(text):
  import argparse  # pylint: disable=g-import-not-at-top
  value = int(text)
  if value < 1:
    raise argparse.ArgumentTypeError("must be at least 1")
  return value


def run(args):
  from mnist_derived import show  # pylint: disable=g-import-not-at-top
  built = builds.built_builder(args.dataset, args.data_dir)
  files.save_figure(show.montage(built, args.split, args.num), args.out)
  print(json.dumps({"dataset": args.dataset, "split": args.split,
                    "out": args.out}))
  return 0
