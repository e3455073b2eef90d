"""Comparisons of exported records with the examples tfds.load gives."""

import numpy as np


def _assert_equal_values(got, want, key):
  """A value read back (PIL image, list, number) against tfds.load's."""
  if hasattr(got, "mode"):  # PIL image: tfds gives (H, W, 1)
    np.testing.assert_array_equal(np.asarray(got), want[..., 0], err_msg=key)
    return
  got = np.asarray(got, dtype=want.dtype) if np.size(want) else np.asarray(got)
  np.testing.assert_array_equal(got.reshape(np.shape(want)), want,
                                err_msg=key)


def assert_same_example(row, ex):
  for key, want in ex.items():
    if isinstance(want, dict):
      for sub, sub_want in want.items():
        _assert_equal_values(row[key][sub], sub_want, f"{key}/{sub}")
    else:
      _assert_equal_values(row[key], want, key)


def records_as_rows(records):
  """mlcroissant records ({"split/field": value}) as nested rows."""
  for record in records:
    row = {}
    for key, value in record.items():
      path = key.split("/", 1)[1]
      if "/" in path:
        parent, child = path.split("/")
        row.setdefault(parent, {})[child] = value
      else:
        row[path] = value
    yield row
