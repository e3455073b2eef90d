"""mnist-derived export: a built dataset as Hugging Face Parquet, COCO or
Croissant; prints a one-line JSON summary."""

import importlib
import json

from mnist_derived import builds
from mnist_derived import declarations
from mnist_derived.cli import options
from mnist_derived.core import storage

FORMATS = ("parquet", "coco", "croissant")
# Formats that hold every image of the build (its PNGs, copied): about as
# large as its record files. Croissant adds a small JSON file only.
COPIES_RECORDS = ("parquet", "coco")


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
  options.add_quiet(parser)
  parser.set_defaults(run=run, needs_tensorflow=False,
                      outputs={"out": "folder"})


def run(args):
  # Each format imports only its own libraries.
  module = importlib.import_module(f"mnist_derived.export.{args.format}")
  built = builds.built_builder(args.dataset, args.data_dir)
  declarations.check_export(built, args.format)
  if args.format in COPIES_RECORDS:
    storage.check_free_space(args.out, export_bytes(built, args.split),
                             f"exporting {builds.key(built)}", "--out")
  summary = module.export(built, args.out, split=args.split,
                          overwrite=args.overwrite)
  print(json.dumps(summary))
  return 0


def export_bytes(built, split=None):
  """The record files' size of the splits an export holds."""
  splits = [split] if split else list(built.info.splits)
  return sum(built.info.splits[name].num_bytes for name in splits
             if name in built.info.splits)
