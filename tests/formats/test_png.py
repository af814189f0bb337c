"""The PNG encoder: decoded pixels equal the array, for every filter, strategy, channel count and
level."""

import io
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfds_builders.formats.png import ROW_FILTERS, PngEncoder


def _edge_cases(rng, count, height, width, channels):
  images = rng.integers(0, 256, size=(count, height, width, channels), dtype=np.uint8)
  images[0] = 0
  images[1] = 255
  images[2] = np.arange(height * width * channels).reshape(height, width, channels) % 256  # ramps
  # Large steps both ways: every predictor over- and under-flows a byte somewhere.
  images[3] = np.where((np.arange(width) % 2 == 0)[None, :, None], 255, 0)
  images[4] = np.where((np.arange(height) % 2 == 0)[:, None, None], 0, 254)
  return images


@pytest.mark.parametrize("row_filter", list(ROW_FILTERS))
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_decoded_pixels_equal_the_array(row_filter, channels, level):
  rng = np.random.default_rng(channels * 10 + level)
  images = _edge_cases(rng, 7, 13, 17, channels)
  encoder = PngEncoder(13, 17, channels, level=level, row_filter=row_filter)
  for image, png in zip(images, encoder.encode_batch(images)):
    with Image.open(io.BytesIO(png)) as decoded:
      pixels = np.asarray(decoded)
    np.testing.assert_array_equal(pixels.reshape(image.shape), image)
    np.testing.assert_array_equal(tf.io.decode_png(png, channels=channels).numpy(), image)
  assert encoder.encode(images[5]) == next(encoder.encode_batch(images[5:6]))


@pytest.mark.parametrize("row_filter", list(ROW_FILTERS))
def test_every_row_carries_the_filter_type_and_the_stream_is_the_strategy_asked(row_filter):
  image = np.random.default_rng(3).integers(0, 256, size=(6, 5, 1), dtype=np.uint8)
  for strategy in ("default", "filtered"):
    png = PngEncoder(6, 5, 1, level=6, row_filter=row_filter, strategy=strategy).encode(image)
    length = int.from_bytes(png[33:37], "big")
    assert png[37:41] == b"IDAT"
    rows = zlib.decompress(png[41:41 + length])
    assert [rows[r * 6] for r in range(6)] == [ROW_FILTERS[row_filter]] * 6
    tf_pixels = tf.io.decode_png(png).numpy()
    np.testing.assert_array_equal(tf_pixels, image)
  # Defaults: Z_FILTERED suits filtered rows, the default strategy unfiltered ones.
  assert PngEncoder(6, 5, 1, row_filter=row_filter).strategy == (
      "default" if row_filter == "none" else "filtered")


def test_paeth_filter_makes_photographs_smaller():
  y, x = np.mgrid[0:96, 0:96]
  photo = ((x * 2 + y + np.random.default_rng(0).normal(0, 3, (96, 96))) % 256).astype(np.uint8)
  plain = len(PngEncoder(96, 96, 1).encode(photo[..., None]))
  paeth = len(PngEncoder(96, 96, 1, row_filter="paeth").encode(photo[..., None]))
  assert paeth < plain


def test_bad_arguments():
  with pytest.raises(ValueError, match="PNG cannot store 2 channels"):
    PngEncoder(4, 4, 2)
  with pytest.raises(ValueError, match="unknown PNG row filter 'adaptive'; use one of none, sub, "
                     "up, average, paeth"):
    PngEncoder(4, 4, 1, row_filter="adaptive")
  with pytest.raises(ValueError, match="unknown zlib strategy 'rle'; use one of default, "
                     "filtered"):
    PngEncoder(4, 4, 1, strategy="rle")


@pytest.mark.parametrize("row_filter", ["up", "paeth"])
def test_batches_larger_than_one_filter_slice(row_filter):
  images = np.random.default_rng(5).integers(0, 256, size=(70, 9, 11, 1), dtype=np.uint8)
  encoder = PngEncoder(9, 11, 1, row_filter=row_filter)
  pngs = list(encoder.encode_batch(images))
  assert len(pngs) == 70
  for image, png in zip(images, pngs):
    np.testing.assert_array_equal(tf.io.decode_png(png).numpy(), image)
