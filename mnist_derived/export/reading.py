"""What the exporters share: streaming a built split, and atomic output."""

import contextlib
import os
import pathlib
import shutil

from mnist_derived import builds
from mnist_derived import decoding
from mnist_derived.core import errors


def splits_of(builder, split=None):
  """The splits to export: the one named, else all, in the builder's order."""
  if split is None:
    return list(builder.info.splits)
  return [builds.check_split(builder, split)]


def stream(builder, split):
  """Yields the split's examples as numpy dicts, in stored order.

  Image features stay the PNG bytes stored in the build (decoding and
  re-encoding would only cost time); everything else is decoded as
  `tfds.load` decodes it. Memory does not grow with the split.
  """
  with builds.tfds_errors_only():
    yield from decoding.stored_examples(builder, split, decode_images=False)


@contextlib.contextmanager
def atomic_folder(out, overwrite=False):
  """Yields a hidden sibling folder of `out`; renames it to `out` on success.

  An interrupted export leaves only the hidden `.<name>.partial` folder
  (removed by the next export), never a folder at `out` that looks complete.
  An existing `out` is an error unless `overwrite`.
  """
  out = pathlib.Path(out)
  if out.exists() and not overwrite:
    raise errors.InputFileError(out, "already exists; pass --overwrite to"
                                " replace it")
  out.parent.mkdir(parents=True, exist_ok=True)
  partial = out.with_name(f".{out.name}.partial")
  shutil.rmtree(partial, ignore_errors=True)
  partial.mkdir()
  try:
    yield partial
  except BaseException:
    shutil.rmtree(partial, ignore_errors=True)
    raise
  if out.exists():
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(out, old)
    os.replace(partial, out)
    shutil.rmtree(old)
  else:
    os.replace(partial, out)


# A builder defined outside its dataset's folder (a test's smaller config)
# sets TFDS's `pkg_dir_path` and `code_path` to its dataset's folder and
# builder file (see tests/builder_testing.py), so TFDS reads that folder.
def card_text(builder):
  """The dataset card (its folder's README.md, as TFDS read it)."""
  return builder.info.description.strip()


def citations(builder):
  """Its folder's CITATIONS.bib, as TFDS read it."""
  return builder.info.citation.strip()


def tags(builder):
  """Its folder's TAGS.txt, as TFDS read them."""
  return list(type(builder).get_metadata().tags)


def source_checksums(builder, source):
  """{file: sha256} of the source's files, from its folder's checksums.tsv
  (the canonical mirror's files)."""
  return {url[len(source.url):]: info.checksum
          for url, info in sorted((type(builder).url_infos or {}).items())
          if url.startswith(source.url)}


def describe(feature):
  """A leaf feature's TFDS doc, plus the conventions a reader outside TFDS
  needs: the box order and range, the names of class ids."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  parts = [feature.doc.desc] if feature.doc and feature.doc.desc else []
  if isinstance(feature, tfds.features.BBoxFeature):
    parts.append("(ymin, xmin, ymax, xmax) in [0, 1] along pixel edges"
                 " (TFDS's convention)")
  if isinstance(feature, (tfds.features.ClassLabel,
                          tfds.features.LabeledImage)):
    parts.append("classes: " + ", ".join(
        f"{i} = {n}" for i, n in enumerate(feature.names)))
  return "; ".join(parts)
