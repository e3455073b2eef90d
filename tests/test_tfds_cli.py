"""The real `tfds build` command on dummy data, loaded back in a new process."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mnist_derived import idx

from tests.builder_testing import dummy_split_sizes
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

# The `tfds` installed beside this interpreter (a venv's or pyenv's bin).
TFDS = shutil.which("tfds", path=os.path.dirname(sys.executable)) or "tfds"

LOAD_SCRIPT = """
import json, sys
import tensorflow_datasets as tfds
import mnist_derived  # registers the builders
name, data_dir = sys.argv[1:]
out = {}
for split in ("train", "test"):
  ds = tfds.load(name, split=split, data_dir=data_dir)
  out[split] = sum(1 for _ in ds)
print(json.dumps(out))
"""


def _run(args, **kwargs):
  proc = subprocess.run(args, capture_output=True, text=True, **kwargs)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return proc


def _load_counts(name, data_dir):
  proc = _run([sys.executable, "-c", LOAD_SCRIPT, name, str(data_dir)])
  return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("target", [
    "mnist_fg/mnist",
    "mnist_circles/mnist",
    str(REPO / "mnist_derived" / "datasets" / "mnist_circles"),
])
def test_tfds_build_then_load_in_fresh_process(tmp_path, target):
  # A folder path needs no --imports: TFDS imports the builder module itself.
  by_path = target.startswith("/")
  how = ["--config", "mnist"] if by_path else ["--imports", "mnist_derived"]
  _run([TFDS, "build", target, *how, "--manual_dir", str(DUMMY_DATA),
        "--data_dir", str(tmp_path)], cwd=tmp_path)
  name = "mnist_circles" if by_path else target.split("/")[0]
  assert _load_counts(name, tmp_path) == dummy_split_sizes()


def test_bad_input_fails_the_build_and_writes_no_dataset(tmp_path):
  manual = tmp_path / "manual"
  shutil.copytree(DUMMY_DATA / "mnist", manual)
  labels = manual / "t10k-labels-idx1-ubyte.gz"
  count = len(idx.read_labels(labels, 10))
  idx.write_gz(labels, np.full(count, 12, np.uint8))
  proc = subprocess.run(
      [TFDS, "build", "--imports", "mnist_derived", "mnist_fg/mnist",
       "--manual_dir", str(manual), "--data_dir", str(tmp_path / "data")],
      capture_output=True, text=True, cwd=tmp_path)
  assert proc.returncode != 0
  assert f"{labels}: {count} labels out of range [0, 10)" in proc.stderr
  assert not list((tmp_path / "data").glob("mnist_fg/mnist/*/dataset_info.json"))
  check = subprocess.run(
      [sys.executable, "-c", "import mnist_derived, tensorflow_datasets as t;"
       f"t.load('mnist_fg/mnist', data_dir={str(tmp_path / 'data')!r},"
       " download=False)"], capture_output=True, text=True)
  assert check.returncode != 0
