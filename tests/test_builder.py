"""The builder framework's contract with TFDS (core/builder.py)."""

import apache_beam as beam
import pytest
import tensorflow_datasets as tfds

from mnist_derived.core import builder
from mnist_derived.core import generation
from tests.conftest import DUMMY_DATA


def test_tfds_download_and_prepare_still_takes_download_config_by_keyword():
  # SourceBuilder.download_and_prepare reads the manual_dir and Beam options
  # from this argument: if TFDS renames or moves it, this fails first.
  assert builder.download_and_prepare_signature_ok()


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
    ("mnist_fg/fashion", "closely match: .*fashion_mnist")])
def test_a_misspelt_config_lists_the_real_ones(wrong, listed):
  # Configs without a version made TFDS list none of them; a mosaic says
  # how to make any other layout.
  import mnist_derived  # noqa: F401
  with pytest.raises(ValueError, match=listed):
    tfds.builder(wrong)
