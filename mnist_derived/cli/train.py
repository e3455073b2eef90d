"""mnist-derived train / evaluate: the Keras baselines of `training/`.

`python -m training train|evaluate ...` is the same command.
"""

import contextlib
import json
import shlex
import sys

from mnist_derived.cli import options
from mnist_derived.cli import process

# The names of training.tasks.TASKS, which imports TensorFlow: `--help` and
# a missing TensorFlow are answered without it (tests check the two agree).
TASK_NAMES = ("circles", "fg", "mosaic", "pairs", "scatter")


def add_arguments(parser, verb):
  _common(parser)
  if verb == "train":
    _train_arguments(parser)
  else:
    _evaluate_arguments(parser)
  parser.set_defaults(run=run_train if verb == "train" else run_evaluate,
                      needs_tensorflow=True,
                      outputs={"out": "folder", "results": "file"})


def _common(parser):
  parser.add_argument("task", choices=TASK_NAMES)
  options.add_data_dir(parser)
  parser.add_argument("--manual_dir", "--manual-dir", dest="manual_dir",
                      help="build the dataset first, if it is not built, from"
                      " the MNIST-format files in this folder")
  parser.add_argument("--dataset",
                      help="TFDS name/config to use instead of the task's, "
                      "e.g. mnist_fg/fashion_mnist or mnist_mosaic/3x3")
  parser.add_argument("--limit", type=int, help=(
      "train: at most this many training examples (and a ninth as many for"
      " validation); the test split is always scored whole. evaluate: score"
      " only the first N examples (the predictions file then holds N)"))


def _train_arguments(parser):
  parser.add_argument("--out", required=True, help="run folder")
  parser.add_argument("--epochs", type=int, help="default: the task's")
  parser.add_argument("--batch-size", type=int, help="default: the task's")
  parser.add_argument("--learning-rate", type=float,
                      help="peak learning rate (default: the task's)")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--input", choices=["tfds", "data_source", "generated"],
                      default="tfds",
                      help="tfds: tfds.load (default); data_source: random"
                      " access to a build made with --file_format"
                      " array_record; generated: fresh examples every epoch,"
                      " computed from --manual_dir's digits")
  parser.add_argument("--train_examples", "--train-examples", type=int,
                      help="with --input generated: examples per epoch"
                      " (default: the training split's count)")
  parser.add_argument("--results", help="also write the metrics JSON here")
  parser.add_argument("--quiet", action="store_true", help="no progress bars")
  parser.add_argument("--overwrite", action="store_true",
                      help="replace a run of other settings in --out")


def _evaluate_arguments(parser):
  which = parser.add_mutually_exclusive_group(required=True)
  which.add_argument("--model", help="a saved .keras model")
  which.add_argument("--pretrained", action="store_true",
                     help="the task's shipped baseline (training/pretrained/)")
  options.add_split(parser)
  parser.add_argument("--out", help="write evaluation JSON and figure here")
  parser.add_argument("--results", help="a results JSON of `train` to refresh"
                      " with these scores")


@contextlib.contextmanager
def damaged_records_named(args):
  """TensorFlow stops a training or scoring run on a record that fails its
  checksum with a DataLossError that names no file: this names it."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    yield
  except tf.errors.DataLossError:
    from mnist_derived import builds  # pylint: disable=g-import-not-at-top
    from mnist_derived import decoding  # pylint: disable=g-import-not-at-top
    from training import tasks  # pylint: disable=g-import-not-at-top
    built = builds.built_builder(args.dataset or tasks.TASKS[args.task].dataset,
                                 args.data_dir)
    for split in built.info.splits:
      damage = decoding.first_damage(built, split)
      if damage is not None:
        raise damage from None
    raise


def run_train(args):
  if args.epochs is not None and args.epochs < 1:
    from mnist_derived.core import errors  # pylint: disable=g-import-not-at-top
    raise errors.InputError(f"epochs must be at least 1, not {args.epochs}")
  with damaged_records_named(args):
    _train(args)


def run_evaluate(args):
  with damaged_records_named(args):
    _evaluate(args)


def _train(args):
  from training import runner  # pylint: disable=g-import-not-at-top
  report = runner.train(
      args.task, args.out, data_dir=args.data_dir, epochs=args.epochs,
      batch_size=args.batch_size, seed=args.seed, limit=args.limit,
      learning_rate=args.learning_rate, results=args.results,
      verbose=2 if args.quiet else 1, dataset=args.dataset,
      input_pipeline=args.input, overwrite=args.overwrite,
      manual_dir=args.manual_dir, callbacks=[_stop_when_terminated()],
      train_examples=args.train_examples,
      command=shlex.join(["mnist-derived", *sys.argv[1:]]))
  print(json.dumps(report, indent=2, sort_keys=True))


def _stop_when_terminated():
  """Stops the fit at the next batch once SIGTERM has arrived, if its
  exception landed in TensorFlow's C++ and was dropped there."""
  import keras  # pylint: disable=g-import-not-at-top
  return keras.callbacks.LambdaCallback(
      on_train_batch_end=lambda batch, logs: process.raise_if_terminated(),
      on_epoch_end=lambda epoch, logs: process.raise_if_terminated())


def _evaluate(args):
  from training import runner  # pylint: disable=g-import-not-at-top
  scores = runner.evaluate(args.task, args.model, split=args.split,
                           data_dir=args.data_dir, limit=args.limit,
                           out=args.out, dataset=args.dataset,
                           results=args.results, manual_dir=args.manual_dir)
  print(json.dumps(scores, indent=2, sort_keys=True))
