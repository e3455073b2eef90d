"""The README's Python snippets run as written, after the builds and exports
it describes (made here from dummy data, in a fresh HOME, into a data dir
of the reader's own named by TFDS_DATA_DIR)."""

import dataclasses
import importlib.util
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

import mnist_derived
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

pytestmark = pytest.mark.slow

README = (REPO / "README.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
SHELL = re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def _build(builder):
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(DUMMY_DATA)))


class _SmallMosaics(mnist_derived.MnistMosaic, skip_registration=True):
  """mnist_mosaic under its own name, its configs with a few examples."""

  name = "mnist_mosaic"
  BUILDER_CONFIGS = [
      dataclasses.replace(config, num_train=20, num_validation=4, num_test=8)
      for config in mnist_derived.MnistMosaic.BUILDER_CONFIGS]


class _SmallMoving(mnist_derived.MnistMoving, skip_registration=True):
  """mnist_moving under its own name, with a few sequences per split."""

  name = "mnist_moving"
  BUILDER_CONFIGS = [
      dataclasses.replace(config, num_train=16, num_validation=4, num_test=4)
      for config in mnist_derived.MnistMoving.BUILDER_CONFIGS]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
  """A HOME and a data dir of the reader's own (not ~/tensorflow_datasets),
  named once by TFDS_DATA_DIR as the README says, holding what the README
  builds: the real configs from dummy data, and the mosaics with a few
  examples per split (same names and versions)."""
  home = tmp_path_factory.mktemp("home")
  # As TensorFlow's tfds build writes them, and as mnist-derived writes them
  # where TensorFlow is not installed (array_record).
  for data, file_format in [(home / "my_datasets", "tfrecord"),
                            (home / _WITHOUT_TF_DATA, "array_record")]:
    for name in ("mnist_fg/mnist", "mnist_circles/mnist"):
      _build(tfds.builder(name, data_dir=data, file_format=file_format))
    for name in ("2x2", "scatter"):
      _build(_SmallMosaics(config=name, data_dir=data,
                           file_format=file_format))
    _build(_SmallMoving(config="mnist", data_dir=data,
                        file_format=file_format))
  # The README's export commands, as written.
  for block in SHELL:
    for line in block.splitlines():
      if line.startswith("mnist-derived export "):
        subprocess.run([sys.executable, "-m", "mnist_derived",
                        *shlex.split(line)[1:]], cwd=home, env=_env(home),
                       check=True, capture_output=True)
  return home


# The data dir of a reader without TensorFlow: its builds are array_record.
_WITHOUT_TF_DATA = "my_datasets_array_record"


def _env(home, data="my_datasets"):
  return dict(os.environ, HOME=str(home), PYTHONPATH=str(REPO),
              TFDS_DATA_DIR=str(home / data))


def test_the_readme_has_snippets():
  assert len(SNIPPETS) >= 4
  assert any("mnist-derived export" in block for block in SHELL)


# A snippet that names neither TensorFlow nor tfds runs as where TensorFlow
# is not installed (a PyTorch user's machine), and fails if it imports it.
_WITHOUT_TENSORFLOW = """\
import atexit, sys
from tests import without_tensorflow
without_tensorflow.hide_tensorflow()
atexit.register(lambda: without_tensorflow.loaded_tensorflow() and sys.exit(
    f"imported {without_tensorflow.loaded_tensorflow()[0]}"))
"""


def _as_run(code):
  """(the snippet as the test runs it, its data dir): the reader's MNIST
  folder is the dummy data; without TensorFlow, reading array_record
  builds, where it names neither TensorFlow nor tfds."""
  code = code.replace("<your MNIST folder>", str(DUMMY_DATA))
  if "tensorflow" in code or "tfds" in code:
    return code, "my_datasets"
  return _WITHOUT_TENSORFLOW + code, _WITHOUT_TF_DATA


@pytest.mark.parametrize("number", range(len(SNIPPETS)))
def test_snippet_runs_as_written(number, home):
  code = SNIPPETS[number]
  for module in ("torch", "grain", "datasets"):
    if f"loaders.{module}" in code or f"import {module}" in code:
      if importlib.util.find_spec(module) is None:
        pytest.skip(f"needs {module}")
  if "torch_loader" in code and importlib.util.find_spec("torch") is None:
    pytest.skip("needs torch")
  code, data = _as_run(code)
  env = _env(home, data)
  assert not (home / "tensorflow_datasets").exists()
  script = pathlib.Path(home) / f"snippet_{number}.py"
  script.write_text(code)
  proc = subprocess.run([sys.executable, str(script)], cwd=home, env=env,
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, f"snippet {number}:\n{code}\n{proc.stderr[-3000:]}"


def test_the_pytorch_install_block_takes_the_cpu_build_first():
  # PyPI's torch is a CUDA build of about 5 GB; on a CPU-only machine the
  # block a PyTorch user copies installs PyTorch's CPU build before it.
  block = next(b for b in SHELL if "'.[torch]'" in b and "build mnist_fg" in b)
  lines = block.splitlines()
  cpu = next(i for i, line in enumerate(lines) if "whl/cpu" in line)
  extra = next(i for i, line in enumerate(lines) if "-e '.[torch]'" in line)
  assert cpu < extra
