"""mnist-derived export: a built dataset as Hugging Face Parquet, COCO or
Croissant; prints a one-line JSON summary."""

import importlib
import json

from mnist_derived import builds
from mnist_derived.cli import options

FORMATS = ("parquet", "coco", "croissant")


def add_arguments(parser, verb):
  del verb
  parser.add_argument("dataset", help="e.g. mnist_fg/mnist, mnist_mosaic/2x2")
  parser.add_argument("--format", required=True, choices=FORMATS,
                      help="parquet (any dataset), coco (mosaic datasets"
                      " only), croissant (written into a parquet export)")
  parser.add_argument("--out", required=True, help="output folder")
  parser.add_argument("--split", help="one split (default: all)")
  parser.add_argument("--overwrite", action="store_true",
                      help="replace an existing --out folder")
  options.add_data_dir(parser)
  parser.set_defaults(run=run, needs_tensorflow=False)


def run(args):
  # Each format imports only its own libraries.
  module = importlib.import_module(f"mnist_derived.export.{args.format}")
  built = builds.built_builder(args.dataset, args.data_dir)
  summary = module.export(built, args.out, split=args.split,
                          overwrite=args.overwrite)
  print(json.dumps(summary))
  return 0
