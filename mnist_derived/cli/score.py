"""mnist-derived score: a predictions file or COCO detections, scored the
same way for everyone; prints one JSON object."""

import json

from mnist_derived import files
from mnist_derived.cli import options
from mnist_derived.cli import process


def add_arguments(parser, verb):
  del verb
  parser.add_argument("dataset", help="e.g. mnist_fg/mnist")
  given = parser.add_mutually_exclusive_group(required=True)
  given.add_argument("--predictions", help=(
      "predictions .npz: an int array `index` (each example of the split"
      f" once) and the dataset's arrays: {_arrays_help()} (README, \"Score"
      " your own model's predictions\")"))
  given.add_argument("--detections", help="COCO results .json (mosaic"
                     " datasets): scored as AP, AP50, AP75 by pycocotools")
  options.add_split(parser)
  options.add_data_dir(parser)
  options.add_quiet(parser)
  parser.add_argument("--manual_dir", "--manual-dir", dest="manual_dir",
                      help="where the dataset is not built: score against"
                      " its split computed from the MNIST-format files in"
                      " this folder (the build's values)")
  parser.add_argument("--json", help="also write the scores to this file")
  # A bad file is refused before TensorFlow is started (seconds).
  parser.set_defaults(run=run, needs_tensorflow=False,
                      starts_tensorflow_itself=True, outputs={"json": "file"})


def _arrays_help():
  """What each dataset's predictions hold, from the declarations."""
  from mnist_derived import declarations  # pylint: disable=g-import-not-at-top
  from mnist_derived.core import builder  # pylint: disable=g-import-not-at-top
  parts = []
  for name, builder_class in sorted(builder.registered().items()):
    scoring = declarations.of(builder_class).scoring
    arrays = ", ".join(f"`{a}`" for a in scoring.arrays)
    optional = ", ".join(f"`{a}`" for a in scoring.optional)
    parts.append(f"{name} {arrays or 'any of'}"
                 + (f" (and any of {optional})" if arrays and optional else
                    f" {optional}" if optional else ""))
  return "; ".join(parts)


def run(args):
  from mnist_derived.evaluation import score  # pylint: disable=g-import-not-at-top
  evaluator = score.Evaluator(args.dataset, args.split, args.data_dir,
                              args.manual_dir)
  if args.detections:
    process.start_tensorflow()
    scores = {**evaluator.evaluate_detections(args.detections),
              "detections_file": args.detections}
  else:
    checked = evaluator.check(args.predictions)
    process.start_tensorflow()
    scores = {**evaluator.score(checked), "predictions": args.predictions}
  text = json.dumps(scores, indent=2, sort_keys=True)
  if args.json:
    files.write_text(args.json, text + "\n")
  print(text)
  return 0
