"""Hugging Face datasets export: Parquet shards and a Hub dataset card.

The folder is what the Hub serves for a dataset repository:

    README.md                              card, with the YAML header the Hub
                                           and `datasets` read
    data/<split>-00000-of-0000N.parquet    the examples, with the
                                           `datasets.Features` in the schema

`datasets.load_dataset(DIR)` loads it with the same features everywhere:
images and masks as `Image` (the build's own PNG bytes), labels as
`ClassLabel` with the source's class names, objects as lists, circles and
boxes as floats in the TFDS conventions the card states.
"""

import pathlib

import numpy as np

from mnist_derived import declarations
from mnist_derived import decoding
from mnist_derived.core import encoding
from mnist_derived.core import errors
from mnist_derived.export import reading

# Rows per Parquet row group, and the PNG bytes after which a new shard
# starts: shards of at most a few hundred MB, as the Hub prefers.
ROWS_PER_GROUP = 1000
MAX_SHARD_BYTES = 256 << 20


def _datasets():
  try:
    import datasets  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise errors.InputError(
        "the parquet export needs Hugging Face `datasets`: pip install"
        " 'mnist-derived[hf]'") from None
  return datasets


def hub_features(tfds_features):
  """The `datasets.Features` of a TFDS FeaturesDict.

  Image (masks too) -> Image; ClassLabel -> ClassLabel with its names; a
  scalar -> Value; a fixed-shape tensor (boxes, circles, positions, a path
  per frame) -> nested Lists of those lengths; a Sequence of a dict -> a
  dict of Lists, as `datasets` stores sequences of records; a Sequence of
  images (a sequence's frames) -> a List of Images.
  """
  hf = _datasets()
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  def convert(feature):
    if isinstance(feature, tfds.features.Sequence):
      inner = feature.feature
      length = _sequence_length(feature)
      if isinstance(inner, tfds.features.FeaturesDict):
        return {k: hf.List(convert(v), length=length)
                for k, v in inner.items()}
      return hf.List(convert(inner), length=length)
    if isinstance(feature, tfds.features.FeaturesDict):
      return {k: convert(v) for k, v in feature.items()}
    if isinstance(feature, tfds.features.Image):
      return hf.Image()
    if isinstance(feature, tfds.features.ClassLabel):
      return hf.ClassLabel(names=list(feature.names))
    value = hf.Value(np.dtype(feature.np_dtype).name)
    if None in feature.shape:
      raise TypeError(f"no Hugging Face feature for {feature!r}")
    for length in reversed(feature.shape):  # (frames, 2): lists of lists
      value = hf.List(value, length=length)
    return value

  return hf.Features(convert(tfds_features))


def _sequence_length(sequence):
  """A TFDS Sequence's fixed length, or -1 (its shapes lead with it)."""
  shapes = sequence.shape
  first = next(iter(shapes.values())) if isinstance(shapes, dict) else shapes
  return first[0] if first[0] is not None else -1


def _row(example, image_keys, frame_keys=()):
  """A `tfds` numpy example (images as PNG bytes, frames decoded) as plain
  Python values."""
  row = {}
  for key, value in example.items():
    if key in image_keys:
      row[key] = {"bytes": bytes(value), "path": None}
    elif key in frame_keys:  # PNG again, as the build encoded them
      row[key] = [{"bytes": frame, "path": None}
                  for frame in encoding.png_batch(value)]
    elif isinstance(value, dict):
      row[key] = {k: v.tolist() for k, v in value.items()}
    else:
      row[key] = value.tolist()
  return row


def write_split(builder, split, folder, features):
  """Writes one split's shards into folder/data; returns (shards, bytes)."""
  import pyarrow as pa  # pylint: disable=g-import-not-at-top
  import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top
  keys = decoding.image_keys(builder.info.features)
  frames = decoding.frame_keys(builder.info.features)
  schema = features.arrow_schema
  data = pathlib.Path(folder) / "data"
  data.mkdir(exist_ok=True)
  shards, writer, rows, shard_bytes, total = [], None, [], 0, 0

  def flush():
    nonlocal rows
    if rows:
      writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=schema))
      rows = []

  for example in reading.stream(builder, split):
    if writer is None:
      shards.append(data / f".{split}-{len(shards):05d}.parquet")
      writer = pq.ParquetWriter(shards[-1], schema)
      shard_bytes = 0
    rows.append(features.encode_example(_row(example, keys, frames)))
    shard_bytes += sum(len(example[k]) for k in keys)
    if len(rows) == ROWS_PER_GROUP:
      flush()
      if shard_bytes >= MAX_SHARD_BYTES:
        writer.close()
        writer = None
  if writer is None and not shards:  # an empty split still gets a file
    shards.append(data / f".{split}-00000.parquet")
    writer = pq.ParquetWriter(shards[-1], schema)
  if writer is not None:
    flush()
    writer.close()
  # Hub names need the shard count, known only now.
  for k, shard in enumerate(shards):
    final = data / f"{split}-{k:05d}-of-{len(shards):05d}.parquet"
    shard.rename(final)
    total += final.stat().st_size
  return len(shards), total


def hub_license(source):
  """The Hub's license id of a source's license ("CC BY-SA 3.0" -> ...)."""
  return source.license.lower().replace(" ", "-")


def hub_tasks(builder):
  return sorted(declarations.of(builder).hub_tasks)


def _field_lines(tfds_features, prefix=""):
  """One Markdown line per leaf feature: its name, type and TFDS doc."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  lines = []
  for key, feature in tfds_features.items():
    name = f"{prefix}{key}"
    inner = feature.feature if isinstance(feature,
                                          tfds.features.Sequence) else feature
    if isinstance(inner, tfds.features.FeaturesDict):
      lines.append(f"- `{name}`: one list per field, one entry per object")
      lines += _field_lines(inner, prefix=f"{name}.")
      continue
    doc = reading.describe(inner)
    kind = type(inner).__name__
    lines.append(f"- `{name}` ({kind}){': ' + doc if doc else ''}")
  return lines


def dataset_card(builder, features, split_sizes):
  """The README.md of the export: YAML header, then what and how."""
  hf = _datasets()
  from datasets.info import DatasetInfosDict  # pylint: disable=g-import-not-at-top
  from huggingface_hub import DatasetCardData  # pylint: disable=g-import-not-at-top
  import mnist_derived  # pylint: disable=g-import-not-at-top
  from mnist_derived.core import sources  # pylint: disable=g-import-not-at-top
  config = builder.builder_config
  source = sources.SOURCES[config.source]
  card_data = DatasetCardData(
      license=hub_license(source),
      task_categories=hub_tasks(builder),
      pretty_name=f"{builder.name}/{config.name}",
      size_categories=[_size_category(sum(n for n, _ in split_sizes.values()))],
      tags=["mnist-derived", builder.name, source.name],
      configs=[{
          "config_name": config.name,
          "data_files": [{"split": split, "path": f"data/{split}-*"}
                         for split in split_sizes],
          "default": True,
      }],
  )
  info = hf.DatasetInfo(
      features=features, config_name=config.name,
      splits=hf.SplitDict({split: hf.SplitInfo(split, num_bytes=size,
                                               num_examples=count)
                           for split, (count, size) in split_sizes.items()}))
  DatasetInfosDict({config.name: info}).to_dataset_card_data(card_data)
  body = "\n".join([
      f"# {builder.name}/{config.name}",
      "",
      f"{config.description} Exported from the TFDS build of"
      f" `{builder.name}/{config.name}` version {builder.version} by"
      f" mnist-derived {mnist_derived.__version__} (`mnist-derived export`);"
      " values are those `tfds.load` gives, example for example.",
      "",
      "```python",
      "import datasets",
      'ds = datasets.load_dataset("<this folder or repository>")',
      "```",
      "",
      "## Fields",
      "",
      *_field_lines(builder.info.features),
      "",
      "## How it was made",
      "",
      reading.card_text(builder),
      "",
      f"Source: {source.name} ({source.homepage}), license {source.license}.",
      "",
      "## Citation",
      "",
      "```bibtex",
      reading.citations(builder),
      "```",
      "",
  ])
  return f"---\n{card_data.to_yaml()}\n---\n\n{body}"


def _size_category(count):
  for limit, name in [(1_000, "n<1K"), (10_000, "1K<n<10K"),
                      (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]:
    if count < limit:
      return name
  return "1M<n<10M"


def export(builder, out, split=None, overwrite=False):
  """Writes the Parquet export of a built dataset to `out`; returns a summary."""
  features = hub_features(builder.info.features)
  split_sizes, shards = {}, 0
  with reading.atomic_folder(out, overwrite) as folder:
    for name in reading.splits_of(builder, split):
      count, size = write_split(builder, name, folder, features)
      shards += count
      split_sizes[name] = (builder.info.splits[name].num_examples, size)
    (folder / "README.md").write_text(
        dataset_card(builder, features, split_sizes))
  return {"format": "parquet", "out": str(out), "shards": shards,
          "examples": {s: n for s, (n, _) in split_sizes.items()}}
