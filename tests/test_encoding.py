"""The builders' PNG writer: every decoder reads back the exact pixels."""

import io

import cv2
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from mnist_derived.core import encoding


def _decoded(png):
  """The image as TensorFlow, OpenCV and PIL decode it."""
  return [tf.io.decode_png(png, channels=1).numpy()[..., 0],
          cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED),
          np.asarray(Image.open(io.BytesIO(png)))]


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=2,
                                              min_side=1, max_side=70)))
def test_decoders_read_back_every_pixel(image):
  for decoded in _decoded(encoding.png_bytes(image)):
    np.testing.assert_array_equal(decoded, image)


def test_batches_flat_and_busy_images(dummy_mnist):
  images, _ = dummy_mnist["train"]
  batch = np.concatenate([
      images[:20],
      np.zeros((1, 28, 28), np.uint8), np.full((1, 28, 28), 255, np.uint8),
      np.random.default_rng(0).integers(0, 256, (2, 28, 28), dtype=np.uint8)])
  pngs = encoding.png_batch(batch[..., None])  # (N, H, W, 1) as TFDS holds
  assert len(pngs) == len(batch)
  for png, image in zip(pngs, batch):
    for decoded in _decoded(png):
      np.testing.assert_array_equal(decoded, image)
  # Run-length deflate keeps digits small: smaller than OpenCV's default.
  ours = sum(map(len, pngs[:20]))
  opencv = sum(len(cv2.imencode(".png", image)[1]) for image in batch[:20])
  assert ours < opencv


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32),
                                 np.zeros((4, 4, 3), np.uint8),
                                 np.zeros(4, np.uint8)])
def test_refuses_what_is_not_one_grayscale_image(bad):
  with pytest.raises(ValueError, match="single-channel uint8 image"):
    encoding.png_bytes(bad)
