"""The builder framework's contract with TFDS (core/builder.py)."""

import apache_beam as beam
import pytest
import tensorflow_datasets as tfds

from mnist_derived import decoding
from mnist_derived.core import builder
from mnist_derived.core import generation
from mnist_derived.core import sources
from tests.conftest import DUMMY_DATA


def test_tfds_download_and_prepare_still_takes_download_config_by_keyword():
  # SourceBuilder.download_and_prepare reads the manual_dir and Beam options
  # from this argument: if TFDS renames or moves it, this fails first.
  assert builder.download_and_prepare_signature_ok()


def test_tfds_manual_dir_still_refuses_an_empty_folder_by_assertion(tmp_path):
  # sources._default_manual_dir reads TFDS's "no manual folder" as an
  # AssertionError: the real DownloadManager, not a fake, pins it.
  (tmp_path / "manual").mkdir()
  def manager():
    return tfds.download.DownloadManager(
        download_dir=tmp_path / "dl", manual_dir=tmp_path / "manual",
        manual_dir_instructions=sources.MANUAL_DOWNLOAD_INSTRUCTIONS)
  assert sources._default_manual_dir(manager()) is None  # pylint: disable=protected-access
  (tmp_path / "manual" / "mnist").mkdir()
  assert sources._default_manual_dir(manager()) == tmp_path / "manual"  # pylint: disable=protected-access


def test_tfds_data_sources_still_read_a_batch_in_one_call(tmp_path):
  # decoding.read_records, under the loaders and the training input, reads
  # a batch with the data source's __getitems__ (else one record a call).
  tfds.builder("mnist_fg/mnist", data_dir=tmp_path,
               file_format="array_record").download_and_prepare(
                   download_config=tfds.download.DownloadConfig(
                       manual_dir=str(DUMMY_DATA)))
  source = tfds.data_source("mnist_fg/mnist", split="test", data_dir=tmp_path)
  assert callable(getattr(source, "__getitems__", None))
  batch = decoding.read_records(source, [3, 0, 7])
  assert [int(ex["index"]) for ex in batch] == [
      int(source[i]["index"]) for i in (3, 0, 7)]


@pytest.mark.slow
@pytest.mark.parametrize("beam_flags,on_beam", [
    (None, False), (["--runner=DirectRunner"], True)])
def test_beam_runs_exactly_when_asked(tmp_path, monkeypatch, beam_flags,
                                      on_beam):
  calls = []
  real = generation.beam_examples

  def spy(*args, **kwargs):
    calls.append(args[1])
    return real(*args, **kwargs)

  monkeypatch.setattr(generation, "beam_examples", spy)
  options = beam_flags and beam.options.pipeline_options.PipelineOptions(
      flags=beam_flags)
  dataset = tfds.builder("mnist_fg/mnist", data_dir=tmp_path)
  dataset.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(DUMMY_DATA), beam_options=options))
  assert bool(calls) == on_beam
  assert dataset.info.splits["test"].num_examples > 0


@pytest.mark.parametrize("wrong,listed", [
    ("mnist_mosaic/4x4", "it has 2x2, .*scatter_m2nist.*MosaicConfig"),
    ("mnist_fg/fashion", "no config 'fashion'; it has mnist, fashion_mnist,"
     " kmnist$")])
def test_a_misspelt_config_lists_the_real_ones(wrong, listed):
  # Its own configs, not TFDS's closest names of every dataset; a mosaic
  # says how to make any other layout.
  import mnist_derived  # noqa: F401
  with pytest.raises(ValueError, match=listed):
    tfds.builder(wrong)
