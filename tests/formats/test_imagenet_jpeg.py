"""JPEG checks by bytes: good images pass through untouched, CMYK and non-JPEG images are fixed,
damaged ones stop with the member's name; raw256 resizing."""

import io

import numpy as np
import pytest
from PIL import Image

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import jpeg


def picture(w=48, h=36, seed=0):
  rng = np.random.default_rng(seed)
  y, x = np.mgrid[0:h, 0:w]
  img = np.stack([(x * 5 + rng.integers(0, 50)) % 256, (y * 7) % 256, (x + y) * 2 % 256], -1)
  return Image.fromarray(img.astype(np.uint8), "RGB")


def encoded(image, fmt="JPEG", **kw):
  out = io.BytesIO()
  image.save(out, format=fmt, **kw)
  return out.getvalue()


def decoded(data):
  return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def test_good_jpegs_are_the_same_bytes_object():
  for image in (picture(), picture().convert("L")):
    data = encoded(image, quality=90)
    out, fix = jpeg.checked_jpeg(data, "n01440764_1.JPEG")
    assert out is data and fix is None


def test_components_are_read_from_the_frame_header():
  assert jpeg.jpeg_components(encoded(picture()), "x") == 3
  assert jpeg.jpeg_components(encoded(picture().convert("L")), "x") == 1
  assert jpeg.jpeg_components(encoded(picture().convert("CMYK")), "x") == 4
  assert jpeg.jpeg_components(encoded(picture(), progressive=True), "x") == 3


def test_cmyk_jpeg_becomes_rgb_jpeg_with_the_same_colours():
  source = encoded(picture().convert("CMYK"), quality=95)
  out, fix = jpeg.checked_jpeg(source, "n01739381_1309.JPEG")
  assert fix == jpeg.FIX_CMYK
  assert out.startswith(jpeg.JPEG_MAGIC) and jpeg.jpeg_components(out, "x") == 3
  assert Image.open(io.BytesIO(out)).mode == "RGB"
  # Re-encoded at quality 100: within JPEG rounding of Pillow's own CMYK -> RGB of the source.
  assert np.abs(decoded(out) - decoded(source)).max() <= 3


def test_png_under_a_jpeg_name_is_found_by_its_bytes_and_re_encoded():
  source = encoded(picture(), "PNG")
  out, fix = jpeg.checked_jpeg(source, "some_other_name.JPEG")
  assert fix == jpeg.FIX_NOT_JPEG and jpeg.sniff_format(source) == "PNG"
  assert jpeg.sniff_format(out) == "JPEG"
  assert np.abs(decoded(out) - np.asarray(picture(), dtype=np.int16)).max() <= 3


def test_truncated_jpeg_names_the_member():
  data = encoded(picture(64, 64))
  with pytest.raises(SourceFormatError) as e:
    jpeg.checked_jpeg(data[:-200], "n01440764_7.JPEG")
  assert str(e.value) == ("n01440764_7.JPEG: corrupt JPEG: no end-of-image marker after the image "
                          "data; the file is truncated")


def test_damaged_headers_and_non_images_name_the_member():
  data = encoded(picture())
  assert data[2:4] == b"\xff\xe0" and data[4:6] == b"\x00\x10"  # APP0, 16 bytes: next marker at 20
  with pytest.raises(SourceFormatError, match=r"^bad.JPEG: corrupt JPEG: expected a marker at "
                     r"byte 20;"):
    jpeg.checked_jpeg(data[:20] + b"\x00" * 50 + data[70:], "bad.JPEG")
  with pytest.raises(SourceFormatError, match=r"^short.JPEG: corrupt JPEG: .*truncated"):
    jpeg.checked_jpeg(data[:30], "short.JPEG")
  with pytest.raises(SourceFormatError) as e:
    jpeg.checked_jpeg(b"hello world", "text.JPEG")
  assert str(e.value) == "text.JPEG: is not an image (first bytes 68 65 6c 6c 6f 20 77 6f)"
  png = encoded(picture(), "PNG")
  with pytest.raises(SourceFormatError, match=r"^cut.JPEG: cannot be decoded as an image"):
    jpeg.checked_jpeg(png[:60], "cut.JPEG")


@pytest.mark.parametrize("size,expected", [((48, 36), (341, 256)), ((36, 52), (256, 370)),
                                           ((300, 600), (256, 512)), ((40, 40), (256, 256))])
def test_resize_shorter_side_keeps_the_aspect(size, expected):
  data = encoded(picture(*size).convert("L"))
  out = jpeg.resize_shorter_side(data, "x.JPEG", 256, 90)
  image = Image.open(io.BytesIO(out))
  assert image.format == "JPEG" and image.mode == "RGB" and image.size == expected


def test_resize_uses_lanczos_and_the_stated_quality():
  source = picture(300, 600)
  out = jpeg.resize_shorter_side(encoded(source, quality=100), "x.JPEG", 256, 90)
  reference = Image.open(io.BytesIO(encoded(source, quality=100))).resize(
      (256, 512), Image.Resampling.LANCZOS)
  assert out == encoded(reference, quality=90)
