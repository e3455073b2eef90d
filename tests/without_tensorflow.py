"""Runs `mnist-derived` as if TensorFlow were not installed.

    python tests/without_tensorflow.py VERB ...

(the test builders of tests/builder_testing.py registered too).
Python's path finder is replaced by one that does not see `tensorflow`, so
`importlib.util.find_spec` (how TFDS and etils look for it) finds nothing and
`import tensorflow` fails as it does where it is not installed. At exit the
script fails if any module of TensorFlow was loaded.
"""

import importlib.machinery
import sys


class PathFinderWithoutTensorFlow(importlib.machinery.PathFinder):

  @classmethod
  def find_spec(cls, fullname, path=None, target=None):
    if fullname.partition(".")[0] == "tensorflow":
      return None
    return super().find_spec(fullname, path, target)


def hide_tensorflow():
  sys.meta_path[:] = [PathFinderWithoutTensorFlow
                      if f is importlib.machinery.PathFinder else f
                      for f in sys.meta_path]


def loaded_tensorflow():
  return sorted(m for m in sys.modules
                if m == "tensorflow" or m.startswith("tensorflow."))


if __name__ == "__main__":
  hide_tensorflow()
  sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1]))
  import tests.builder_testing  # noqa: F401  pylint: disable=g-import-not-at-top
  from mnist_derived.cli import main  # pylint: disable=g-import-not-at-top
  try:
    status = main(sys.argv[1:])
  finally:
    if loaded_tensorflow():
      print(f"TensorFlow was imported: {loaded_tensorflow()}", file=sys.stderr)
      sys.exit(99)
  sys.exit(status)
