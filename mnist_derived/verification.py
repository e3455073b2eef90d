"""`mnist-derived verify`: a built dataset read back whole.

Every record of every split is read (the readers check each record's own
checksum: CRC-32C in tfrecord, a hash per chunk in array_record), every
decoded value is checked against its feature's dtype and shape, each
split's count against its dataset_info.json, and the fingerprint of each
split against the published one.
"""

import dataclasses

import numpy as np

from mnist_derived import decoding
from mnist_derived import fingerprint

# Shape and dtype problems reported per split; the rest are counted.
_MAX_LISTED = 5


@dataclasses.dataclass
class SplitReport:
  split: str
  fingerprint: str = None  # None where the split could not be read whole
  problems: list = dataclasses.field(default_factory=list)
  count: int = 0  # examples read


def value_problems(example, specs):
  """What in a decoded example differs from its features: missing or extra
  features, dtypes, shapes (None in a feature's shape: any length)."""
  found = dict(decoding.leaves(example))
  problems = [f"{path} is missing" for path in specs if path not in found]
  problems += [f"{path} is not a feature" for path in found if path not in specs]
  for path, value in found.items():
    if path not in specs:
      continue
    dtype, shape = specs[path]
    value = np.asarray(value)
    if value.dtype != dtype and value.dtype != object:
      problems.append(f"{path} is {value.dtype}, its feature {dtype}")
    if len(value.shape) != len(shape) or any(
        want is not None and got != want for got, want in zip(value.shape, shape)):
      problems.append(f"{path} has shape {value.shape}, its feature {shape}")
  return problems


def _checked(examples, specs, report, where):
  """examples, noting value problems in report as they pass."""
  count = listed = 0
  for count, example in enumerate(examples, 1):
    problems = value_problems(example, specs)
    if problems and listed < _MAX_LISTED:
      report.problems.append(f"{where}: example {count - 1}: "
                             + "; ".join(problems))
    listed += bool(problems)
    yield example
  if listed > _MAX_LISTED:
    report.problems.append(f"{where}: {listed} examples differ from their"
                           f" features in all ({_MAX_LISTED} listed)")
  report.count = count


def verify_split(builder, split):
  """A SplitReport of one split, read whole."""
  report = SplitReport(split)
  where = f"{builder.data_dir}: {split}"
  specs = decoding.feature_specs(builder.info.features)
  try:
    value = fingerprint.split_fingerprint(_checked(
        decoding.stored_examples(builder, split), specs, report, where))
  except decoding.DamagedRecord:
    report.problems += [decoding.damage_line(*found) for found in
                        decoding.damaged_records(builder, split)]
    return report
  expected = builder.info.splits[split].num_examples
  if report.count != expected:
    report.problems.append(f"{where}: {report.count} examples read,"
                           f" dataset_info.json says {expected}")
  report.fingerprint = None if report.problems else value
  return report


def verify(builder):
  """[SplitReport] of every split of a built dataset, in sorted order."""
  return [verify_split(builder, split) for split in sorted(builder.info.splits)]
