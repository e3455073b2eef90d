"""mnist-derived export: each format read back by its own library, values
compared with tfds.load's for every example of the dummy builds."""

import json
import time
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
import yaml

from mnist_derived import cli
from mnist_derived.export import parquet
from tests.conftest import DUMMY_BUILDS
from tests.conftest import DUMMY_SCATTER
from tests.conftest import REPO
from tests.export_checks import assert_same_example
from tests.export_checks import records_as_rows
from tests.test_score import score_command

datasets = pytest.importorskip("datasets")
pycocotools_coco = pytest.importorskip("pycocotools.coco")
from pycocotools import mask as mask_utils  # noqa: E402  pylint: disable=g-import-not-at-top
from pycocotools.cocoeval import COCOeval  # noqa: E402  pylint: disable=g-import-not-at-top

ALL = [*DUMMY_BUILDS.values(), DUMMY_SCATTER]
MOSAICS = [DUMMY_BUILDS["mosaic"], DUMMY_SCATTER]
from tests.commands import MNIST_DERIVED  # noqa: E402


def _export(name, fmt, out, data_dir, *extra):
  import tests.builder_testing  # noqa: F401  (registers the tiny mosaics)
  return cli.main(["export", name, "--format", fmt, "--out", str(out), "--data_dir",
                   str(data_dir), *extra])


def _tfds_examples(name, split, data_dir):
  """{index: example} of a split, as tfds.load decodes it."""
  import tests.builder_testing  # noqa: F401
  return {int(ex["index"]): ex for ex in tfds.as_numpy(
      tfds.load(name, split=split, data_dir=data_dir))}


@pytest.fixture(scope="module")
def parquet_exports(dummy_data_dir, tmp_path_factory):
  out = tmp_path_factory.mktemp("parquet")
  for name in ALL:
    assert _export(name, "parquet", out / name.replace("/", "_"),
                   dummy_data_dir) == 0
  return out


@pytest.mark.parametrize("name", ALL)
def test_parquet_loads_in_datasets_with_tfds_values(name, parquet_exports,
                                                    dummy_data_dir):
  folder = parquet_exports / name.replace("/", "_")
  loaded = datasets.load_dataset(str(folder))
  builder = tfds.builder(name, data_dir=dummy_data_dir)
  assert set(loaded) == set(builder.info.splits)
  for split in builder.info.splits:
    want = _tfds_examples(name, split, dummy_data_dir)
    rows = loaded[split]
    assert len(rows) == len(want)
    for row in rows:
      assert_same_example(row, want[row["index"]])
  features = loaded["train"].features
  label = features["objects"]["label"].feature if "objects" in features \
      else features["label"]
  assert isinstance(label, datasets.ClassLabel)
  assert label.names == [str(d) for d in range(10)]
  for key in ("image", "mask", "instances"):
    if key in features:
      assert isinstance(features[key], datasets.Image)


def test_parquet_card_has_the_hub_header(parquet_exports):
  text = (parquet_exports / "mnist_circles_mnist" / "README.md").read_text()
  _, header, body = text.split("---\n", 2)
  meta = yaml.safe_load(header)
  assert meta["license"] == "cc-by-sa-3.0"
  assert set(meta["task_categories"]) == {"image-classification",
                                          "object-detection"}
  assert sorted(meta["configs"][0]["data_files"], key=str) == [
      {"path": f"data/{s}-*", "split": s} for s in ("test", "train")]
  names = [f["name"] for f in meta["dataset_info"]["features"]]
  assert names == ["image", "label", "circle", "circle_normalized", "bbox",
                   "index"]
  citations = (REPO / "mnist_derived" / "datasets" / "mnist_circles"
               / "CITATIONS.bib").read_text().strip()
  assert citations in body
  assert "`circle` (Tensor)" in body


def test_parquet_shards_split_by_size(dummy_data_dir, tmp_path, monkeypatch):
  monkeypatch.setattr(parquet, "ROWS_PER_GROUP", 4)
  monkeypatch.setattr(parquet, "MAX_SHARD_BYTES", 1)  # a shard per group
  assert _export("mnist_fg/mnist", "parquet", tmp_path / "fg", dummy_data_dir,
                 "--split", "test") == 0
  count = tfds.builder("mnist_fg/mnist", data_dir=dummy_data_dir
                       ).info.splits["test"].num_examples
  shards = sorted(p.name for p in (tmp_path / "fg" / "data").iterdir())
  expected = -(-count // 4)
  assert shards == [f"test-{k:05d}-of-{expected:05d}.parquet"
                    for k in range(expected)]
  assert len(datasets.load_dataset(str(tmp_path / "fg"))["test"]) == count


def test_an_interrupted_export_leaves_no_folder(dummy_data_dir, tmp_path,
                                                monkeypatch):
  def fail(*args, **kwargs):
    raise KeyboardInterrupt

  monkeypatch.setattr(parquet, "dataset_card", fail)  # after every shard
  with pytest.raises(SystemExit) as stopped:  # the command's Ctrl-C status
    _export("mnist_fg/mnist", "parquet", tmp_path / "fg", dummy_data_dir)
  assert stopped.value.code == 130
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", MOSAICS)
def test_coco_is_read_by_pycocotools_and_scores_itself_perfectly(
    name, dummy_data_dir, tmp_path):
  assert _export(name, "coco", tmp_path / "coco", dummy_data_dir,
                 "--split", "test") == 0
  truth = pycocotools_coco.COCO(
      str(tmp_path / "coco" / "annotations" / "instances_test.json"))
  want = _tfds_examples(name, "test", dummy_data_dir)
  assert sorted(truth.getImgIds()) == sorted(want)
  assert [c["name"] for c in truth.loadCats(truth.getCatIds())] == [
      str(d) for d in range(10)]
  for index, ex in want.items():
    png = tmp_path / "coco" / "images" / "test" / f"{index}.png"
    np.testing.assert_array_equal(
        tf.io.decode_png(png.read_bytes()).numpy(), ex["image"])
    anns = truth.loadAnns(truth.getAnnIds(imgIds=[index]))
    height, width = ex["image"].shape[:2]
    owned = [k for k in range(len(ex["objects"]["label"]))
             if (ex["instances"][..., 0] == k + 1).any()]
    assert len(anns) == len(owned)
    for ann, k in zip(anns, owned):
      pixels = ex["instances"][..., 0] == k + 1
      np.testing.assert_array_equal(truth.annToMask(ann), pixels)
      assert ann["area"] == pixels.sum()
      assert ann["category_id"] == ex["objects"]["label"][k] + 1
      ymin, xmin, ymax, xmax = ex["objects"]["bbox"][k]
      np.testing.assert_allclose(
          ann["bbox"], [xmin * width, ymin * height, (xmax - xmin) * width,
                        (ymax - ymin) * height], atol=1e-4)
  results = [{"image_id": a["image_id"], "category_id": a["category_id"],
              "bbox": a["bbox"], "segmentation": mask_utils.frPyObjects(
                  a["segmentation"], *a["segmentation"]["size"]),
              "score": 1.0} for a in truth.loadAnns(truth.getAnnIds())]
  for result in results:
    result["segmentation"]["counts"] = result["segmentation"]["counts"].decode()
  for iou_type in ("bbox", "segm"):
    evaluation = COCOeval(truth, truth.loadRes(results), iou_type)
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[:3].tolist() == [1.0, 1.0, 1.0]


def test_croissant_validates_and_reads_the_parquet_records(
    parquet_exports, dummy_data_dir):
  mlc = pytest.importorskip("mlcroissant")
  name = DUMMY_SCATTER
  folder = parquet_exports / name.replace("/", "_")
  assert _export(name, "croissant", folder, dummy_data_dir) == 0
  dataset = mlc.Dataset(jsonld=str(folder / "croissant.json"))
  issues = dataset.metadata.ctx.issues
  assert not issues.errors and not issues.warnings, issues.report()
  first = (folder / "croissant.json").read_bytes()
  time.sleep(1.1)  # a clock in the metadata would now differ
  assert _export(name, "croissant", folder, dummy_data_dir) == 0
  assert (folder / "croissant.json").read_bytes() == first
  document = json.loads(first)
  assert document["license"] == "CC BY-SA 3.0"
  assert document["rai:personalSensitiveInformation"]
  assert len(document["isBasedOn"]["distribution"]) == 4
  for split in ("train", "validation", "test"):
    want = _tfds_examples(name, split, dummy_data_dir)
    records = list(dataset.records(record_set=split))
    assert len(records) == len(want)
    for row in records_as_rows(records):
      assert_same_example(row, want[row["index"]])


@pytest.mark.slow
@pytest.mark.parametrize("args,problem", [
    (["mnist_fg/mnist", "--format", "coco"], "the coco export does not apply to it"),
    (["mnist_fg/mnist", "--format", "croissant"], "holds no Parquet export"),
    (["mnist_fg/mnist", "--format", "parquet", "--split", "valid"],
     "has no split 'valid'"),
    (["mnist_fg/kmnist", "--format", "parquet"], "is not built in"),
])
def test_bad_requests_fail_in_one_line(args, problem, dummy_data_dir,
                                       tmp_path):
  out = tmp_path / "out"
  proc = subprocess.run(
      [MNIST_DERIVED, "export", *args, "--out", str(out), "--data_dir", str(dummy_data_dir)],
      capture_output=True, text=True, cwd=REPO, check=False)
  assert proc.returncode == 1
  lines = proc.stderr.strip().splitlines()
  assert lines[-1].startswith("error: ") and problem in lines[-1], proc.stderr
  assert not any(line.startswith("Traceback") for line in lines)
  assert not out.exists()


def test_an_existing_folder_needs_overwrite(dummy_data_dir, tmp_path, capsys):
  (tmp_path / "fg").mkdir()
  (tmp_path / "fg" / "keep.txt").write_text("mine")
  with pytest.raises(SystemExit):
    _export("mnist_fg/mnist", "parquet", tmp_path / "fg", dummy_data_dir)
  assert "already exists; pass --overwrite" in capsys.readouterr().err
  assert (tmp_path / "fg" / "keep.txt").exists()
  assert _export("mnist_fg/mnist", "parquet", tmp_path / "fg", dummy_data_dir,
                 "--overwrite") == 0
  assert sorted(os.listdir(tmp_path / "fg")) == ["README.md", "data"]


def _score_detections(path, data_dir, name=DUMMY_SCATTER):
  return subprocess.run(
      [*score_command(name), "--detections", str(path), "--data_dir",
       str(data_dir)],
      capture_output=True, text=True, cwd=REPO, check=False)


@pytest.fixture(scope="module")
def coco_truth(dummy_data_dir, tmp_path_factory):
  out = tmp_path_factory.mktemp("coco") / "scatter"
  assert _export(DUMMY_SCATTER, "coco", out, dummy_data_dir, "--split",
                 "test") == 0
  return out / "annotations" / "instances_test.json"


@pytest.mark.slow
def test_detections_are_scored_as_pycocotools_scores_them(
    coco_truth, dummy_data_dir, tmp_path):
  truth = pycocotools_coco.COCO(str(coco_truth))
  anns = truth.loadAnns(truth.getAnnIds())
  rng = np.random.default_rng(0)
  # Boxes shifted by up to 3 pixels, one class wrong, random scores.
  detections = [{"image_id": a["image_id"], "category_id": a["category_id"],
                 "bbox": [a["bbox"][0] + float(rng.integers(0, 4)),
                          *a["bbox"][1:]], "score": float(rng.random())}
                for a in anns]
  detections[0]["category_id"] = detections[0]["category_id"] % 10 + 1
  path = tmp_path / "detections.json"
  path.write_text(json.dumps(detections))
  proc = _score_detections(path, dummy_data_dir)
  assert proc.returncode == 0, proc.stderr
  scores = json.loads(proc.stdout)
  evaluation = COCOeval(truth, truth.loadRes(str(path)), "bbox")
  evaluation.evaluate()
  evaluation.accumulate()
  evaluation.summarize()
  assert scores["bbox"] == {"AP": evaluation.stats[0],
                            "AP50": evaluation.stats[1],
                            "AP75": evaluation.stats[2]}
  assert 0.2 < scores["bbox"]["AP"] < 1  # the shifts really cost AP
  assert scores["detections"] == len(detections) and "segm" not in scores


def _scatter_test_examples(data_dir):
  from mnist_derived import decoding  # pylint: disable=g-import-not-at-top
  builder = tfds.builder(DUMMY_SCATTER, data_dir=data_dir)
  examples = sorted(decoding.stored_examples(builder, "test"),
                    key=lambda ex: ex["index"])
  return (np.array([ex["index"] for ex in examples]),
          np.stack([ex["instances"][..., 0] for ex in examples]),
          np.stack([ex["mask"][..., 0] for ex in examples]))


@pytest.mark.slow
def test_results_of_the_truth_score_ap_1(dummy_data_dir, tmp_path):
  from mnist_derived.evaluation import detections  # pylint: disable=g-import-not-at-top
  index, instances, mask = _scatter_test_examples(dummy_data_dir)
  certain = np.eye(11, dtype=np.float32)[mask]
  path = tmp_path / "truth.json"
  path.write_text(json.dumps(detections.results_of(index, instances * 3,
                                                   mask, certain)))
  proc = _score_detections(path, dummy_data_dir)
  assert proc.returncode == 0, proc.stderr
  scores = json.loads(proc.stdout)
  assert scores["segm"]["AP"] == scores["bbox"]["AP"] == 1.0


def _class_components(class_map):
  """(class, pixels) of each 8-connected region of one digit class, by
  OpenCV (independent of skimage's labelling)."""
  import cv2  # pylint: disable=g-import-not-at-top
  regions = []
  for value in range(1, 11):
    count, labels = cv2.connectedComponents(
        (class_map == value).astype(np.uint8), connectivity=8)
    regions += [(value - 1, labels == k) for k in range(1, count)]
  return regions


def test_results_of_a_class_map_are_its_regions_as_pycocotools_reads_them():
  from mnist_derived.evaluation import detections  # pylint: disable=g-import-not-at-top
  from mnist_derived.evaluation import instances  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(5)
  # Blobs of a few classes on background, as a semantic model's output.
  logits = rng.normal(size=(3, 20, 24, 11)).astype(np.float32)
  logits[..., 0] += 2.5
  probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  class_maps = probabilities.argmax(-1)
  results = detections.results_of(
      [7, 8, 9], instances.components(class_maps), class_maps, probabilities)
  for image_id, class_map, probs in zip([7, 8, 9], class_maps, probabilities):
    mine = [r for r in results if r["image_id"] == image_id]
    regions = _class_components(class_map)
    assert len(mine) == len(regions) > 5
    decoded = [mask_utils.decode(mask_utils.frPyObjects(
        r["segmentation"], 20, 24)).astype(bool) for r in mine]
    for digit, pixels in regions:
      (k,) = [k for k, d in enumerate(decoded) if np.array_equal(d, pixels)]
      assert mine[k]["category_id"] == digit + 1
      assert mine[k]["score"] == pytest.approx(
          probs[..., digit + 1][pixels].mean(), abs=1e-6)
      rle = mask_utils.encode(np.asfortranarray(pixels.astype(np.uint8)))
      assert mine[k]["bbox"] == mask_utils.toBbox(rle).tolist()


def _bad_detections(truth_anns):
  good = {"image_id": truth_anns[0]["image_id"], "category_id": 1,
          "bbox": [1, 2, 3, 4], "score": 0.5}
  return [
      ("not JSON", "{oops", "not a JSON file"),
      ("not a list", {"a": 1}, "expected a non-empty JSON list"),
      ("empty", [], "expected a non-empty JSON list"),
      ("unknown image", [dict(good, image_id=10**6)], "image_id 1000000"),
      ("category 0", [dict(good, category_id=0)], "category_id 0 is not"),
      ("category 11", [dict(good, category_id=11)], "category_id 11"),
      ("NaN score", [dict(good, score=float("nan"))], "score nan"),
      ("string score", [dict(good, score="1")], "score '1'"),
      ("negative width", [dict(good, bbox=[0, 0, -1, 2])], "bbox [0, 0, -1, 2]"),
      ("three numbers", [dict(good, bbox=[0, 0, 1])], "bbox [0, 0, 1]"),
      ("no geometry", [{k: v for k, v in good.items() if k != "bbox"}],
       "neither 'bbox' nor 'segmentation'"),
      ("mixed kinds", [good, dict(good, segmentation={"size": [64, 64],
                                                      "counts": [4096]})],
       "detection 1 has ['bbox', 'segmentation']"),
      ("wrong mask size", [dict(good, segmentation={"size": [28, 28],
                                                    "counts": [784]})],
       "segmentation is not an RLE"),
      ("no score", [{k: v for k, v in good.items() if k != "score"}],
       "has no 'score'"),
  ]


@pytest.mark.slow
def test_bad_detections_are_refused_in_one_line(coco_truth, dummy_data_dir,
                                                tmp_path):
  anns = json.loads(coco_truth.read_text())["annotations"]
  for case, content, problem in _bad_detections(anns):
    path = tmp_path / f"{case.replace(' ', '_')}.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    proc = _score_detections(path, dummy_data_dir)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (case, proc.stderr)
    assert lines[-1].startswith(f"error: {path}: "), (case, proc.stderr)
    assert problem in lines[-1], (case, lines[-1])
    assert not any(line.startswith("Traceback") for line in lines), case
