"""Croissant metadata of a Parquet export: `croissant.json` in its folder.

One RecordSet per split, reading that split's Parquet shards; one Field per
feature (images as ImageObject from the PNG bytes, ClassLabels as integers
with their names in the description, vectors and objects as arrays). The
Responsible-AI fields say how the data was collected and derived, what it
cannot be used for and that it holds no personal data; the provenance names
the source dataset, its files' SHA-256 and this package's version.
"""

import datetime
import hashlib
import json
import pathlib

import numpy as np

from mnist_derived import declarations
from mnist_derived import files
from mnist_derived.core import errors
from mnist_derived.core import sources
from mnist_derived.export import reading

FILENAME = "croissant.json"


def _mlcroissant():
  try:
    import mlcroissant  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise errors.InputError("the croissant export needs mlcroissant: pip"
                            " install 'mnist-derived[hf]'") from None
  return mlcroissant


def _build_time(builder):
  """When the build was made (its dataset_info.json's time, UTC, whole
  seconds): the same build exports the same bytes, whenever exported."""
  info = pathlib.Path(builder.data_dir) / "dataset_info.json"
  return datetime.datetime.fromtimestamp(
      int(info.stat().st_mtime), datetime.timezone.utc)


def _sha256(path):
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def _fields(mlc, tfds_features, split):
  """The Fields of one split's RecordSet, one per top-level feature."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  file_set = f"parquet-{split}"

  def field(name, feature, column, json_path=None, in_sequence=False):
    transforms = [mlc.Transform(json_path=json_path)] if json_path else []
    description = reading.describe(feature)
    shape = list(feature.shape) if not in_sequence else [-1, *feature.shape]
    if isinstance(feature, tfds.features.Image):
      data_type = mlc.DataType.IMAGE_OBJECT
      transforms.append(mlc.Transform(json_path="bytes"))
      shape = [-1] if in_sequence else []  # a list of frames
    elif np.dtype(feature.np_dtype).kind == "f":
      data_type = mlc.DataType.FLOAT
    else:
      data_type = mlc.DataType.INTEGER
    return mlc.Field(
        id=f"{split}/{name}", name=name, description=description or None,
        data_types=[data_type],
        is_array=bool(shape) or None,
        array_shape=",".join(str(-1 if d is None else d) for d in shape)
        if shape else None,
        source=mlc.Source(file_set=file_set,
                          extract=mlc.Extract(column=column),
                          transforms=transforms))

  fields = []
  for key, feature in tfds_features.items():
    if isinstance(feature, tfds.features.Sequence):
      inner = feature.feature
      if isinstance(inner, tfds.features.Image):
        fields.append(field(key, inner, key, in_sequence=True))
        continue
      for sub, sub_feature in inner.items():
        fields.append(field(f"{key}/{sub}", sub_feature, key, json_path=sub,
                            in_sequence=True))
    else:
      fields.append(field(key, feature, key))
  return fields


def _distribution(mlc, folder):
  """(FileObjects and FileSets of the export's Parquet shards, split names)."""
  shards = sorted((pathlib.Path(folder) / "data").glob("*.parquet"))
  split_names = sorted({shard.name.split("-")[0] for shard in shards})
  files = [
      mlc.FileObject(
          id=f"parquet/{shard.name}", name=shard.name,
          content_url=f"data/{shard.name}",
          encoding_formats=["application/x-parquet"],
          sha256=_sha256(shard))
      for shard in shards
  ] + [
      mlc.FileSet(
          id=f"parquet-{split}", name=f"parquet-{split}",
          description=f"The {split} split's Parquet shards",
          encoding_formats=["application/x-parquet"],
          includes=[f"data/{split}-*.parquet"])
      for split in split_names
  ]
  return files, split_names


def _responsible_ai(source, name, version, checksums, package, declaration):
  """The Croissant RAI fields, as mlcroissant.Metadata's arguments."""
  return dict(
      data_collection=(
          f"No new data was collected. Every example is computed"
          f" deterministically from the {source.name} IDX files (the source"
          f" files' SHA-256: {checksums}) by {package}, `{name}` version"
          f" {version}; the same version and config give the same values on"
          " any machine."),
      data_collection_type=["Derived from an existing dataset"],
      data_preprocessing_protocol=list(declaration.preprocessing) or [
          "Every value is computed from the source's pixels and labels; see"
          " the description."],
      data_annotation_protocol=[
          "No human annotation: every label is the source's class label and"
          " every mask, box and circle is computed from the pixels."],
      machine_annotation_tools=[package],
      data_biases=[
          f"Inherits {source.name}'s biases: its writers or items, its"
          " centring, size normalisation and anti-aliasing; the class"
          " balance of its splits."],
      data_limitations=list(declaration.limitations),
      data_use_cases=[
          "Teaching and benchmarking segmentation, detection and"
          " localisation on small images; testing data pipelines."],
      personal_sensitive_information=[
          "None: images of handwritten digits or of catalogue items, with no"
          " information about the people who wrote or photographed them."],
  )


def _is_based_on(source, checksums):
  """Provenance in plain schema.org terms: the source and its files."""
  return {
      "@type": "sc:Dataset", "name": source.name, "url": source.homepage,
      "license": source.license, "distribution": [
          {"@type": "cr:FileObject", "name": f, "sha256": digest,
           "contentUrl": source.url + f}
          for f, digest in checksums.items()],
  }


def metadata(builder, folder):
  """The Croissant JSON-LD (a dict) of the Parquet export in `folder`."""
  mlc = _mlcroissant()
  import mnist_derived  # pylint: disable=g-import-not-at-top
  package = f"mnist-derived {mnist_derived.__version__}"
  config = builder.builder_config
  source = sources.SOURCES[config.source]
  distribution, split_names = _distribution(mlc, folder)
  record_sets = [
      mlc.RecordSet(id=split, name=split,
                    description=f"The {split} split, one record per example",
                    fields=_fields(mlc, builder.info.features, split))
      for split in split_names
  ]
  checksums = reading.source_checksums(builder, source)
  name = f"{builder.name}/{config.name}"
  meta = mlc.Metadata(
      name=name.replace("/", "_"),
      description=(f"{config.description} Version {builder.version}, built by"
                   f" {package} from {source.name} ({source.homepage}).\n\n"
                   + reading.card_text(builder)),
      url=source.homepage, version=str(builder.version),
      license=[source.license], cite_as=reading.citations(builder),
      creators=[mlc.Organization(name=package)],
      date_published=_build_time(builder),
      keywords=["mnist-derived", builder.name, source.name, "MNIST"],
      distribution=distribution, record_sets=record_sets,
      **_responsible_ai(source, name, builder.version, checksums, package,
                        declarations.of(builder)))
  document = meta.to_json()
  document["isBasedOn"] = _is_based_on(source, checksums)
  return document


def export(builder, out, split=None, overwrite=False):
  """Writes croissant.json into the Parquet export at `out`."""
  del overwrite  # croissant.json is always rewritten, atomically
  folder = pathlib.Path(out)
  shards = sorted((folder / "data").glob("*.parquet"))
  if not shards:
    raise errors.InputFileError(
        folder, "holds no Parquet export: run `mnist-derived export"
        f" {builder.name}/{builder.builder_config.name} --format parquet"
        f" --out {folder}` first")
  if split is not None and not any(s.name.startswith(f"{split}-")
                                   for s in shards):
    raise errors.InputFileError(folder, f"holds no {split!r} shards")
  document = metadata(builder, folder)
  files.write_text(folder / FILENAME, json.dumps(document, indent=2) + "\n")
  return {"format": "croissant", "out": str(folder / FILENAME),
          "record_sets": [rs["name"] for rs in document["recordSet"]]}
