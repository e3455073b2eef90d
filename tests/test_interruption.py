"""A build killed at random points is never visible, and a rerun finishes it.

Real SIGKILLs of real build processes: whatever the moment of the kill,
`tfds.load` sees no dataset, and running the build again gives a dataset
identical (same fingerprint) to one built without interruption.
"""

import dataclasses
import random
import shutil
import subprocess
import sys
import time

import pytest
import tensorflow_datasets as tfds

from mnist_derived import MnistMosaic
from mnist_derived import fingerprint
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

# Builds in subprocesses: a minute, not seconds (pytest -m "not slow" skips).
pytestmark = pytest.mark.slow

# Big enough that generation and writing take seconds, not milliseconds.
CONFIG = dataclasses.replace(MnistMosaic.builder_configs["2x2"],
                             name="kill_test", num_train=20000, num_test=4000)
BUILD = f"""
import dataclasses, sys
import tensorflow_datasets as tfds
from mnist_derived import MnistMosaic

config = dataclasses.replace(MnistMosaic.builder_configs["2x2"],
                             name="kill_test", num_train={CONFIG.num_train},
                             num_test={CONFIG.num_test})
builder = tfds.builder("mnist_mosaic", config=config, data_dir=sys.argv[1])
builder.download_and_prepare(
    download_config=tfds.download.DownloadConfig(manual_dir=sys.argv[2]))
"""


def _start_build(data_dir):
  return subprocess.Popen([sys.executable, "-c", BUILD, str(data_dir),
                           str(DUMMY_DATA)], cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _builder(data_dir):
  return tfds.builder("mnist_mosaic", config=CONFIG, data_dir=data_dir)


def test_killed_builds_stay_invisible_and_a_rerun_completes(tmp_path):
  start = time.monotonic()
  assert _start_build(tmp_path / "whole").wait() == 0
  duration = time.monotonic() - start
  expected = fingerprint.builder_fingerprints(_builder(tmp_path / "whole"))

  rng = random.Random(0)
  killed_at = []
  for _ in range(4):
    # From about the end of start-up to near the end: a build can run faster
    # than the timed one on a shared machine, so stop short of its length.
    delay = rng.uniform(0.3 * duration, 0.9 * duration)
    proc = _start_build(tmp_path / "killed")
    try:
      proc.wait(timeout=delay)
      continue  # finished before the kill: nothing to see
    except subprocess.TimeoutExpired:
      proc.kill()
      proc.wait()
    killed_at.append(round(delay, 1))
    builder = _builder(tmp_path / "killed")
    if builder.is_prepared():
      # Killed after TFDS's final rename: what is visible is whole.
      assert fingerprint.builder_fingerprints(builder) == expected, delay
      shutil.rmtree(tmp_path / "killed")
  assert killed_at, "every build finished before its kill"

  assert _start_build(tmp_path / "killed").wait() == 0
  got = fingerprint.builder_fingerprints(_builder(tmp_path / "killed"))
  assert got == expected, killed_at
