"""Faults of the machine, met through the real command: a full disk, a
read-only folder, two builds at once, a damaged record file, a signal.

Each ends in one line naming the path and what to do, with its exit status,
and leaves nothing half-written that loads.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mnist_derived import decoding
from mnist_derived.cli import process
import tests.builder_testing  # noqa: F401  pylint: disable=unused-import (registers mnist_mosaic_slow)
from tests import mounts
from tests.commands import MNIST_DERIVED
from tests.commands import command
from tests.conftest import DUMMY_DATA
from tests.conftest import REPO

# Big enough that a build runs for seconds (tests.builder_testing.SlowMosaic).
SLOW = "mnist_mosaic_slow/2x2"
SLOW_VERSION = str(tests.builder_testing.SlowMosaic.VERSION)


def _env(python_path=None):
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  if python_path:  # `tfds build --imports tests...` from the repository
    env["PYTHONPATH"] = str(python_path)
  return env


def _run(args, check=None):
  proc = subprocess.run(args, capture_output=True, text=True, cwd=REPO,
                        timeout=600, env=_env())
  if check is not None:
    assert proc.returncode == check, proc.stderr[-3000:]
  return proc


# Every process a test starts; none outlives its test, even a failed one
# (a leftover training run would slow every test after it).
_STARTED = []


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test():
  yield
  while _STARTED:
    proc = _STARTED.pop()
    if proc.poll() is None:
      proc.kill()
      proc.communicate()


def _start(args, python_path=None):
  proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          env=_env(python_path))
  _STARTED.append(proc)
  return proc


def _build(name, data_dir, *flags):
  return [*command("build", name), "--data_dir", str(data_dir),
          "--manual_dir", str(DUMMY_DATA), *flags]


def _one_error_line(proc):
  """The command's stderr is exactly one line, `error: ...`; returns it."""
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr
  return lines[0]


def _config_dir(data_dir, name=SLOW):
  return data_dir / name.split("/")[0] / name.split("/")[1]


def _leftovers(data_dir, name=SLOW):
  """What a build left in its config folder and its lock files."""
  folder = _config_dir(data_dir, name)
  locks = sorted(p.name for p in data_dir.glob(".*.lock"))
  return locks + (sorted(p.name for p in folder.iterdir())
                  if folder.exists() else [])


def _wait_for(condition, proc, timeout=300):
  """Polls until condition() holds while proc runs; fails if proc ends."""
  end = time.monotonic() + timeout
  while time.monotonic() < end:
    if condition():
      return
    assert proc.poll() is None, proc.communicate()
    time.sleep(0.05)
  raise AssertionError("timed out waiting")


def _incomplete(data_dir, name=SLOW):
  return list(_config_dir(data_dir, name).glob("incomplete.*"))


def _record_bytes(version_folder):
  return sum(p.stat().st_size for p in version_folder.glob("*-of-*"))


# --- a full disk ------------------------------------------------------------

@pytest.mark.slow
def test_a_build_its_disk_has_no_room_for_is_refused_first(tmp_path):
  with mounts.tmpfs(tmp_path / "small", "2m") as small:
    proc = _run(_build(SLOW, small), check=1)
    line = _one_error_line(proc)
    assert line.startswith(f"error: {small}: building {SLOW}/{SLOW_VERSION}"
                           " needs about ")
    assert "is free there; free some space or choose another --data_dir" in line
    assert _leftovers(small) == [], "a refused build left files"
  # The estimate is honest: the build it refused is about that size.
  needed_mb = float(line.split("needs about ")[1].split(" MB")[0])
  _run(_build(SLOW, tmp_path / "big"), check=0)
  built = _record_bytes(_config_dir(tmp_path / "big") / SLOW_VERSION) / 1e6
  assert built <= needed_mb <= 1.5 * built, (built, needed_mb)


def _build_filled_midway(small, delay):
  """A build's stderr when, `delay` s into it, another writer takes every
  free byte of its disk."""
  build = _start(_build(SLOW, small))
  _wait_for(lambda: _incomplete(small), build)
  time.sleep(delay)
  mounts.fill(small)
  out, err = build.communicate(timeout=600)
  assert build.returncode == 1, err
  (small / "filler").unlink()
  return _one_error_line(subprocess.CompletedProcess([], 1, out, err))


@pytest.mark.slow
def test_a_disk_that_fills_during_the_build_is_one_line(tmp_path):
  with mounts.tmpfs(tmp_path / "small", "64m") as small:
    # Past the check for room, seconds into generating (a slow machine may
    # still be checking: then later).
    for delay in (2, 4, 6):
      line = _build_filled_midway(small, delay)
      assert _leftovers(small) == []
      if "needs about" not in line:
        break
    assert line.startswith(f"error: {small}: the disk filled up while building"
                           f" {SLOW}/{SLOW_VERSION}; nothing half-written")
    assert not tfds.builder(SLOW, data_dir=small).is_prepared()
    _run(_build(SLOW, small), check=0)  # and a later build is whole


def test_an_export_its_disk_has_no_room_for_is_refused(dummy_data_dir,
                                                       tmp_path):
  with mounts.tmpfs(tmp_path / "small", "1m") as small:
    mounts.fill(small, leave=4096)
    out = small / "export"
    proc = _run([MNIST_DERIVED, "export", "mnist_fg/mnist", "--format",
                 "parquet", "--out", out, "--data_dir", dummy_data_dir],
                check=1)
    assert _one_error_line(proc).startswith(
        f"error: {out}: exporting mnist_fg/mnist/1.0.0 needs about ")
    assert sorted(p.name for p in small.iterdir()) == ["filler"]


@pytest.mark.slow
def test_a_disk_that_fills_during_an_export_is_one_line(tmp_path):
  data = tmp_path / "data"
  _run(_build(SLOW, data, "--file_format", "array_record"), check=0)
  with mounts.tmpfs(tmp_path / "small", "64m") as small:
    out = small / "export"
    export = _start([*command("export", SLOW), "--format", "parquet", "--out",
                     str(out), "--data_dir", str(data)])
    _wait_for(lambda: (small / ".export.partial").exists(), export)
    mounts.fill(small)
    _, err = export.communicate(timeout=600)
    assert export.returncode == 1, err[-3000:]
    line = _one_error_line(subprocess.CompletedProcess([], 1, "", err))
    assert line.startswith(f"error: {out}: the disk filled up while running"
                           " `mnist-derived export`; nothing half-written")
    assert sorted(p.name for p in small.iterdir()) == ["filler"]


@pytest.mark.slow
def test_a_training_run_its_disk_has_no_room_for_is_refused(dummy_data_dir,
                                                            tmp_path):
  with mounts.tmpfs(tmp_path / "small", "1m") as small:
    proc = _run([MNIST_DERIVED, "train", "fg", "--out", str(small / "run"),
                 "--epochs", "1", "--data_dir", str(dummy_data_dir)], check=1)
    assert _one_error_line(proc).startswith(
        f"error: {small / 'run'}: training fg needs about ")
    assert not list(small.glob("run/*.keras"))


# --- a read-only folder -----------------------------------------------------

@pytest.fixture
def read_only_dir(tmp_path):
  (tmp_path / "data").mkdir()
  with mounts.read_only(tmp_path / "data", tmp_path / "ro") as folder:
    yield folder


def test_a_build_into_a_read_only_folder_is_one_line(read_only_dir):
  proc = _run(_build("mnist_fg/mnist", read_only_dir / "datasets"), check=1)
  line = _one_error_line(proc)
  assert line.startswith(f"error: {read_only_dir / 'datasets'}: cannot write"
                         " there (")
  assert line.endswith("choose another --data_dir")


@pytest.mark.parametrize("verb", ["export", "show", "score", "train"])
def test_outputs_into_a_read_only_folder_are_refused_first(
    verb, read_only_dir, dummy_data_dir, tmp_path):
  out = read_only_dir / "out"
  target, args = {
      "export": (out, ["mnist_fg/mnist", "--format", "parquet", "--out", out]),
      "show": (out / "fig.png", ["mnist_fg/mnist", "--out", out / "fig.png"]),
      "score": (out / "scores.json", [
          "mnist_fg/mnist", "--predictions", tmp_path / "unread.npz",
          "--json", out / "scores.json"]),
      "train": (out, ["fg", "--out", out, "--limit", "8"]),
  }[verb]
  proc = _run([MNIST_DERIVED, verb, *map(str, args), "--data_dir",
               str(dummy_data_dir)], check=1)
  assert _one_error_line(proc).startswith(f"error: {target}: cannot write"
                                          " there (")


def test_a_built_dataset_in_a_read_only_folder_still_reads(dummy_data_dir,
                                                           tmp_path):
  shutil.copytree(dummy_data_dir / "mnist_fg", tmp_path / "data" / "mnist_fg")
  with mounts.read_only(tmp_path / "data", tmp_path / "ro") as folder:
    proc = _run(_build("mnist_fg/mnist", folder), check=0)
    assert "already built" in proc.stdout
    # Read whole from the read-only mount (dummy data: not the published).
    verify = _run([MNIST_DERIVED, "verify", "mnist_fg/mnist", "--data_dir",
                   folder], check=1)
    assert [line.split()[3:5] for line in verify.stdout.splitlines()] == [
        ["DIFFERS", "from"]] * 2, verify.stdout


# --- two builds at once -----------------------------------------------------

def _children(pid):
  """The child processes of a process (Linux's /proc)."""
  with open(f"/proc/{pid}/task/{pid}/children") as children:
    return children.read().split()


def _a_process_waits_on_a_lock():
  """True while some process is blocked on a file lock (Linux lists the
  waiters in /proc/locks, marked `->`)."""
  with open("/proc/locks") as locks:
    return any("->" in line for line in locks)


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["mnist-derived", "tfds"])
def test_a_second_build_waits_for_the_first_and_reports_it(tool, tmp_path):
  data = tmp_path / "shared"
  if tool == "tfds":
    tfds_cli = shutil.which("tfds", path=os.path.dirname(sys.executable))
    build = [tfds_cli, "build", SLOW, "--imports",
             "mnist_derived,tests.builder_testing", "--data_dir", str(data),
             "--manual_dir", str(DUMMY_DATA)]
  else:
    build = _build(SLOW, data)
  first = _start(build, python_path=REPO)
  _wait_for(lambda: _incomplete(data), first)  # it holds the lock
  # Paused until the second waits on its lock: on a loaded machine the
  # second could otherwise start after the first has finished.
  first.send_signal(signal.SIGSTOP)
  second = _start(build, python_path=REPO)
  try:
    _wait_for(_a_process_waits_on_a_lock, second, timeout=300)
  finally:
    first.send_signal(signal.SIGCONT)
  out2, err2 = second.communicate(timeout=600)
  out1, err1 = first.communicate(timeout=600)
  assert first.returncode == 0, err1[-3000:]
  assert second.returncode == 0, err2[-3000:]
  assert "Traceback" not in err1 + err2
  if tool == "mnist-derived":
    assert "built in" in out1
    assert "already built" in out2
    assert err2.strip() == (f"{SLOW}: another process is building it in this"
                            f" data dir (holding {data}/.mnist_mosaic_slow.2x2."
                            f"{SLOW_VERSION}.lock); waiting for it")
  assert not list(data.glob(".*.lock")), "the lock outlived the builds"
  assert _leftovers(data) == [SLOW_VERSION]
  verify = _run([*command("verify", SLOW), "--data_dir", str(data)], check=0)
  assert verify.stdout.count("read whole (no fingerprint published)") == 3
  assert tfds.builder(SLOW, data_dir=data).is_prepared()


@pytest.mark.slow
def test_two_threads_of_one_process_build_once(tmp_path):
  # The second thread waits for the first's lock, as a second process
  # would, then finds the dataset built.
  import threading  # pylint: disable=g-import-not-at-top
  from mnist_derived import builds  # pylint: disable=g-import-not-at-top
  waited, results = [], {}
  first_holds = threading.Event()

  def build(name):
    def on_wait(path):
      waited.append((name, path))
    if name == "second":
      first_holds.wait(60)
    results[name] = builds.build(SLOW, tmp_path, DUMMY_DATA,
                                 on_wait=on_wait)[1]

  threads = [threading.Thread(target=build, args=(n,)) for n in
             ("first", "second")]
  threads[0].start()
  running = types.SimpleNamespace(
      poll=lambda: None if threads[0].is_alive() else 0,
      communicate=lambda: "the first build ended before it was seen")
  _wait_for(lambda: _incomplete(tmp_path), running)  # it holds the lock
  first_holds.set()
  threads[1].start()
  for thread in threads:
    thread.join(600)
  assert results == {"first": True, "second": False}
  assert [name for name, _ in waited] == ["second"]
  assert _leftovers(tmp_path) == [SLOW_VERSION]


# --- damaged record files ---------------------------------------------------

def _first_unreadable_by_the_library(builder, path, split="test"):
  """The record of a file its own reading library refuses first: the
  reference the command's message is checked against."""
  if decoding.is_array_record(builder):
    source = tfds.data_source("mnist_fg/mnist", split=split,
                              data_dir=builder.data_dir_root)
    for index in range(len(source)):
      try:
        source[index]
      except RuntimeError:
        return index
  else:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    index = 0
    try:
      for _ in tf.data.TFRecordDataset(str(path)):
        index += 1
    except tf.errors.DataLossError:
      return index
  return None


@pytest.fixture(scope="module", params=["tfrecord", "array_record"])
def damaged_build(request, tmp_path_factory):
  """mnist_fg/mnist built from dummy data, one byte of its test records
  flipped inside the PNG of the middle example; (data dir, file, record)."""
  data = tmp_path_factory.mktemp("damaged") / request.param
  _run(_build("mnist_fg/mnist", data, "--file_format", request.param), check=0)
  builder = tfds.builder("mnist_fg/mnist", data_dir=data)
  (path, _), = decoding.split_files(builder, "test")
  content = bytearray(path.read_bytes())
  pngs = [i for i in range(len(content)) if content.startswith(b"\x89PNG", i)]
  content[pngs[len(pngs) // 2] + 40] ^= 0xFF
  path.write_bytes(bytes(content))
  record = _first_unreadable_by_the_library(builder, path)
  assert record is not None, "the flip went unnoticed by the reader itself"
  return data, path, record


def test_verify_names_the_damaged_file_and_record(damaged_build):
  data, path, record = damaged_build
  proc = _run([MNIST_DERIVED, "verify", "mnist_fg/mnist", "--data_dir", data],
              check=1)
  lines = proc.stdout.splitlines()
  assert lines[0] == "mnist_fg/mnist/1.0.0 test FAILED: 1 problem(s) below"
  assert lines[1].startswith(f"{path}: record {record} cannot be read (")
  assert lines[2].startswith("mnist_fg/mnist/1.0.0 train ")  # read whole
  assert "FAILED" not in lines[2] and len(lines) == 3


def _predictions(data, path):
  builder = tfds.builder("mnist_fg/mnist", data_dir=data)
  count = builder.info.splits["test"].num_examples
  np.savez(path, index=np.arange(count), mask=np.zeros((count, 28, 28),
                                                         np.uint8))


@pytest.mark.parametrize("verb", ["show", "score", "export"])
def test_reading_a_damaged_record_is_one_line(verb, damaged_build, tmp_path):
  data, path, record = damaged_build
  _predictions(data, tmp_path / "p.npz")
  args = {"show": ["--out", tmp_path / "fig.png"],
          "score": ["--predictions", tmp_path / "p.npz"],
          "export": ["--format", "parquet", "--out", tmp_path / "export"]}[verb]
  proc = _run([MNIST_DERIVED, verb, "mnist_fg/mnist", "--data_dir", data,
               *map(str, args)], check=1)
  assert _one_error_line(proc).startswith(
      f"error: {path}: record {record} cannot be read (")
  assert "mnist-derived verify mnist_fg/mnist" in proc.stderr
  assert not (tmp_path / "fig.png").exists()
  assert not (tmp_path / "export").exists()


def test_a_loader_of_a_damaged_record_raises_one_error(damaged_build):
  from mnist_derived import loaders  # pylint: disable=g-import-not-at-top
  data, path, record = damaged_build
  with pytest.raises(decoding.DamagedRecord, match=f"^{path}: record {record}"):
    loaders.DecodedSplit("mnist_fg/mnist", "test", data_dir=data)
  assert not list((data / "mnist_fg/mnist/1.0.0").glob("decoded/*"))


# --- signals ----------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("sig,status,word", [
    (signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signalled_build_stops_cleanly_and_a_rerun_finishes(
    sig, status, word, tmp_path):
  build = _start(_build(SLOW, tmp_path))
  _wait_for(lambda: _incomplete(tmp_path) and _children(build.pid), build)
  # Into the generation, worker processes running; stopped while the signal
  # is sent, so that a fast machine cannot finish the build first.
  build.send_signal(signal.SIGSTOP)
  assert _incomplete(tmp_path), "the build finished before the signal"
  build.send_signal(sig)
  build.send_signal(signal.SIGCONT)
  _, err = build.communicate(timeout=600)
  assert build.returncode == status, err[-3000:]
  assert err.strip() == word
  assert _leftovers(tmp_path) == []
  _run(_build(SLOW, tmp_path), check=0)


@pytest.mark.slow
def test_a_killed_builds_folder_is_removed_by_the_next(tmp_path):
  build = _start(_build(SLOW, tmp_path))
  _wait_for(lambda: _incomplete(tmp_path), build)
  build.kill()
  build.wait()
  stale = _incomplete(tmp_path)
  assert stale, "SIGKILL leaves TFDS's folder: the next build must clear it"
  _run(_build(SLOW, tmp_path), check=0)
  assert _leftovers(tmp_path) == [SLOW_VERSION]


@pytest.mark.slow
def test_a_terminated_export_leaves_nothing(tmp_path):
  data = tmp_path / "data"
  _run(_build(SLOW, data, "--file_format", "array_record"), check=0)
  out = tmp_path / "export"
  export = _start([*command("export", SLOW), "--format", "parquet", "--out",
                   str(out), "--data_dir", str(data)])
  _wait_for(lambda: (tmp_path / ".export.partial").exists(), export)
  export.send_signal(signal.SIGTERM)
  _, err = export.communicate(timeout=600)
  assert export.returncode == 143, err[-3000:]
  assert err.strip() == "terminated"
  assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def _loading_tensorflow(proc):
  """True once proc has mapped TensorFlow's libraries: it is past the
  command's start (its signal handlers set), importing TensorFlow."""
  try:
    with open(f"/proc/{proc.pid}/maps") as maps:
      return "tensorflow" in maps.read()
  except OSError:
    return False


@pytest.mark.slow
def test_an_interrupted_score_writes_nothing(dummy_data_dir, tmp_path):
  _predictions(dummy_data_dir, tmp_path / "p.npz")
  score = _start([MNIST_DERIVED, "score", "mnist_fg/mnist", "--predictions",
                  str(tmp_path / "p.npz"), "--json",
                  str(tmp_path / "scores.json"), "--data_dir",
                  str(dummy_data_dir)])
  # Its predictions checked, TensorFlow starts, for seconds.
  _wait_for(lambda: _loading_tensorflow(score), score)
  score.send_signal(signal.SIGINT)
  _, err = score.communicate(timeout=600)
  assert score.returncode == 130, err[-3000:]
  assert err.strip() == "interrupted"
  assert not (tmp_path / "scores.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("caught", [False, True], ids=["raised", "caught"])
def test_a_terminated_training_run_leaves_no_model(dummy_data_dir, tmp_path,
                                                   caught):
  # caught: the handler's exception is caught and printed where it lands,
  # as TensorFlow's C++ callbacks may do; the run must stop all the same.
  out = tmp_path / "run"
  train = _start([MNIST_DERIVED, "train", "fg", "--out", str(out), "--epochs",
                  "50", "--quiet", "--data_dir", str(dummy_data_dir)],
                 python_path=REPO / "tests" / "swallowing" if caught else None)
  _wait_for(lambda: (out / "log.csv").exists(), train, timeout=300)
  train.send_signal(signal.SIGTERM)
  # Time to reach the next batch's end on a loaded machine, where the
  # first step's tracing alone can take a minute.
  _, err = train.communicate(timeout=600)
  logged = (out / "log.csv").read_text() if (out / "log.csv").exists() else ""
  assert train.returncode == 143, (err[-3000:], logged[-500:],
                                   sorted(p.name for p in out.iterdir()))
  assert err.strip().splitlines()[-1] == "terminated"
  assert "Traceback" not in err
  assert not list(out.glob("*.keras")) and not list(out.glob(".*partial*"))


@pytest.fixture
def termination_handled(monkeypatch):
  monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
  monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)
  previous = signal.getsignal(signal.SIGTERM)
  process.terminate_cleanly()
  yield
  process.terminate_cleanly()  # forgets the SIGTERM of the test
  signal.signal(signal.SIGTERM, previous)


def test_a_termination_that_comes_back_as_another_error_still_stops(
    termination_handled, capsys):
  # A library that turns the handler's exception into its own error (as
  # TensorFlow may, from a callback of its C++): the command still ends as
  # terminated, not with exit status 1 and nothing said.
  del termination_handled
  with pytest.raises(SystemExit) as stopped:
    with process.one_line_errors():
      try:
        signal.raise_signal(signal.SIGTERM)
        time.sleep(1)
      except process.Terminated:
        raise RuntimeError("the library's own error") from None
  assert stopped.value.code == process.EXIT_TERMINATED
  assert capsys.readouterr().err.strip() == "terminated"


def test_a_caught_termination_stays_quiet_and_is_raised_again(
    termination_handled, capsys):
  del termination_handled
  process.raise_if_terminated()  # nothing has arrived yet
  try:
    signal.raise_signal(signal.SIGTERM)
    time.sleep(1)
  except process.Terminated as caught:  # as foreign code would catch it
    wrapped = SystemError("returned a result with an exception set")
    wrapped.__cause__ = caught
    sys.excepthook(SystemError, wrapped, None)
  sys.excepthook(ValueError, ValueError("a real error"), None)
  assert capsys.readouterr().err.strip() == "ValueError: a real error"
  with pytest.raises(process.Terminated):
    process.raise_if_terminated()


@pytest.mark.slow
def test_training_on_a_damaged_record_is_one_line(tmp_path):
  data = tmp_path / "data"
  _run(_build("mnist_fg/mnist", data), check=0)
  builder = tfds.builder("mnist_fg/mnist", data_dir=data)
  (path, _), = decoding.split_files(builder, "train")
  content = bytearray(path.read_bytes())
  content[len(content) // 2] ^= 0xFF
  path.write_bytes(bytes(content))
  record = _first_unreadable_by_the_library(builder, path, "train")
  proc = _run([MNIST_DERIVED, "train", "fg", "--out", str(tmp_path / "run"),
               "--epochs", "1", "--quiet", "--data_dir", str(data)], check=1)
  assert proc.stderr.strip().splitlines()[-1].startswith(
      f"error: {path}: record {record} cannot be read (")
  assert "Traceback" not in proc.stderr
