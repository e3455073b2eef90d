"""Exports of built datasets to the formats other tools read.

``mnist-derived export DATASET/CONFIG --format FORMAT --out DIR``:

* ``parquet`` (`parquet.py`): a Hugging Face datasets folder, Parquet shards
  and a Hub dataset card; ``datasets.load_dataset(DIR)`` reads it;
* ``coco`` (`coco.py`): PNG images and COCO detection / instance
  segmentation annotations of mosaic datasets; pycocotools reads it;
* ``croissant`` (`croissant.py`): Croissant JSON-LD metadata of a Parquet
  export, written into its folder; mlcroissant reads the records through it.

Every exporter streams a built dataset (`reading.py`), never rebuilds it,
and writes into a hidden folder that is renamed into place at the end
(`reading.atomic_folder`). Nothing here imports TensorFlow at import time.
"""
