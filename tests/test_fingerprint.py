"""Dataset fingerprints: what changes them, and what must not."""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived import fingerprint
from tests.builder_testing import build_in_new_process
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

BEAM_2_WORKERS = ("runner=DirectRunner,direct_num_workers=2,"
                  "direct_running_mode=multi_processing")


def _build(name, data_dir, file_format="tfrecord", num_shards=0, beam=""):
  """Builds in a new process, as `tfds build` would; returns fingerprints."""
  build_in_new_process(name, data_dir, file_format, num_shards, beam)
  return fingerprint.dataset_fingerprints(name, data_dir)


def _record_files(data_dir):
  return sorted(f for _, _, files in os.walk(data_dir) for f in files
                if "-train." in f)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist_fg/mnist", "mnist_mosaic_tiny/2x2",
                                  "mnist_mosaic_tiny/scatter_scaled"])
def test_shards_file_format_and_beam_keep_the_fingerprint(tmp_path, name):
  plain = _build(name, tmp_path / "plain")
  sharded = _build(name, tmp_path / "sharded", "array_record", num_shards=3)
  on_beam = _build(name, tmp_path / "beam", beam=BEAM_2_WORKERS)
  assert plain == sharded == on_beam
  assert set(plain) == set(tfds.builder(name, data_dir=tmp_path / "plain"
                                         ).info.splits)
  # The builds really differ in layout.
  assert len(_record_files(tmp_path / "plain")) == 1
  assert [f.split(".")[1] for f in _record_files(tmp_path / "sharded")] == [
      "array_record-00000-of-00003", "array_record-00001-of-00003",
      "array_record-00002-of-00003"]


@pytest.mark.slow
def test_tfds_build_command_on_beam(tmp_path):
  # The command line users run, with the options the README gives.
  tfds_command = shutil.which("tfds", path=os.path.dirname(sys.executable))
  subprocess.run(
      [tfds_command, "build", "--imports", "mnist_derived", "mnist_circles/mnist",
       "--manual_dir", str(DUMMY_DATA), "--data_dir", str(tmp_path / "beam"),
       f"--beam_pipeline_options={BEAM_2_WORKERS}"],
      capture_output=True, text=True, cwd=tmp_path, check=True)
  assert fingerprint.dataset_fingerprints(
      "mnist_circles/mnist", tmp_path / "beam") == _build(
          "mnist_circles/mnist", tmp_path / "plain")


@pytest.mark.slow
def test_other_content_changes_the_fingerprint(tmp_path):
  # A different source (kmnist's dummy files) builds a different dataset.
  assert _build("mnist_fg/mnist", tmp_path / "a") != _build(
      "mnist_fg/kmnist", tmp_path / "b")


def _example(pixel=0, label=3):
  image = np.zeros((4, 4, 1), np.uint8)
  image[1, 2, 0] = pixel
  return {"image": image, "label": np.int64(label),
          "objects": {"bbox": np.zeros((2, 4), np.float32)}}


def test_example_digest_sees_every_value():
  base = fingerprint.example_digest(_example())
  assert fingerprint.example_digest(_example()) == base
  assert fingerprint.example_digest(_example(pixel=1)) != base
  assert fingerprint.example_digest(_example(label=4)) != base
  reshaped = _example()
  reshaped["image"] = reshaped["image"].reshape(2, 8, 1)
  assert fingerprint.example_digest(reshaped) != base
  retyped = _example()
  retyped["label"] = np.int32(3)
  assert fingerprint.example_digest(retyped) != base


def test_split_fingerprint_depends_on_order():
  a, b = _example(pixel=1), _example(pixel=2)
  assert fingerprint.split_fingerprint([a, b]) != fingerprint.split_fingerprint(
      [b, a])


def test_readme_lists_the_published_fingerprints():
  readme = (REPO / "README.md").read_text()
  published = fingerprint.published_fingerprints()
  from mnist_derived.core import builder  # pylint: disable=g-import-not-at-top
  package = REPO / "mnist_derived" / "datasets"
  current = {f"{b.name}/{b.BUILDER_CONFIGS[0].name}/{b.VERSION}"
             for b in builder.registered().values()
             if pathlib.Path(b.code_path).parent == package / b.name}
  assert current <= set(published)  # and the earlier versions' values
  for key, splits in published.items():
    for split, value in splits.items():
      assert f"| `{key}` | {split} | `{value}` |" in readme, (key, split)
