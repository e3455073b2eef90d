"""mnist-derived show: a montage of a built dataset, saved as a picture."""

import json
import os

from mnist_derived import builds
from mnist_derived import files
from mnist_derived.cli import options
from mnist_derived.core import errors


def add_arguments(parser, verb):
  del verb
  parser.add_argument("dataset", help="e.g. mnist_mosaic/scatter")
  options.add_split(parser)
  parser.add_argument("--num", type=_positive, default=16,
                      help="examples to draw (default 16)")
  parser.add_argument("--out", required=True, help="the picture, e.g. fig.png")
  parser.add_argument("--predictions",
                      help="a predictions file with `instances` (mosaic"
                      " datasets): draw them beside the true objects")
  options.add_data_dir(parser)
  options.add_quiet(parser)
  parser.add_argument("--manual_dir", "--manual-dir", dest="manual_dir",
                      help="where the dataset is not built: draw its"
                      " examples 0.. computed from the MNIST-format files in"
                      " this folder")
  parser.set_defaults(run=run, needs_tensorflow=False,
                      outputs={"out": "file"})


def _positive(text):
  import argparse  # pylint: disable=g-import-not-at-top
  value = int(text)
  if value < 1:
    raise argparse.ArgumentTypeError("must be at least 1")
  return value


def check_picture_path(path):
  """Refuses an --out whose extension matplotlib cannot write, before any
  work is done."""
  from matplotlib import backend_bases  # pylint: disable=g-import-not-at-top
  formats = backend_bases.FigureCanvasBase.get_supported_filetypes()
  suffix = os.path.splitext(path)[1].lower().lstrip(".")
  if suffix not in formats:
    what = f"extension .{suffix}" if suffix else "no extension"
    raise errors.InputFileError(
        path, f"has {what}, which names no picture format; use one of"
        f" {', '.join('.' + f for f in sorted(formats))}")


def run(args):
  from mnist_derived import show  # pylint: disable=g-import-not-at-top
  check_picture_path(args.out)
  if args.predictions:
    figure = _predicted_instances(args)
  else:
    figure = show.montage(*_examples_to_draw(args))
  files.save_figure(figure, args.out)
  print(json.dumps({"dataset": args.dataset, "split": args.split,
                    "out": args.out}))
  return 0


def _examples_to_draw(args):
  """(builder, split, num, examples): a build's first stored examples, or,
  where it is not built and --manual_dir is given, examples 0..num-1
  generated from the source digits."""
  if args.manual_dir is None:
    return builds.built_builder(args.dataset, args.data_dir), args.split, (
        args.num), None
  found = builds.builder(args.dataset, args.data_dir)
  with builds.tfds_errors_only():
    if found.is_prepared():
      return found, args.split, args.num, None
  from mnist_derived import loaders  # pylint: disable=g-import-not-at-top
  generated = loaders.GeneratedSplit(args.dataset, args.split,
                                     manual_dir=args.manual_dir,
                                     data_dir=args.data_dir)
  num = min(args.num, len(generated))
  return found, args.split, num, [generated[i] for i in range(num)]


def _predicted_instances(args):
  """The first --num examples (by index): image, true and predicted objects."""
  from mnist_derived import show  # pylint: disable=g-import-not-at-top
  from mnist_derived.evaluation import predictions  # pylint: disable=g-import-not-at-top
  from mnist_derived.evaluation import score  # pylint: disable=g-import-not-at-top
  evaluator = score.Evaluator(args.dataset, args.split, args.data_dir)
  checked = evaluator.check(args.predictions)  # sorted by index
  if "instances" not in checked:
    raise predictions.PredictionsError(args.predictions,
                                       "holds no 'instances' to draw")
  truth = score.load_truth(evaluator.builder, args.split,
                           ("image", "instances"))
  num = min(args.num, 8, evaluator.num_examples)
  return show.instances_montage(
      truth["image"][:num, ..., 0], truth["instances"][:num, ..., 0],
      checked["instances"][:num], truth["index"][:num],
      f"{builds.key(evaluator.builder)} {args.split}:"
      f" {os.path.basename(args.predictions)}")
