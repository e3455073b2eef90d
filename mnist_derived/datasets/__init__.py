"""One folder per dataset; importing this registers each folder's builder
(`<folder>/<folder>_dataset_builder.py`) with TFDS."""

import importlib
import pkgutil

for _folder in pkgutil.iter_modules(__path__):
  if _folder.ispkg:
    importlib.import_module(
        f"{__name__}.{_folder.name}.{_folder.name}_dataset_builder")
