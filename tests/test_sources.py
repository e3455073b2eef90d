"""Where a builder finds its source files: manual_dir layouts and downloads."""

import dataclasses
import functools
import gzip
import hashlib
import http.server
import shutil
import threading

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import checksums

from mnist_derived.core import builder
from mnist_derived.core import errors
from mnist_derived.core import idx
from mnist_derived.core import sources
from tests.conftest import DUMMY_DATA


class FakeDownloadManager:
  """The two things a builder asks of TFDS's DownloadManager."""

  def __init__(self, manual_dir=None, download=None):
    self._manual_dir = manual_dir
    self._download = download
    self.downloaded = None

  @property
  def manual_dir(self):
    if self._manual_dir is None or not any(self._manual_dir.iterdir()):
      raise AssertionError("Manual directory does not exist or is empty.")
    return self._manual_dir

  def download(self, urls):
    self.downloaded = urls
    if self._download is None:
      raise ConnectionError("network unreachable")
    return self._download(urls)


def _flat_copy(tmp_path, source="mnist", rename=lambda name: name):
  for name in sources.ALL_FILES:
    shutil.copy(DUMMY_DATA / source / name, tmp_path / rename(name))
  return tmp_path


def _paths(manual_dir, source="mnist", dl=None):
  split_paths = sources.split_paths(manual_dir, dl or FakeDownloadManager(),
                                    source)
  return [p for pair in split_paths.values() for p in pair]


def test_flat_manual_dir_is_read_as_mnist(tmp_path):
  dl = FakeDownloadManager()
  assert _paths(_flat_copy(tmp_path), dl=dl) == [
      tmp_path / n for n in sources.ALL_FILES]
  assert dl.downloaded is None


def test_subfolder_per_source():
  assert _paths(DUMMY_DATA, "kmnist")[0] == (
      DUMMY_DATA / "kmnist" / sources.ALL_FILES[0])


def test_flat_mnist_files_are_never_taken_as_another_source(tmp_path):
  dl = FakeDownloadManager()
  with pytest.raises(errors.InputError,
                     match="no fashion_mnist files in the --manual_dir given"):
    _paths(_flat_copy(tmp_path), "fashion_mnist", dl)
  assert dl.downloaded is None  # a given manual_dir is never bypassed


def test_partial_copy_names_the_missing_file(tmp_path):
  _flat_copy(tmp_path)
  (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
  with pytest.raises(idx.IdxFormatError,
                     match="t10k-labels-idx1-ubyte.gz: file not found"):
    _paths(tmp_path)


def test_a_manual_dir_that_does_not_exist_is_an_error_at_once(tmp_path):
  # Was: silently taken as absent, then 3.5 minutes of download retries.
  dl = FakeDownloadManager(download=lambda urls: urls)
  with pytest.raises(errors.InputError) as error:
    _paths(tmp_path / "mnsit", dl=dl)
  assert str(error.value) == (f"{tmp_path / 'mnsit'}: the --manual_dir given"
                              " does not exist")
  assert dl.downloaded is None


def test_a_manual_dir_without_the_files_says_what_was_looked_for(tmp_path):
  (tmp_path / "notes.txt").write_text("not MNIST")
  with pytest.raises(errors.InputError) as error:
    _paths(tmp_path)
  message = str(error.value)
  assert message.startswith(f"{tmp_path}: no mnist files")
  for name in sources.ALL_FILES:
    assert name in message
  assert f"{tmp_path / 'mnist'} and {tmp_path}" in message


@pytest.mark.parametrize("rename", [
    lambda name: name.removesuffix(".gz"),  # uncompressed
    lambda name: name.removesuffix(".gz").replace("-idx", ".idx"),
    lambda name: name.replace("-idx", ".idx"),
])
def test_mirror_names_and_uncompressed_files_are_read(tmp_path, rename):
  folder = tmp_path / "mnist"
  folder.mkdir()
  for name in sources.ALL_FILES:
    data = (DUMMY_DATA / "mnist" / name).read_bytes()
    if not rename(name).endswith(".gz"):
      data = gzip.decompress(data)
    (folder / rename(name)).write_bytes(data)
  paths = _paths(tmp_path)
  assert [p.name for p in paths] == [rename(n) for n in sources.ALL_FILES]
  got = sources.load_splits(tmp_path, FakeDownloadManager(), "mnist")
  for split, (images, labels) in got.items():
    want_images, want_labels = idx.read_split(
        *(DUMMY_DATA / "mnist" / n for n in sources.SPLIT_FILES[split]), 10)
    np.testing.assert_array_equal(images, want_images)
    np.testing.assert_array_equal(labels, want_labels)


@pytest.fixture
def host_resolves(monkeypatch):
  """As on a machine that reaches the mirrors: the fake download manager
  below stands for the network."""
  monkeypatch.setattr(sources, "check_reachable", lambda source: None)


def test_an_unresolvable_host_fails_before_any_download():
  dl = FakeDownloadManager(download=lambda urls: urls)
  offline = dataclasses.replace(sources.SOURCES["mnist"],
                                url="https://mnist.invalid/")
  with pytest.raises(sources.DownloadFailedError) as raised:
    sources.check_reachable(offline)
  message = str(raised.value)
  assert "the host mnist.invalid does not resolve" in message
  assert "DownloadConfig(manual_dir=<folder>)" in message
  assert dl.downloaded is None


@pytest.mark.usefixtures("host_resolves")
def test_without_manual_dir_tfds_manual_folder_or_the_canonical_urls(tmp_path):
  # TFDS's own manual folder (<data_dir>/downloads/manual) is used when it
  # holds the files; an empty one is passed over for the download.
  assert _paths(None, dl=FakeDownloadManager(_flat_copy(tmp_path)))[0] == (
      tmp_path / sources.ALL_FILES[0])
  empty = tmp_path / "empty"
  empty.mkdir()
  dl = FakeDownloadManager(empty, download=lambda urls: urls)
  urls = _paths(None, dl=dl)
  assert urls[0] == ("https://storage.googleapis.com/cvdf-datasets/mnist/"
                     "train-images-idx3-ubyte.gz")


@pytest.mark.usefixtures("host_resolves")
def test_a_failed_download_says_how_to_build_offline():
  with pytest.raises(sources.DownloadFailedError,
                     match="pass it: `--manual_dir <folder>` to the commands"):
    _paths(None)


@pytest.mark.usefixtures("host_resolves")
def test_a_bug_on_the_download_path_is_not_called_a_download_failure():
  def broken(urls):
    raise TypeError("a programming error")
  with pytest.raises(TypeError, match="a programming error"):
    _paths(None, dl=FakeDownloadManager(download=broken))


def test_every_download_url_has_a_registered_checksum():
  from mnist_derived import MnistCircles, MnistFg, MnistMosaic
  for dataset in (MnistFg, MnistCircles, MnistMosaic):
    registered = set(dataset.url_infos)
    for source in sources.SOURCES.values():
      for name in sources.ALL_FILES:
        assert source.url + name in registered, (dataset.name, source.name)


def test_load_splits_rejects_bad_labels(tmp_path):
  _flat_copy(tmp_path)
  images = idx.read_images(tmp_path / "t10k-images-idx3-ubyte.gz")
  idx.write_gz(tmp_path / "t10k-labels-idx1-ubyte.gz",
               (idx.read_labels(tmp_path / "t10k-labels-idx1-ubyte.gz", 10)
                * 0 + 11)[:len(images)])
  with pytest.raises(idx.IdxFormatError, match="labels out of range"):
    sources.load_splits(tmp_path, FakeDownloadManager(), "mnist")


def test_unknown_source_config():
  with pytest.raises(ValueError, match="Unknown source 'emnist'"):
    builder.SourceConfig(name="x", source="emnist")


@pytest.fixture
def http_folder(tmp_path):
  """Serves a folder over HTTP on localhost; yields (folder, base url)."""
  folder = tmp_path / "served"
  folder.mkdir()
  handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                              directory=str(folder))
  handler.log_message = lambda *args: None
  server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  yield folder, f"http://127.0.0.1:{server.server_port}/"
  server.shutdown()


def _mirror(tmp_path, http_folder, monkeypatch, served_source):
  """A DownloadManager for an mnist mirror on localhost serving another
  source's dummy files, with mnist's dummy files' checksums registered."""
  folder, url = http_folder
  url_infos = {}
  for name in sources.ALL_FILES:
    shutil.copy(DUMMY_DATA / served_source / name, folder / name)
    expected = (DUMMY_DATA / "mnist" / name).read_bytes()
    url_infos[url + name] = checksums.UrlInfo(
        size=len(expected), checksum=hashlib.sha256(expected).hexdigest(),
        filename=name)
  monkeypatch.setitem(sources.SOURCES, "mnist", dataclasses.replace(
      sources.SOURCES["mnist"], url=url))
  return tfds.download.DownloadManager(download_dir=tmp_path / "downloads",
                                       url_infos=url_infos)


def test_checksum_mismatch_is_refused_with_what_to_do(tmp_path, http_folder,
                                                       monkeypatch):
  # The mirror serves kmnist's bytes where mnist's are registered.
  dl = _mirror(tmp_path, http_folder, monkeypatch, served_source="kmnist")
  with pytest.raises(sources.DownloadFailedError,
                     match="does not match its checksum in checksums.tsv, so"
                     " it was refused") as error:
    sources.download(dl, "mnist")
  assert "put them in <manual_dir>/mnist/ and pass --manual_dir" in str(
      error.value)


def test_matching_checksums_download(tmp_path, http_folder, monkeypatch):
  # The same server and registry, with the right bytes: the check is real.
  dl = _mirror(tmp_path, http_folder, monkeypatch, served_source="mnist")
  paths = sources.download(dl, "mnist")
  for name in sources.ALL_FILES:
    assert paths[name].read_bytes() == (DUMMY_DATA / "mnist" / name).read_bytes()
