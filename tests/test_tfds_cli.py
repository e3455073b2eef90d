"""The real `tfds build` command on dummy data, loaded back in a new process."""

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests import hostile_inputs
from tests.builder_testing import dummy_split_sizes
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

# The `tfds` installed beside this interpreter (a venv's or pyenv's bin).
# Builds or trains in subprocesses: minutes, not seconds (pytest -m "not slow" skips).
pytestmark = pytest.mark.slow

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


# Every defect of the hostile corpus, in one file of an otherwise good copy.
# name -> (file to break, how, the message after the file's path)
CLI_DEFECTS = {
    **{f"images {name}": ("train-images-idx3-ubyte.gz", make, message)
       for name, (make, message) in hostile_inputs.IMAGE_FILE_DEFECTS.items()},
    "labels above 9": ("t10k-labels-idx1-ubyte.gz",
                       hostile_inputs.labels_out_of_range,
                       r"\d+ labels out of range \[0, 10\), first at index 0"
                       " with value 12"),
    # A valid IDX file: used to build a dataset that could not be loaded.
    "images 32x32": ("train-images-idx3-ubyte.gz",
                     hostile_inputs.images_of_another_size,
                     "images are 32x32; mnist_derived builds from 28x28"
                     " images only"),
    "count mismatch": ("t10k-labels-idx1-ubyte.gz",
                       hostile_inputs.labels_one_short,
                       r"holds \d+ labels but .*t10k-images-idx3-ubyte.gz"
                       r" holds \d+ images"),
}


def _without_file_read_override():
  """Command prefix under which root, like any user, obeys file modes."""
  if os.geteuid() != 0:
    return []
  setpriv = shutil.which("setpriv")
  if setpriv is None:
    pytest.skip("running as root without setpriv: mode 000 can't deny a read")
  return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]


def _build_broken_copy(tmp_path, case):
  file_name, make, _ = CLI_DEFECTS[case]
  manual = tmp_path / "manual"
  shutil.copytree(DUMMY_DATA / "mnist", manual)
  make(manual / file_name)
  prefix = _without_file_read_override() if case == "images unreadable" else []
  proc = subprocess.run(
      [*prefix, TFDS, "build", "--imports", "mnist_derived", "mnist_fg/mnist",
       "--manual_dir", str(manual), "--data_dir", str(tmp_path / "data")],
      capture_output=True, text=True, cwd=tmp_path)
  return manual / file_name, proc


@pytest.fixture(scope="module")
def broken_builds(tmp_path_factory):
  """Runs `tfds build` on every broken copy, a few at a time: case -> result."""
  def run(case):
    return _build_broken_copy(tmp_path_factory.mktemp("broken"), case)
  with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
    return dict(zip(CLI_DEFECTS, pool.map(run, CLI_DEFECTS)))


@pytest.mark.parametrize("case", sorted(CLI_DEFECTS))
def test_bad_input_gives_one_clear_message_and_no_dataset(broken_builds, case):
  path, proc = broken_builds[case]
  assert proc.returncode == 1, proc.stderr[-2000:]
  # The last line is the whole message: no traceback from TFDS, gzip or numpy.
  assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
  last_line = proc.stderr.strip().splitlines()[-1]
  assert re.fullmatch(f"error: {re.escape(str(path))}: .*", last_line)
  assert re.search(CLI_DEFECTS[case][2], last_line), last_line
  data = path.parent.parent / "data"
  assert not list(data.glob("mnist_fg/mnist/*/dataset_info.json"))


def test_no_dataset_is_loadable_after_a_failed_build(broken_builds):
  path, _ = broken_builds["labels above 9"]
  check = subprocess.run(
      [sys.executable, "-c", "import mnist_derived, tensorflow_datasets as t;"
       f"t.load('mnist_fg/mnist', data_dir={str(path.parent.parent / 'data')!r},"
       " download=False)"], capture_output=True, text=True)
  assert check.returncode != 0
  assert "download_and_prepare" in check.stderr.splitlines()[-1]


def test_traceback_on_request(tmp_path):
  manual = tmp_path / "manual"
  shutil.copytree(DUMMY_DATA / "mnist", manual)
  hostile_inputs.labels_out_of_range(manual / "t10k-labels-idx1-ubyte.gz")
  proc = subprocess.run(
      [TFDS, "build", "--imports", "mnist_derived", "mnist_fg/mnist",
       "--manual_dir", str(manual), "--data_dir", str(tmp_path / "data")],
      capture_output=True, text=True, cwd=tmp_path,
      env={**os.environ, "MNIST_DERIVED_TRACEBACK": "1"})
  assert proc.returncode == 1
  assert "Traceback" in proc.stderr and "IdxFormatError" in proc.stderr


def test_a_manual_dir_that_does_not_exist_fails_at_once(tmp_path):
  # Was: taken as absent, 3.5 minutes of download retries offline.
  missing = tmp_path / "mnsit"
  proc = subprocess.run(
      [TFDS, "build", "--imports", "mnist_derived", "mnist_fg/mnist",
       "--manual_dir", str(missing), "--data_dir", str(tmp_path / "data")],
      capture_output=True, text=True, cwd=tmp_path, timeout=120)
  assert proc.returncode == 1
  assert "Traceback" not in proc.stderr
  assert proc.stderr.strip().splitlines()[-1] == (
      f"error: {missing}: the --manual_dir given does not exist")


def test_importing_the_package_leaves_the_interpreter_alone():
  code = ("import sys; hook = sys.excepthook;"
          " import tensorflow_datasets.scripts.cli.main, mnist_derived;"
          " print(sys.excepthook is hook)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, check=True).stdout
  assert out.strip() == "True"
