"""mnist-derived show: a montage of a built dataset, saved as a picture."""

import json
import os

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
  parser.add_argument("--predictions",
                      help="a predictions file with `instances` (mosaic"
                      " datasets): draw them beside the true objects")
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
  if args.predictions:
    figure = _predicted_instances(args)
  else:
    built = builds.built_builder(args.dataset, args.data_dir)
    figure = show.montage(built, args.split, args.num)
  files.save_figure(figure, args.out)
  print(json.dumps({"dataset": args.dataset, "split": args.split,
                    "out": args.out}))
  return 0


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
