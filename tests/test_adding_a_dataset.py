"""Adding a dataset is one folder: tests/toy_dataset/mnist_ink, written as a
dataset of the package is, copied to a temporary folder and imported from
there, is built, verified, scored, shown and exported by the real command;
no other file of the package knows its name."""

import ast
import importlib
import json
import pathlib
import shutil
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
import tensorflow_datasets as tfds

from mnist_derived import cli
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

TOY = "mnist_ink/mnist"


def _command(*args):
  """`mnist-derived ARGS` in this process (where mnist_ink is registered):
  its exit status."""
  try:
    return cli.main([str(a) for a in args])
  except SystemExit as stop:
    return stop.code


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
  """The toy dataset's declaration, its folder imported (and its builder
  registered) from a temporary folder."""
  folder = tmp_path_factory.mktemp("toy_datasets")
  shutil.copytree(REPO / "tests" / "toy_dataset" / "mnist_ink",
                  folder / "mnist_ink")
  sys.path.insert(0, str(folder))
  try:
    importlib.import_module("mnist_ink.mnist_ink_dataset_builder")
    yield importlib.import_module("mnist_ink.declaration").DECLARATION
  finally:
    sys.path.remove(str(folder))


@pytest.fixture(scope="module")
def toy_data(toy, tmp_path_factory):
  del toy
  data = tmp_path_factory.mktemp("toy")
  assert _command("build", TOY, "--data_dir", data, "--manual_dir",
                  DUMMY_DATA, "--file_format", "array_record") == 0
  return data


def _truth(data, split="test"):
  source = tfds.data_source(TOY, split=split, data_dir=data)
  return {name: np.array([source[i][name] for i in range(len(source))])
          for name in ("index", "ink")}


def _code_strings(path):
  """The string constants of a module's code, docstrings left out."""
  tree = ast.parse(path.read_text())
  docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                and node.body and isinstance(node.body[0], ast.Expr)}
  return [node.value for node in ast.walk(tree)
          if isinstance(node, ast.Constant) and isinstance(node.value, str)
          and id(node) not in docstrings]


def test_every_folder_is_registered_with_its_declaration(toy):
  from mnist_derived import declarations  # pylint: disable=g-import-not-at-top
  from mnist_derived.core import builder  # pylint: disable=g-import-not-at-top
  folders = [f.name for f in (REPO / "mnist_derived" / "datasets").iterdir()
             if (f / "declaration.py").exists()]
  registered = builder.registered()
  for name in [*folders, "mnist_ink"]:
    module = importlib.import_module(registered[name].__module__.rsplit(
        ".", 1)[0] + ".declaration")
    assert declarations.of(registered[name]) is module.DECLARATION, name
  assert registered["mnist_ink"].DECLARATION is toy


def test_outside_their_folders_no_code_switches_on_a_dataset_name():
  package = REPO / "mnist_derived"
  names = [folder.name for folder in (package / "datasets").iterdir()
           if (folder / "declaration.py").exists()]
  assert names
  found = [(path.relative_to(REPO), text)
           for path in package.rglob("*.py")
           if "datasets" not in path.relative_to(package).parts
           for text in _code_strings(path)
           if any(name in text for name in names) and "e.g." not in text]
  assert not found  # only a --help line's examples name one


def test_it_is_scored_as_its_folder_declares(toy_data, tmp_path, capsys):
  truth = _truth(toy_data)
  order = np.argsort(-truth["index"])  # any order of rows
  guess = truth["ink"][order] + np.where(truth["ink"][order] % 2, 3, 0)
  path = tmp_path / "guess.npz"
  np.savez(path, index=truth["index"][order], ink=guess)
  capsys.readouterr()
  assert _command("score", TOY, "--predictions", path, "--data_dir",
                  toy_data) == 0
  scores = json.loads(capsys.readouterr().out)
  odd = truth["ink"] % 2 == 1
  assert scores["ink_mae"] == pytest.approx(3 * odd.mean())
  assert scores["ink_exact"] == pytest.approx(1 - odd.mean())
  assert 0 < odd.sum() < len(odd)  # both kinds of rows are scored


def test_a_bad_predictions_file_gets_its_one_line(toy_data, tmp_path, capsys):
  truth = _truth(toy_data)
  path = tmp_path / "short.npz"
  np.savez(path, index=truth["index"], ink=truth["ink"][:-1])
  assert _command("score", TOY, "--predictions", path, "--data_dir",
                  toy_data) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith(f"error: {path}: ") and "\n" not in err


def test_it_is_verified_shown_and_exported(toy, toy_data, tmp_path, capsys):
  assert _command("verify", TOY, "--data_dir", toy_data) == 0
  lines = capsys.readouterr().out.splitlines()
  assert [line.split()[1] for line in lines] == ["test", "train"]
  assert all(line.endswith("read whole (no fingerprint published)")
             for line in lines)
  assert _command("show", TOY, "--num", 5, "--out", tmp_path / "ink.png",
                  "--data_dir", toy_data) == 0
  assert (tmp_path / "ink.png").stat().st_size > 0
  out = tmp_path / "parquet"
  for export in ("parquet", "croissant"):
    assert _command("export", TOY, "--format", export, "--out", out,
                    "--data_dir", toy_data) == 0
  table = pq.read_table(sorted(out.glob("data/test-*.parquet")))
  truth = _truth(toy_data)
  by_index = dict(zip(table["index"].to_pylist(), table["ink"].to_pylist()))
  assert by_index == dict(zip(truth["index"].tolist(), truth["ink"].tolist()))
  croissant = json.loads((out / "croissant.json").read_text())
  for field, declared in [("rai:dataLimitations", toy.limitations),
                          ("rai:dataPreprocessingProtocol",
                           toy.preprocessing)]:
    written = croissant[field]  # one value is written bare
    assert ([written] if isinstance(written, str) else written) == [*declared]
  card = (out / "README.md").read_text()
  assert "task_categories:\n- image-classification\n" in card


def test_its_published_fingerprints_are_found_and_checked(toy, toy_data,
                                                         capsys):
  # Fingerprints published in its own folder: CI's list of what to build
  # and check on real data (`published_datasets`) names it, and `verify`
  # compares with them; no other file is edited.
  from mnist_derived import fingerprint  # pylint: disable=g-import-not-at-top
  del toy
  assert TOY not in fingerprint.published_datasets()
  assert _command("verify", TOY, "--data_dir", toy_data) == 0
  measured = {line.split()[1]: line.split()[2]
              for line in capsys.readouterr().out.splitlines()}
  folder = pathlib.Path(sys.modules["mnist_ink"].__file__).parent
  (folder / "FINGERPRINTS.json").write_text(json.dumps(
      {"mnist_ink/mnist/0.1.0": measured}))
  try:
    assert TOY in fingerprint.published_datasets()
    assert _command("verify", TOY, "--data_dir", toy_data) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.endswith("matches the published fingerprint")
               for line in lines) and len(lines) == 2
  finally:
    (folder / "FINGERPRINTS.json").unlink()


def test_an_export_it_does_not_declare_is_one_line(toy_data, tmp_path,
                                                   capsys):
  assert _command("export", TOY, "--format", "coco", "--out",
                  tmp_path / "coco", "--data_dir", toy_data) == 1
  err = capsys.readouterr().err.strip()
  assert err == ("error: mnist_ink/mnist: the coco export does not apply to"
                 " it (it is for datasets of objects with instance masks);"
                 " its exports are parquet, croissant")
  assert not (tmp_path / "coco").exists()
