"""mnist-derived-export: a built dataset in a standard format.

    mnist-derived-export mnist_fg/mnist --format parquet --out exports/mnist_fg
    mnist-derived-export mnist_fg/mnist --format croissant --out exports/mnist_fg
    mnist-derived-export mnist_mosaic/2x2 --format coco --out exports/coco_2x2

prints a one-line JSON summary. `croissant` describes, and is written into,
the Parquet export at --out, so it comes after `parquet`.
"""

import argparse
import json
import sys

from mnist_derived.core import cli_support
from mnist_derived.core import errors

FORMATS = ("parquet", "coco", "croissant")


def exporter(name):
  """The export function of a format."""
  # Each format imports only its own libraries.
  if name == "parquet":
    from mnist_derived.export import parquet as module  # pylint: disable=g-import-not-at-top
  elif name == "coco":
    from mnist_derived.export import coco as module  # pylint: disable=g-import-not-at-top
  else:
    from mnist_derived.export import croissant as module  # pylint: disable=g-import-not-at-top
  return module.export


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog="mnist-derived-export",
      description="Export a built mnist_derived dataset to Hugging Face"
      " Parquet, COCO or Croissant.")
  parser.add_argument("dataset", help="e.g. mnist_fg/mnist, mnist_mosaic/2x2")
  parser.add_argument("--format", required=True, choices=FORMATS)
  parser.add_argument("--out", required=True, help="output folder")
  parser.add_argument("--split", help="one split (default: all)")
  parser.add_argument("--overwrite", action="store_true",
                      help="replace an existing --out folder")
  cli_support.add_data_dir(parser)
  args = parser.parse_args(argv)
  cli_support.import_tensorflow_quietly()
  with cli_support.one_line_errors(types=(errors.InputError,)):
    export = exporter(args.format)
    builder = cli_support.built_builder(args.dataset, args.data_dir)
    summary = export(builder, args.out, split=args.split,
                     overwrite=args.overwrite)
  print(json.dumps(summary))
  return 0


if __name__ == "__main__":
  sys.exit(main())
