"""What a dataset says of itself, beside its builder, for the rest of the package.

Each dataset folder holds a `declaration.py` whose DECLARATION its builder
carries as a class attribute (so a subclass, a test's smaller config,
inherits it). The scorer, `show`, the exporters and the Croissant card read
it, and switch on no dataset or feature name.
"""

import dataclasses
from typing import Callable, Optional

from mnist_derived.core import errors


@dataclasses.dataclass(frozen=True)
class Scoring:
  """How a dataset's predictions are checked and scored.

  check: (path, predictions, number of examples, DatasetInfo) -> checked
  arrays; it needs no ground truth, so a bad file is refused before any is
  read. score: (checked predictions, truth, DatasetInfo) -> scores.
  """

  arrays: tuple  # names a predictions file must hold besides `index`
  truth: tuple  # features of the dataset the scores need
  check: Callable
  score: Callable
  optional: tuple = ()  # names it may hold too
  # {optional name: the features its scores need besides `truth`}
  optional_truth: dict = dataclasses.field(default_factory=dict)

  def truth_for(self, names):
    """The features the scores of predictions holding `names` need."""
    extra = [f for name in names for f in self.optional_truth.get(name, ())]
    return tuple(dict.fromkeys((*self.truth, *extra)))


@dataclasses.dataclass(frozen=True)
class Drawing:
  """How `show` draws an example: `rows` panels one above the other.

  panel: (axes, one a row; example; FeaturesDict) -> None.
  legend: (figure, FeaturesDict) -> None, under the panels, in the bottom
  `legend_height` of the figure.
  """

  panel: Callable
  rows: int = 1
  legend: Optional[Callable] = None
  legend_height: float = 0.0
  # The most examples side by side, and a panel's width in heights (a
  # strip of frames is wide).
  columns: int = 8
  panel_width: float = 1.0


# The features the rest of the package reads by name: every dataset's, and
# those of a dataset declaring an export, with the kinds each may be (a
# sequence dataset's `image` is a Sequence of frames).
_EVERY_DATASET = {"image": ("Image", "Sequence"), "index": ("Scalar",)}
_EXPORT_FEATURES = {"coco": {"instances": ("Image",),
                             "objects/label": ("ClassLabel",),
                             "objects/bbox": ("BBoxFeature",)}}


@dataclasses.dataclass(frozen=True)
class Declaration:
  scoring: Scoring
  drawing: Drawing
  # What the data cannot show, as the card and Croissant's
  # rai:dataLimitations say it.
  limitations: tuple
  # Formats of `mnist-derived export` that apply beside Parquet and
  # Croissant, which apply to every dataset: ("coco",) for objects with
  # instance masks.
  exports: tuple = ()
  # How each value is computed from the source, as Croissant's
  # rai:dataPreprocessingProtocol says it.
  preprocessing: tuple = ()
  # Hugging Face Hub task categories of the Parquet export's card.
  hub_tasks: tuple = ()

  def check_features(self, builder):
    """Raises TypeError when the dataset lacks a feature the package reads
    by name (`image`, `index`; for the COCO export `instances` and
    `objects`' `label` and `bbox`), or has it of another kind: when its
    builder is created, not deep inside an export."""
    needed = dict(_EVERY_DATASET)
    for export_format in self.exports:
      needed.update(_EXPORT_FEATURES.get(export_format, {}))
    for path, allowed in needed.items():
      feature = _feature_at(builder.info.features, path)
      kinds = [c.__name__ for c in type(feature).__mro__]
      if feature is None or not set(allowed) & set(kinds):
        found = (f"have it as a {type(feature).__name__}" if feature is not None
                 else "lack it")
        raise TypeError(
            f"{builder.name}: the package reads its feature '{path}' as a"
            f" {' or '.join(allowed)}, but its features {found} (see the"
            " README's \"Adding a dataset\")")


def of(builder):
  """The Declaration of a builder (class or instance)."""
  declaration = getattr(builder, "DECLARATION", None)
  if not isinstance(declaration, Declaration):
    raise errors.InputError(
        f"{builder.name}: its builder has no DECLARATION (see the README's"
        " \"Adding a dataset\")")
  return declaration


# What a dataset that declares an export holds, for the refusals of others.
_EXPORT_NEEDS = {"coco": "objects with instance masks"}


def _feature_at(features, path):
  """The feature at 'objects/label' (inside a Sequence), or None."""
  node = features
  for part in path.split("/"):
    node = getattr(node, "feature", node)  # a Sequence's inner features
    if part not in getattr(node, "keys", lambda: ())():
      return None
    node = node[part]
  return node


def check_export(builder, export_format):
  """Refuses an export format the dataset does not declare."""
  if export_format in ("parquet", "croissant"):
    return
  declared = of(builder).exports
  if export_format not in declared:
    others = ", ".join(("parquet", "croissant", *declared))
    raise errors.InputError(
        f"{builder.name}/{builder.builder_config.name}: the {export_format}"
        f" export does not apply to it (it is for datasets of"
        f" {_EXPORT_NEEDS.get(export_format, export_format)}); its exports"
        f" are {others}")
