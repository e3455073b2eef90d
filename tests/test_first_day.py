"""What a first-day user met, through the real command: shapes PyTorch and
the loaders give, picture names, missing extras, misspelt names, files that
are not .npz, progress, and the package's one place that exits."""

import ast
import io
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from mnist_derived import declarations
from mnist_derived import loaders
from mnist_derived import progress
from mnist_derived.core import errors
from tests.commands import MNIST_DERIVED
from tests.conftest import DUMMY_BUILDS
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO


def _run(*args):
  proc = subprocess.run([MNIST_DERIVED, *map(str, args)], capture_output=True,
                        text=True, cwd=REPO)
  return proc.returncode, proc.stdout, proc.stderr.strip()


def _one_line(err):
  lines = err.splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), err
  return lines[0]


@pytest.fixture(scope="module")
def fg_truth(dummy_data_dir):
  test = loaders.DecodedSplit(DUMMY_BUILDS["fg"], "test",
                              data_dir=dummy_data_dir)
  return test.batch(np.arange(len(test)))


@pytest.mark.parametrize("shape_of", [
    lambda mask: mask,                                # the loaders' (N, H, W, 1)
    lambda mask: np.moveaxis(mask, -1, 1),            # PyTorch's (N, 1, H, W)
    lambda mask: mask[..., 0]])                       # (N, H, W)
def test_a_mask_of_the_datasets_own_shape_is_scored(fg_truth, dummy_data_dir,
                                                    tmp_path, shape_of):
  path = tmp_path / "p.npz"
  np.savez(path, index=fg_truth["index"], mask=shape_of(fg_truth["mask"]))
  code, out, err = _run("score", "mnist_fg/mnist", "--predictions", path,
                        "--data_dir", dummy_data_dir)
  assert code == 0, err
  assert json.loads(out)["mean_image_jaccard"] == 1.0


def test_another_shape_is_refused_saying_which_fit(fg_truth, dummy_data_dir,
                                                   tmp_path):
  path = tmp_path / "p.npz"
  n = len(fg_truth["index"])
  np.savez(path, index=fg_truth["index"], mask=np.zeros((n, 28, 28, 2)))
  code, _, err = _run("score", "mnist_fg/mnist", "--predictions", path,
                      "--data_dir", dummy_data_dir)
  assert code == 2
  assert _one_line(err) == (
      f"error: {path}: 'mask' has shape ({n}, 28, 28, 2), expected ({n}, 28,"
      f" 28), or ({n}, 28, 28, 1) or ({n}, 1, 28, 28) (one value per pixel)")


@pytest.mark.parametrize("written", [b"index,mask\n1,2\n", b"\x93NUMPY\x01\x00"])
def test_a_file_that_is_not_npz_gets_our_line(dummy_data_dir, tmp_path,
                                              written):
  path = tmp_path / "p.npz"
  path.write_bytes(written)
  code, _, err = _run("score", "mnist_fg/mnist", "--predictions", path,
                      "--data_dir", dummy_data_dir)
  assert code == 2
  line = _one_line(err)
  assert line.startswith(f"error: {path}: not an .npz file")
  assert "numpy.savez" in line and "allow_pickle" not in line


def test_score_help_names_each_datasets_arrays():
  code, out, _ = _run("score", "--help")
  assert code == 0
  text = " ".join(out.split())
  from mnist_derived.core import builder  # pylint: disable=g-import-not-at-top
  package = REPO / "mnist_derived" / "datasets"
  for name, builder_class in builder.registered().items():
    if not (package / name).is_dir():
      continue  # a test's builder, not registered in the command
    scoring = declarations.of(builder_class).scoring
    assert name in text
    for array in (*scoring.arrays, *scoring.optional):
      assert f"`{array}`" in text


@pytest.mark.parametrize("out", ["fig", "fig.jpgg"])
def test_show_refuses_a_picture_name_before_any_work(dummy_data_dir, tmp_path,
                                                     out):
  code, _, err = _run("show", "mnist_fg/mnist", "--out", tmp_path / out,
                      "--data_dir", dummy_data_dir)
  assert code == 1
  assert "names no picture format; use one of" in _one_line(err)
  assert ".png" in err
  assert list(tmp_path.iterdir()) == []


def test_show_draws_a_generated_split_without_a_build(tmp_path):
  out = tmp_path / "generated.png"
  code, _, err = _run("show", "mnist_mosaic/multimnist", "--out", out,
                      "--num", 4, "--data_dir", tmp_path / "nothing_built",
                      "--manual_dir", DUMMY_DATA, "--split", "test")
  assert code == 0, err
  assert out.stat().st_size > 0


@pytest.mark.parametrize("name,suggested,wrong", [
    ("mnist_fg/mnsit", "mnist_fg/mnist", "mnist_fg has no config 'mnsit'"),
    ("fg", "mnist_fg", "no dataset 'fg' here"),
    ("circles/mnist", "mnist_circles/mnist", "no dataset 'circles' here"),
])
def test_misspelt_names_get_our_suggestions_only(tmp_path, name, suggested,
                                                 wrong):
  code, _, err = _run("build", name, "--data_dir", tmp_path)
  assert code == 1
  line = _one_line(err)
  assert f"did you mean {suggested}" in line and wrong in line
  assert "BuilderConfigs" not in line and "fashion_mnist:1.0.0" not in line


@pytest.mark.parametrize("module,call,extra", [
    ("grain", lambda: loaders.grain_dataset(DUMMY_BUILDS["fg"]), "jax"),
    ("torch", lambda: loaders.torch_loader(DUMMY_BUILDS["fg"]), "torch"),
])
def test_a_missing_extra_is_named(monkeypatch, module, call, extra):
  monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
  with pytest.raises(errors.InputError,
                     match=rf"needs {module}, which is not installed: pip"
                     rf" install 'mnist-derived\[{extra}\]'"):
    call()


def test_workers_on_a_built_split_warn_once(dummy_data_dir):
  pytest.importorskip("torch")
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    loaders.torch_loader(DUMMY_BUILDS["fg"], data_dir=dummy_data_dir,
                         num_workers=2)
    generated = loaders.GeneratedSplit(DUMMY_BUILDS["fg"], "test",
                                       manual_dir=DUMMY_DATA,
                                       data_dir=dummy_data_dir)
    loaders.torch_loader(generated, num_workers=2)
  ours = [str(w.message) for w in caught
          if str(w.message).startswith("torch_loader")]
  assert len(ours) == 1 and "than num_workers=0" in ours[0]


class _Terminal(io.StringIO):

  def isatty(self):
    return True


@pytest.mark.parametrize("terminal,enabled,drawn", [
    (True, True, True), (False, True, False), (True, False, False)])
def test_progress_is_drawn_on_a_terminal_unless_quiet(monkeypatch, terminal,
                                                      enabled, drawn):
  stream = _Terminal() if terminal else io.StringIO()
  monkeypatch.setattr(sys, "stderr", stream)
  monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
  monkeypatch.setattr(progress, "_REFRESH_SECONDS", 0.0)
  monkeypatch.setattr(progress, "enabled", enabled)
  assert list(progress.counted(range(10), 10, "reading x test")) == list(
      range(10))
  assert (stream.getvalue().endswith("\rreading x test: 10/10 (100%)\n")
          if drawn else stream.getvalue() == "")


def test_a_short_read_draws_nothing(monkeypatch):
  stream = _Terminal()
  monkeypatch.setattr(sys, "stderr", stream)
  assert len(list(progress.counted(range(1000), 1000, "quick"))) == 1000
  assert stream.getvalue() == ""


def _exits(tree):
  """Lines of a module that end the process: SystemExit, sys.exit, os._exit."""
  found = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Name) and node.id == "SystemExit":
      found.append(node.lineno)
    if isinstance(node, ast.Attribute) and node.attr in ("exit", "_exit") and (
        isinstance(node.value, ast.Name) and node.value.id in ("sys", "os")):
      found.append(node.lineno)
  return found


def test_nothing_below_cli_exits_the_process():
  package = REPO / "mnist_derived"
  found = [(str(path.relative_to(REPO)), line)
           for path in package.rglob("*.py")
           if "cli" not in path.relative_to(package).parts
           and path.name != "__main__.py"  # `python -m mnist_derived`
           for line in _exits(ast.parse(path.read_text()))]
  assert not found
  assert _exits(ast.parse((package / "cli" / "process.py").read_text()))


def test_a_dataset_without_the_features_read_by_name_is_refused():
  from mnist_derived import MnistFg  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  class NoIndex(MnistFg, skip_registration=True):
    name = "mnist_no_index"
    code_path, pkg_dir_path = MnistFg.code_path, MnistFg.pkg_dir_path

    def _info(self):
      return self.dataset_info_from_configs(features=tfds.features.FeaturesDict(
          {"image": tfds.features.Image(shape=(28, 28, 1))}))

  with pytest.raises(TypeError, match="its feature 'index' as a Scalar, but"
                     " its features lack it"):
    NoIndex(config="mnist")


def test_epochs_below_one_are_refused(tmp_path):
  pytest.importorskip("tensorflow")
  code, _, err = _run("train", "fg", "--epochs", 0, "--out", tmp_path / "run",
                      "--data_dir", tmp_path)
  assert code == 1
  assert _one_line(err) == "error: epochs must be at least 1, not 0"
  assert not (tmp_path / "run").exists()


def test_the_loader_benchmark_times_what_is_installed(capsys):
  # --help says the whole first paragraph; without TensorFlow, tf.data is
  # skipped by name and the rest is timed against the in-memory limit.
  help_text = subprocess.run(
      [sys.executable, "benchmarks/loaders.py", "--help"], cwd=REPO,
      capture_output=True, text=True, check=True).stdout
  assert "against the limit, the split already in memory." in " ".join(
      help_text.split())
  sys.path.insert(0, str(REPO / "benchmarks"))
  try:
    import loaders as benchmark  # pylint: disable=g-import-not-at-top
  finally:
    sys.path.remove(str(REPO / "benchmarks"))
  args = benchmark.argparse.Namespace(
      readers=list(benchmark.READERS), data_dir=None, manual_dir=None)
  real = benchmark._installed  # pylint: disable=protected-access
  benchmark._installed = lambda m: m != "tensorflow" and real(m)  # pylint: disable=protected-access
  try:
    readers = benchmark._available(args)  # pylint: disable=protected-access
  finally:
    benchmark._installed = real  # pylint: disable=protected-access
  assert "tf.data" not in readers and readers[-1] == "in memory"
  assert "skipping tf.data: TensorFlow is not installed" in (
      capsys.readouterr().err)
  assert not any(r.startswith("generated") for r in readers)
