"""Built datasets by name: the builder of a build, or an error that says what to run."""

import contextlib
import difflib
import pathlib
import re

from mnist_derived.core import errors
from mnist_derived.core import storage

BUILD_HINT = ("mnist-derived build {dataset} --data_dir {data_dir}"
              " --manual_dir <your MNIST folder>")


class NotBuilt(errors.InputError):
  """A dataset that is not built in the data dir it was looked for in."""


@contextlib.contextmanager
def tfds_errors_only():
  """Shows only errors of absl logging (TFDS's) inside the block: for
  warnings the caller knows to be noise and says better itself."""
  from absl import logging  # pylint: disable=g-import-not-at-top
  verbosity = logging.get_verbosity()
  logging.set_verbosity(logging.ERROR)
  try:
    yield
  finally:
    logging.set_verbosity(verbosity)


def _closest(word, names):
  """The names closest to a misspelt one, best first; a name also answers
  to itself without its "mnist_" prefix (`fg` is mnist_fg)."""
  short = {n.removeprefix("mnist_"): n for n in names}
  found = difflib.get_close_matches(word, [*names, *short], n=3, cutoff=0.5)
  return list(dict.fromkeys(short.get(n, n) for n in found))


def closest_names(name):
  """Our 'dataset/config' names closest to a misspelt one, best first."""
  from mnist_derived.core import builder as builder_lib  # pylint: disable=g-import-not-at-top
  ours = builder_lib.registered()
  dataset, _, config = name.partition("/")
  if dataset in ours:
    return [f"{dataset}/{c}"
            for c in _closest(config, list(ours[dataset].builder_configs))]
  found = _closest(dataset, sorted(ours))
  if not config:
    return found
  return [f"{n}/{config}" if config in ours[n].builder_configs else n
          for n in found]


def unknown_name_error(name, error):
  """An InputError for a name that is none of ours: the closest real ones,
  and what was wrong (TFDS's list of every other dataset left out)."""
  from mnist_derived.core import builder as builder_lib  # pylint: disable=g-import-not-at-top
  close = closest_names(name)
  hint = f"did you mean {' or '.join(close)}? " if close else ""
  dataset = name.partition("/")[0]
  ours = builder_lib.registered()
  if dataset in ours:
    first = str(error).strip().splitlines()[0]
    # TFDS wraps the builder's own words in a sentence of its arguments.
    first = re.sub(r'^Failed to construct dataset "[^"]*", builder_kwargs'
                   r' "\{.*\}": ', "", first)
  else:
    first = (f"no dataset {dataset!r} here; the datasets are"
             f" {', '.join(sorted(ours))}")
  return errors.InputError(f"{name}: {hint}{first}")


def builder(name, data_dir=None, **kwargs):
  """tfds.builder, with a one-line InputError for a name that does not exist."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import mnist_derived  # noqa: F401 pylint: disable=g-import-not-at-top,unused-import
  # TFDS warns that an unbuilt folder has no dataset_info.json; callers say
  # it better.
  with tfds_errors_only():
    try:
      return tfds.builder(name, data_dir=data_dir, **kwargs)
    except ValueError as e:  # DatasetNotFoundError is one too
      raise unknown_name_error(name, e) from None


def data_root(built):
  """The data dir a builder reads: <root>/name/config/version."""
  return pathlib.Path(built.data_dir).parents[2]


def built_builder(dataset, data_dir=None):
  """The TFDS builder of a built dataset ('name/config'), or an InputError
  that gives the command that builds it."""
  found = builder(dataset, data_dir)
  with tfds_errors_only():
    prepared = found.is_prepared()
  if not prepared:
    root = data_root(found)
    raise NotBuilt(
        f"{dataset} is not built in {root}: build it first with `"
        + BUILD_HINT.format(dataset=dataset, data_dir=root) + "`")
  return found


def key(built):
  """'name/config/version', as FINGERPRINTS.json and the scores name it."""
  return f"{built.name}/{built.builder_config.name}/{built.version}"


def check_split(built, split):
  """Raises an InputError unless the build has `split`."""
  names = list(built.info.splits)
  if split not in names:
    raise errors.InputError(f"{built.name}/{built.builder_config.name} has no"
                            f" split {split!r}; it has {', '.join(names)}")
  return split


def default_file_format():
  """tfrecord where TensorFlow is installed (what `tfds build` writes),
  array_record where it is not (the one TFDS writes without it)."""
  from mnist_derived import decoding  # pylint: disable=g-import-not-at-top
  return "tfrecord" if decoding.tensorflow_installed() else "array_record"


def beam_options(text):
  """Beam's PipelineOptions from `tfds build`'s form, "runner=DirectRunner,
  direct_num_workers=2", or None for no Beam."""
  if not text:
    return None
  try:
    from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise errors.InputError("Beam options need Apache Beam, which is not"
                            " installed: pip install 'mnist-derived[beam]'"
                            ) from None
  return pipeline_options.PipelineOptions(
      flags=[f"--{option}" for option in text.split(",")])


def build(dataset, data_dir=None, manual_dir=None, file_format=None,
          beam=None, on_wait=None):
  """Builds a dataset as `tfds build` would, unless it is built already.

  Returns (builder, built_now). file_format: default `default_file_format()`;
  beam: PipelineOptions to build on Apache Beam. While another process
  builds it in the same data dir, waits for that build (calling
  on_wait(lock file) first) and returns what it built.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  file_format = file_format or default_file_format()
  if file_format == "tfrecord":
    from mnist_derived import decoding  # pylint: disable=g-import-not-at-top
    if not decoding.tensorflow_installed():
      raise decoding.NeedsTensorFlow("--file_format tfrecord",
                                     "; or use --file_format array_record")
  found = builder(dataset, data_dir, file_format=file_format)
  with tfds_errors_only():
    if found.is_prepared():
      return found, False
  storage.check_writable(data_root(found), "--data_dir")
  with storage.one_writer(found.data_path, on_wait):
    # Made again: the build waited for may have finished meanwhile.
    found = builder(dataset, data_dir, file_format=file_format)
    with tfds_errors_only():
      if found.is_prepared():
        return found, False
    config = tfds.download.DownloadConfig(manual_dir=manual_dir,
                                          beam_options=beam)
    found.download_and_prepare(download_config=config)
  return found, True
