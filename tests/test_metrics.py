"""Every metric on cases small enough to compute by hand."""

import numpy as np
import pytest

from mnist_derived.evaluation import metrics


def test_foreground_scores_by_hand():
  pred = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
  true = np.array([[1, 0, 1, 0], [1, 1, 0, 0]], bool)
  # Image 0: 1 shared of 3 -> 1/3. Image 1: 2 of 4 -> 1/2.
  # Pooled: (1 + 2) / (3 + 4).
  scores = metrics.foreground_scores(pred, true)
  assert scores["mean_image_jaccard"] == pytest.approx((1 / 3 + 1 / 2) / 2)
  assert scores["foreground_iou"] == pytest.approx(3 / 7)


def test_foreground_both_empty_counts_as_perfect():
  empty = np.zeros((1, 2, 2), bool)
  assert metrics.foreground_scores(empty, empty)["mean_image_jaccard"] == 1.0


def test_disc_jaccard_on_pixel_centers_by_hand():
  # On pixel centers (supersample 1), disc (x=2, y=2, r=1) is the plus
  # {(2,2), (1,2), (3,2), (2,1), (2,3)}; shifted one column right it shares
  # (2,2) and (3,2): 2 of 8.
  got = metrics.disc_jaccards([[2, 2, 1]], [[3, 2, 1]], 5, 5, supersample=1)
  assert got[0] == pytest.approx(2 / 8)


def test_disc_jaccard_supersampled_approaches_area_ratio():
  # Concentric discs of radius 4 and 8 inside the frame: IoU = 16/64.
  got = metrics.disc_jaccards([[14, 14, 4]], [[14, 14, 8]], supersample=8)
  assert got[0] == pytest.approx(0.25, abs=0.01)
  same = metrics.disc_jaccards([[10, 11, 7.3]], [[10, 11, 7.3]])
  assert same[0] == 1.0


def test_circle_scores_reference_rule():
  true = np.array([[10, 10, 5], [14, 14, 6], [5, 5, 3]], float)
  pred = true.copy()
  pred[1, 2] = 3  # right label, disc IoU 9/36 = 0.25 (concentric)
  labels = np.array([1, 2, 3])
  pred_labels = np.array([1, 2, 0])  # third one wrong
  scores = metrics.circle_scores(pred_labels, labels, pred, true)
  assert scores["accuracy"] == pytest.approx(2 / 3)
  assert scores["disc_jaccard_reference"] == pytest.approx((1 + 0.25) / 3,
                                                           abs=0.01)
  assert scores["disc_jaccard_correct"] == pytest.approx((1 + 0.25) / 2,
                                                         abs=0.01)
  assert scores["disc_jaccard"] == pytest.approx((1 + 0.25 + 1) / 3, abs=0.01)


def test_mosaic_reference_skips_missing_classes_mean_iou_does_not():
  true = np.array([[[0, 0, 1, 2]]])
  pred = np.array([[[0, 0, 1, 1]]])
  # Class 0: 1. Class 1: pred {2,3}, true {2}: 1/2. Class 2 missing from the
  # prediction: skipped by the reference, 0 in mean IoU (it is in the truth).
  ref = metrics.reference_mosaic_jaccards(pred, true, num_classes=3)
  assert ref[0] == pytest.approx(0.75)
  confusion = metrics.ConfusionAccumulator(3)
  confusion.add(pred, true)
  scores = confusion.scores()
  assert scores["mean_iou"] == pytest.approx((1 + 0.5 + 0) / 3)
  assert scores["pixel_accuracy"] == pytest.approx(3 / 4)
  assert scores["class_iou"] == pytest.approx([1, 0.5, 0])


def test_confusion_accumulates_over_batches():
  acc = metrics.ConfusionAccumulator(3)
  acc.add(np.array([0, 1]), np.array([0, 2]))
  acc.add(np.array([2, 2]), np.array([2, 2]))
  assert acc.matrix.sum() == 4
  assert acc.matrix[2, 1] == 1 and acc.matrix[2, 2] == 2
  # Class 2: 2 shared of 3 -> 2/3; class 1 invented -> 0; class 0 -> 1.
  assert acc.scores()["class_iou"] == pytest.approx([1, 0, 2 / 3])


def test_circles_from_normalized_round_trip():
  norm = np.array([[0.5, 0.25, 1.0]])
  np.testing.assert_allclose(metrics.circles_from_normalized(norm),
                             [[14, 7, 14 * np.sqrt(2)]])


def test_foreground_dice_and_accuracy_by_hand():
  pred = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
  true = np.array([[1, 0, 1, 0], [1, 1, 0, 0]], bool)
  # Dice: image 0: 2*1/(2+2) = 1/2, image 1: 2*2/(4+2) = 2/3; pooled
  # 2*3/(6+4); accuracy: 2 + 2 right of 8.
  scores = metrics.foreground_scores(pred, true)
  assert scores["mean_image_dice"] == pytest.approx((1 / 2 + 2 / 3) / 2)
  assert scores["foreground_dice"] == pytest.approx(6 / 10)
  assert scores["pixel_accuracy"] == pytest.approx(4 / 8)


def test_negative_predicted_radius_is_an_empty_disc():
  # Was 1.0: the rasteriser squared the radius.
  got = metrics.disc_jaccards([[14, 14, -5]], [[14, 14, 5]])
  assert got[0] == 0.0
  both_empty = metrics.disc_jaccards([[14, 14, -5]], [[3, 3, -1]])
  assert both_empty[0] == 1.0


def test_circle_errors_and_levels_by_hand():
  true = np.array([[10, 10, 5], [14, 14, 6], [5, 5, 3], [8, 8, 4]], float)
  pred = true.copy()
  pred[0, :2] += (3, 4)  # center 5 px off
  pred[1, 2] = 3  # concentric, IoU 0.25; radius 3 off
  pred[3, 2] = 4 * np.sqrt(0.8)  # concentric, IoU 0.8
  labels = np.arange(4)
  scores = metrics.circle_scores(labels, labels, pred, true)
  assert scores["center_error_mean"] == pytest.approx(5 / 4)
  assert scores["center_error_median"] == 0.0
  assert scores["radius_error_mean"] == pytest.approx(
      (3 + 4 - 4 * np.sqrt(0.8)) / 4)
  # Jaccards about: circle 0 two radius-5 discs 5 apart (~0.24), 0.25, 1,
  # 0.8: two reach 0.5 and 0.75, one reaches 0.9.
  assert scores["disc_jaccard_at_least_0.5"] == 0.5
  assert scores["disc_jaccard_at_least_0.75"] == 0.5
  assert scores["disc_jaccard_at_least_0.9"] == 0.25


def test_reference_mosaic_score_of_a_collapsed_model_is_zero():
  # Prediction all class 3, truth classes 0-2: no class in common. Was NaN.
  true = np.array([[[0, 1, 2, 0]], [[0, 0, 1, 1]]])
  pred = np.full_like(true, 3)
  pred[1] = true[1]
  got = metrics.reference_mosaic_jaccards(pred, true, num_classes=4)
  np.testing.assert_array_equal(got, [0.0, 1.0])
  scores = metrics.mosaic_scores(pred, true, num_classes=4)
  assert scores["reference_jaccard_1000"] == 0.5


def test_mean_iou_leaves_out_classes_absent_from_truth_and_prediction():
  import keras  # the convention followed
  true = np.array([[0, 0, 1, 1, 1, 3]])
  pred = np.array([[0, 1, 1, 1, 3, 3]])
  scores = metrics.mosaic_scores(pred, true, num_classes=5)
  # Class 0: 1/2, class 1: 2/4, class 3: 1/2; classes 2 and 4 absent.
  assert scores["mean_iou"] == pytest.approx(0.5)
  assert scores["class_iou"] == [0.5, 0.5, None, 0.5, None]
  reference = keras.metrics.MeanIoU(num_classes=5)
  reference.update_state(true.ravel(), pred.ravel())
  assert scores["mean_iou"] == pytest.approx(float(reference.result()))


def test_perfect_predictions_score_one_everywhere(dummy_mnist):
  from mnist_derived import geometry
  images, labels = dummy_mnist["test"]
  masks = geometry.foreground_masks(images)
  fg = metrics.foreground_scores(masks, masks)
  circles = geometry.min_enclosing_circles(masks)
  ci = metrics.circle_scores(labels, labels, circles, circles)
  classes = masks * (labels[:, None, None] + 1)
  mo = metrics.mosaic_scores(classes, classes, 11)
  for scores, keys in [(fg, ["mean_image_jaccard", "mean_image_dice",
                             "foreground_iou", "foreground_dice",
                             "pixel_accuracy"]),
                       (ci, ["accuracy", "disc_jaccard", "disc_jaccard_reference",
                             "disc_jaccard_reference_pixels",
                             "disc_jaccard_correct", "disc_jaccard_at_least_0.9"]),
                       (mo, ["mean_iou", "pixel_accuracy",
                             "reference_jaccard_1000"])]:
    for key in keys:
      assert scores[key] == 1.0, key
  assert ci["center_error_mean"] == ci["radius_error_mean"] == 0.0
