"""`mnist-derived VERB ...` (also `python -m mnist_derived VERB ...`).

The only place that touches the process: exit statuses, one-line errors,
TensorFlow's start-up lines, matplotlib's backend.
"""

import argparse
import importlib
import sys

from mnist_derived.cli import process

# verb: (module under mnist_derived.cli, one line of help)
VERBS = {
    "build": ("build", "build datasets, as `tfds build` does (with or"
              " without TensorFlow)"),
    "verify": ("verify", "check built datasets against the published"
               " fingerprints"),
    "show": ("show", "draw a montage of a built dataset"),
    "score": ("score", "score a predictions file or COCO detections"),
    "export": ("export", "export a built dataset to Parquet, COCO or"
               " Croissant"),
    "train": ("train", "train, save and score a Keras baseline (needs"
              " TensorFlow)"),
    "evaluate": ("train", "score a saved Keras model (needs TensorFlow)"),
}


def parser():
  """The command's parser: one subparser a verb, each verb's module adds
  its arguments and sets `run`."""
  top = argparse.ArgumentParser(
      prog="mnist-derived",
      description="Build, check, look at, score and export the mnist_derived"
      " datasets, and train their Keras baselines.")
  from mnist_derived import __version__  # pylint: disable=g-import-not-at-top
  top.add_argument("--version", action="version", version=__version__)
  verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")
  for verb, (module, help_line) in VERBS.items():
    sub = verbs.add_parser(verb, help=help_line, description=help_line[0]
                           .upper() + help_line[1:] + ".")
    importlib.import_module(f"mnist_derived.cli.{module}").add_arguments(
        sub, verb)
  return top


def main(argv=None):
  process.terminate_cleanly()
  args = parser().parse_args(sys.argv[1:] if argv is None else argv)
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")  # pictures go to files; no window is opened
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  tfds.disable_progress_bar()  # the verbs say what was done, in a line
  if getattr(args, "quiet", False):
    from mnist_derived import progress  # pylint: disable=g-import-not-at-top
    progress.enabled = False
  with process.one_line_errors():
    from mnist_derived import decoding  # pylint: disable=g-import-not-at-top
    if args.needs_tensorflow and not decoding.tensorflow_installed():
      raise decoding.NeedsTensorFlow(f"`mnist-derived {args.verb}`")
    with _outputs_checked(args):
      if not getattr(args, "starts_tensorflow_itself", False):
        process.start_tensorflow()
      status = args.run(args) or 0
      process.raise_if_terminated()
      return status


def _outputs_checked(args):
  """Checks, before any work, that every output the verb declares (`outputs`:
  {dest: "file" or "folder"}) can be written; the block then reports a full
  disk as one line naming the first of them."""
  from mnist_derived.core import storage  # pylint: disable=g-import-not-at-top
  given = {dest: getattr(args, dest) for dest in getattr(args, "outputs", {})
           if getattr(args, dest, None)}
  for dest, path in given.items():
    storage.check_writable(path, f"--{dest}", args.outputs[dest] == "file")
  dest, path = next(iter(given.items()), ("data_dir", "."))
  return storage.disk_full_reported(path, f"running `mnist-derived"
                                    f" {args.verb}`", f"--{dest}")
