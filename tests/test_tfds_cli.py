"""The real `tfds build` command on dummy data, loaded back in a new process."""

import json
import subprocess
import sys

import pytest

from tests.builder_testing import dummy_split_sizes
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

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
  _run(["tfds", "build", target, *how, "--manual_dir", str(DUMMY_DATA),
        "--data_dir", str(tmp_path)], cwd=tmp_path)
  name = "mnist_circles" if by_path else target.split("/")[0]
  assert _load_counts(name, tmp_path) == dummy_split_sizes()
