"""mnist-derived verify: built datasets read back whole, and compared with
the published fingerprints."""

from mnist_derived import builds
from mnist_derived import fingerprint
from mnist_derived import verification
from mnist_derived.cli import options


def add_arguments(parser, verb):
  del verb
  parser.add_argument("datasets", nargs="+", metavar="DATASET",
                      help="e.g. mnist_fg/mnist mnist_mosaic/2x2")
  options.add_data_dir(parser)
  options.add_quiet(parser)
  parser.set_defaults(run=run, needs_tensorflow=False)


def run(args):
  """Prints a line per split and one per problem found; 1 when any split
  cannot be read, differs from its features or from its published value."""
  published = fingerprint.published_fingerprints()
  failed = 0
  for name in args.datasets:
    built = builds.built_builder(name, args.data_dir)
    expected = published.get(builds.key(built))
    for report in verification.verify(built):
      line, differs = verdict(expected, report)
      failed += differs
      print(f"{builds.key(built)} {report.split} {line}")
      for problem in report.problems:
        print(problem)
  return 1 if failed else 0


def verdict(expected, report):
  """(what to say of a split, whether it failed)."""
  if report.fingerprint is None:
    return f"FAILED: {len(report.problems)} problem(s) below", True
  value = report.fingerprint
  if expected is None:
    return f"{value} read whole (no fingerprint published)", False
  if expected.get(report.split) == value:
    return f"{value} read whole, matches the published fingerprint", False
  return f"{value} DIFFERS from the published {expected.get(report.split)}", True
