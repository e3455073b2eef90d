"""mnist-derived verify: built datasets against the published fingerprints."""

from mnist_derived import builds
from mnist_derived.cli import options
from mnist_derived import fingerprint


def add_arguments(parser, verb):
  del verb
  parser.add_argument("datasets", nargs="+", metavar="DATASET",
                      help="e.g. mnist_fg/mnist mnist_mosaic/2x2")
  options.add_data_dir(parser)
  parser.set_defaults(run=run, needs_tensorflow=False)


def run(args):
  """Prints a line per split; 1 when any differs from its published value."""
  published = fingerprint.published_fingerprints()
  mismatches = 0
  for name in args.datasets:
    built = builds.built_builder(name, args.data_dir)
    expected = published.get(builds.key(built))
    for split, value in fingerprint.builder_fingerprints(built).items():
      line, differs = verdict(expected, split, value)
      mismatches += differs
      print(f"{builds.key(built)} {split} {value} {line}")
  return 1 if mismatches else 0


def verdict(expected, split, value):
  """(what to say of a split's fingerprint, whether it differs)."""
  if expected is None:
    return "(none published)", False
  if expected.get(split) == value:
    return "matches the published fingerprint", False
  return f"DIFFERS from the published {expected.get(split)}", True
