"""The MNIST-format source datasets every mnist_derived builder derives from.

Each source is four IDX files (train/test images and labels). Builders read
them from the `manual_dir` a build is given, else download them from the
source's canonical mirror, checked against the builder folder's
``checksums.tsv``.
"""

import dataclasses
import socket
import urllib.parse

from absl import logging
from etils import epath
from tensorflow_datasets.core.download import download_manager

from mnist_derived.core import errors
from mnist_derived.core import idx

IMAGE_SHAPE = (28, 28, 1)

# split -> (images file, labels file), the names every MNIST-format set uses.
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
ALL_FILES = tuple(name for pair in SPLIT_FILES.values() for name in pair)


def local_names(name):
  """Names a local copy of a canonical file may have, preferred first.

  Mirrors ship the files gzipped or not, and some write `train-images.idx3-ubyte`
  for `train-images-idx3-ubyte`.
  """
  plain = name.removesuffix(".gz")
  dotted = plain.replace("-idx", ".idx")
  return (name, plain, dotted + ".gz", dotted)


class DownloadFailedError(errors.InputError, RuntimeError):
  """A source is neither in manual_dir nor downloadable (or fails checksums)."""


@dataclasses.dataclass(frozen=True)
class Source:
  """One MNIST-format dataset: where it lives and what its labels mean."""

  name: str
  url: str  # folder holding the four files
  homepage: str
  class_names: tuple
  license: str


SOURCES = {
    s.name: s
    for s in [
        Source(
            name="mnist",
            # The mirror TFDS's own mnist builder downloads from.
            url="https://storage.googleapis.com/cvdf-datasets/mnist/",
            homepage="http://yann.lecun.com/exdb/mnist/",
            class_names=tuple(str(d) for d in range(10)),
            license="CC BY-SA 3.0",
        ),
        Source(
            name="fashion_mnist",
            url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            class_names=(
                "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
            ),
            license="MIT",
        ),
        Source(
            name="kmnist",
            url="http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
            homepage="http://codh.rois.ac.jp/kmnist/index.html.en",
            class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re",
                         "wo"),
            license="CC BY-SA 4.0",
        ),
    ]
}
DEFAULT_SOURCE = "mnist"

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Optional. To build offline, put the four MNIST-format files
{', '.join(ALL_FILES)}
(gzipped or not) in a subfolder of the manual folder named after the source
({', '.join(SOURCES)}), and pass `--manual_dir <folder>` to `tfds build`.
Files directly in the manual folder are taken as {DEFAULT_SOURCE} only, never
as another source. Without --manual_dir they are downloaded from the source's
canonical mirror and checked against checksums.tsv.
"""


def _find(folder, name):
  """The first existing local name of a canonical file in folder, or None."""
  for candidate in local_names(name):
    if (folder / candidate).exists():
      return folder / candidate
  return None


def local_files(manual_dir, source_name, required=True):
  """{canonical name: path} of a source's four files in manual_dir.

  Looks in manual_dir/<source> and, for mnist only, in manual_dir itself
  (flat files are MNIST's: reading them as another source would silently give
  it MNIST's pixels). Raises IdxFormatError when a folder holds some of the
  files but not all (a broken copy, not an absent one). When manual_dir does
  not exist or holds none of them: InputError if `required`, else None.
  """
  manual_dir = epath.Path(manual_dir).expanduser()
  if not required and not manual_dir.is_dir():
    return None
  if not manual_dir.is_dir():
    raise errors.InputFileError(
        manual_dir, "the --manual_dir given does not exist" if not
        manual_dir.exists() else "the --manual_dir given is not a folder")
  folders = [manual_dir / source_name]
  if source_name == DEFAULT_SOURCE:
    folders.append(manual_dir)
  for folder in folders:
    found = {name: _find(folder, name) for name in ALL_FILES}
    present = [path.name for path in found.values() if path is not None]
    if len(present) == len(ALL_FILES):
      return found
    if present:
      missing = next(n for n, path in found.items() if path is None)
      raise idx.IdxFormatError(
          folder / missing,
          f"file not found (nor {', '.join(local_names(missing)[1:])}),"
          f" though {folder} holds {', '.join(present)}")
  if not required:
    return None
  raise errors.InputFileError(
      manual_dir,
      f"no {source_name} files in the --manual_dir given: looked for"
      f" {', '.join(ALL_FILES)} (or uncompressed, or named like"
      f" train-images.idx3-ubyte) in {' and '.join(map(str, folders))}")


OFFLINE_ADVICE = (
    "To build offline, put the four files in a folder (directly, or in its"
    " {name}/ subfolder) and pass it: `--manual_dir <folder>` to the"
    " commands; from Python, download_and_prepare(download_config="
    "tfds.download.DownloadConfig(manual_dir=<folder>)), or tfds.load(...,"
    " download_and_prepare_kwargs={{'download_config':"
    " tfds.download.DownloadConfig(manual_dir=<folder>)}}).")


def check_reachable(source):
  """Raises DownloadFailedError at once where the mirror's host does not
  resolve (offline): TFDS would retry for minutes before failing."""
  host = urllib.parse.urlsplit(source.url).hostname
  try:
    socket.getaddrinfo(host, None)
  except (socket.gaierror, UnicodeError) as e:
    raise DownloadFailedError(
        f"{source.name}: cannot download from {source.url}: the host {host}"
        f" does not resolve ({e.strerror or e}); nothing was built. "
        + OFFLINE_ADVICE.format(name=source.name)) from None


def download(dl_manager, source_name):
  """{canonical name: path} of a source's four files fetched by TFDS."""
  source = SOURCES[source_name]
  check_reachable(source)
  logging.info("Downloading %s from %s", source.name, source.url)
  try:
    return dl_manager.download({name: source.url + name for name in ALL_FILES})
  except download_manager.NonMatchingChecksumError as e:
    raise DownloadFailedError(
        f"{source.name}: a file downloaded from {source.url} does not match"
        f" its checksum in checksums.tsv, so it was refused and nothing was"
        f" built ({str(e).splitlines()[0]}). The mirror served other bytes"
        f" than the published files (a truncated transfer, a proxy page, or"
        f" changed files). Retry; if it persists, get the four files from"
        f" {source.homepage}, check them, put them in"
        f" <manual_dir>/{source.name}/ and pass --manual_dir."
    ) from e
  except OSError as e:  # connection errors: requests' are OSErrors too
    raise DownloadFailedError(
        f"{source.name}: the download from {source.url} failed"
        f" ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})."
        " " + OFFLINE_ADVICE.format(name=source.name)
    ) from e


def _default_manual_dir(dl_manager):
  """TFDS's own manual folder (<data_dir>/downloads/manual), or None."""
  try:
    return dl_manager.manual_dir
  except AssertionError:  # TFDS's answer for a missing or empty folder
    return None


def split_paths(manual_dir, dl_manager, source_name):
  """{split: (images path, labels path)} of a source, local or fetched.

  manual_dir: the folder the build was given, which must then hold the
  files; None to use TFDS's manual folder where it holds them, else download.
  """
  if manual_dir is not None:
    paths = local_files(manual_dir, source_name)
  else:
    default = _default_manual_dir(dl_manager)
    paths = default and local_files(default, source_name, required=False)
  if paths:
    logging.info("Reading %s from %s", source_name, paths[ALL_FILES[0]].parent)
  else:
    paths = download(dl_manager, source_name)
  return {split: (paths[images], paths[labels])
          for split, (images, labels) in SPLIT_FILES.items()}


def load_splits(manual_dir, dl_manager, source_name):
  """Reads and validates every split: {split: (images (N,H,W), labels (N,))}."""
  num_classes = len(SOURCES[source_name].class_names)
  return {split: idx.read_split(*paths, num_classes) for split, paths in
          split_paths(manual_dir, dl_manager, source_name).items()}
