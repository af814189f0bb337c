"""The PNG encoder: decoded pixels equal the array, for every filter, channel count and level."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfds_builders.formats.png import PngEncoder


@pytest.mark.parametrize("row_filter", ["none", "paeth"])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("level", [1, 6, 9])
def test_decoded_pixels_equal_the_array(row_filter, channels, level):
  rng = np.random.default_rng(channels * 10 + level)
  images = rng.integers(0, 256, size=(6, 13, 17, channels), dtype=np.uint8)
  images[0] = 0
  images[1] = 255
  images[2] = np.arange(13 * 17 * channels).reshape(13, 17, channels) % 256  # smooth ramps
  encoder = PngEncoder(13, 17, channels, level=level, row_filter=row_filter)
  for image, png in zip(images, encoder.encode_batch(images)):
    with Image.open(io.BytesIO(png)) as decoded:
      pixels = np.asarray(decoded)
    np.testing.assert_array_equal(pixels.reshape(image.shape), image)
    np.testing.assert_array_equal(tf.io.decode_png(png, channels=channels).numpy(), image)
  assert encoder.encode(images[3]) == next(encoder.encode_batch(images[3:4]))


def test_paeth_filter_makes_photographs_smaller():
  y, x = np.mgrid[0:96, 0:96]
  photo = ((x * 2 + y + np.random.default_rng(0).normal(0, 3, (96, 96))) % 256).astype(np.uint8)
  plain = len(PngEncoder(96, 96, 1).encode(photo[..., None]))
  paeth = len(PngEncoder(96, 96, 1, row_filter="paeth").encode(photo[..., None]))
  assert paeth < plain


def test_bad_arguments():
  with pytest.raises(ValueError, match="PNG cannot store 2 channels"):
    PngEncoder(4, 4, 2)
  with pytest.raises(ValueError, match="unknown PNG row filter 'up'; use 'none' or 'paeth'"):
    PngEncoder(4, 4, 1, row_filter="up")


def test_paeth_batches_larger_than_one_slice():
  images = np.random.default_rng(5).integers(0, 256, size=(70, 9, 11, 1), dtype=np.uint8)
  encoder = PngEncoder(9, 11, 1, row_filter="paeth")
  pngs = list(encoder.encode_batch(images))
  assert len(pngs) == 70
  for image, png in zip(images, pngs):
    np.testing.assert_array_equal(tf.io.decode_png(png).numpy(), image)
