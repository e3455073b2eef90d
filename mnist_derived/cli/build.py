"""mnist-derived build: the datasets `tfds build` builds, with or without
TensorFlow (without it, as array_record)."""

import contextlib
import functools
import io
import sys
import time

from mnist_derived import builds
from mnist_derived.cli import options
from mnist_derived.cli import process
from mnist_derived.core import generation


def add_arguments(parser, verb):
  del verb
  parser.add_argument("datasets", nargs="+", metavar="DATASET",
                      help="name/config, e.g. mnist_fg/mnist mnist_mosaic/scatter")
  parser.add_argument("--manual_dir", "--manual-dir", dest="manual_dir",
                      help="a folder holding the source's four IDX files"
                      " (else they are downloaded)")
  options.add_data_dir(parser)
  parser.add_argument("--file_format", "--file-format", dest="file_format",
                      choices=("tfrecord", "array_record"),
                      help="default: tfrecord where TensorFlow is installed,"
                      " else array_record (random access, no TensorFlow)")
  parser.add_argument("--beam_pipeline_options", "--beam-pipeline-options",
                      dest="beam_pipeline_options",
                      help="build on Apache Beam, e.g."
                      " runner=DirectRunner,direct_num_workers=2")
  parser.set_defaults(run=run, needs_tensorflow=False,
                      starts_tensorflow_itself=True)


def run(args):
  beam = builds.beam_options(args.beam_pipeline_options)
  for dataset in args.datasets:  # a misspelt name: one line, at once
    builds.builder(dataset, args.data_dir)
  process.start_tensorflow()
  for dataset in args.datasets:
    start = time.perf_counter()
    # TFDS prints "Downloading and preparing dataset Unknown size ..." even
    # from a local folder: the summary below says what was done.
    with contextlib.redirect_stdout(io.StringIO()), \
        generation.split_times() as times:
      built, now = builds.build(dataset, args.data_dir, args.manual_dir,
                                args.file_format, beam,
                                on_wait=functools.partial(_waiting, dataset))
    print(summary(built, now, time.perf_counter() - start, times))
  return 0


def _waiting(dataset, lock):
  print(f"{dataset}: another process is building it in this data dir"
        f" (holding {lock}); waiting for it", file=sys.stderr, flush=True)


def summary(built, built_now, seconds, split_times):
  """One line: what was built (or found), where, and each split's examples
  (and time, where it was measured)."""
  splits = []
  for name, split in built.info.splits.items():
    timing = split_times.get(name) if built_now else None
    took = f" in {timing[1]:.1f} s" if timing else ""
    splits.append(f"{name} {split.num_examples} examples{took}")
  done = f"built in {seconds:.1f} s" if built_now else "already built"
  return (f"{builds.key(built)} {done} ({built.info.file_format.value}) in"
          f" {built.data_dir}: {', '.join(splits)}")
