"""Where a builder finds its source files: manual_dir layouts and downloads."""

import dataclasses
import functools
import hashlib
import http.server
import shutil
import threading

import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import checksums

from mnist_derived.core import idx
from mnist_derived.core import sources
from tests.conftest import DUMMY_DATA


class FakeDownloadManager:
  """The two things a builder asks of TFDS's DownloadManager."""

  def __init__(self, manual_dir, download=None):
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


def _flat_copy(tmp_path, source="mnist"):
  for name in sources.ALL_FILES:
    shutil.copy(DUMMY_DATA / source / name, tmp_path / name)
  return tmp_path


def test_flat_manual_dir_is_read_as_mnist(tmp_path):
  dl = FakeDownloadManager(_flat_copy(tmp_path))
  paths = sources.source_paths(dl, "mnist")
  assert paths == {n: tmp_path / n for n in sources.ALL_FILES}
  assert dl.downloaded is None


def test_subfolder_per_source(tmp_path):
  dl = FakeDownloadManager(DUMMY_DATA)
  assert sources.source_paths(dl, "kmnist")[sources.ALL_FILES[0]] == (
      DUMMY_DATA / "kmnist" / sources.ALL_FILES[0])


def test_flat_mnist_files_are_never_taken_as_another_source(tmp_path):
  dl = FakeDownloadManager(_flat_copy(tmp_path))
  with pytest.raises(sources.DownloadFailedError,
                     match="fashion_mnist: no local copy in manual_dir"):
    sources.source_paths(dl, "fashion_mnist")
  assert all("fashion-mnist" in url for url in dl.downloaded.values())


def test_partial_copy_names_the_missing_file(tmp_path):
  _flat_copy(tmp_path)
  (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
  dl = FakeDownloadManager(tmp_path)
  with pytest.raises(idx.IdxFormatError,
                     match="t10k-labels-idx1-ubyte.gz: file not found"):
    sources.source_paths(dl, "mnist")


def test_empty_manual_dir_downloads_canonical_urls(tmp_path):
  dl = FakeDownloadManager(tmp_path, download=lambda urls: urls)
  urls = sources.source_paths(dl, "mnist")
  assert urls["train-images-idx3-ubyte.gz"] == (
      "https://storage.googleapis.com/cvdf-datasets/mnist/"
      "train-images-idx3-ubyte.gz")


def test_every_download_url_has_a_registered_checksum():
  from mnist_derived import MnistCircles, MnistFg, MnistMosaic
  for builder in (MnistFg, MnistCircles, MnistMosaic):
    registered = set(builder.url_infos)
    for source in sources.SOURCES.values():
      for name in sources.ALL_FILES:
        assert source.url + name in registered, (builder.name, source.name)


def test_load_splits_rejects_bad_labels(tmp_path):
  _flat_copy(tmp_path)
  images = idx.read_images(tmp_path / "t10k-images-idx3-ubyte.gz")
  idx.write_gz(tmp_path / "t10k-labels-idx1-ubyte.gz",
               (idx.read_labels(tmp_path / "t10k-labels-idx1-ubyte.gz", 10)
                * 0 + 11)[:len(images)])
  with pytest.raises(idx.IdxFormatError, match="labels out of range"):
    sources.load_splits(FakeDownloadManager(tmp_path), "mnist")


def test_unknown_source_config():
  with pytest.raises(ValueError, match="Unknown source 'emnist'"):
    sources.SourceConfig(name="x", source="emnist")


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
    sources.source_paths(dl, "mnist")
  assert "put them in <manual_dir>/mnist/ and pass --manual_dir" in str(
      error.value)


def test_matching_checksums_download(tmp_path, http_folder, monkeypatch):
  # The same server and registry, with the right bytes: the check is real.
  dl = _mirror(tmp_path, http_folder, monkeypatch, served_source="mnist")
  paths = sources.source_paths(dl, "mnist")
  for name in sources.ALL_FILES:
    assert paths[name].read_bytes() == (DUMMY_DATA / "mnist" / name).read_bytes()
