"""Checking JPEG bytes without decoding them, and the few fixes that need a decode.

ImageNet's 1.28 M images are kept as the JPEG bytes they came as. Decoding each one only to check it
is most of the cost of the official builder, so the checks here read the marker segments (a few
hundred bytes at the front) and look for the end-of-image marker at the back. A full decode with
Pillow happens only when the bytes say a fix is needed: a 4-component (CMYK/YCCK) JPEG, which many
decoders show with wrong colours, or another format (a PNG) under a .JPEG name.
"""

from __future__ import annotations

import io
from typing import Optional, Tuple

from PIL import Image

from tfds_builders.errors import SourceFormatError

JPEG_MAGIC = b"\xff\xd8\xff"
_NOT_JPEG_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
# Start-of-frame markers (baseline, extended, progressive, lossless; Huffman and arithmetic).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SOS, _EOI = 0xDA, 0xD9
# Markers that stand alone, without a length field.
_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])

FIX_CMYK = "cmyk_to_rgb"
FIX_NOT_JPEG = "to_jpeg"
# The quality the fixed images are re-encoded at: the official imagenet2012 uses the same, so the
# few fixed images are as close to their source as JPEG allows.
FIX_QUALITY = 100
# Pillow allocates the whole image before decoding it and only warns below 179 M pixels, so a
# damaged header claiming a giant image would cost gigabytes before failing. ILSVRC2012's largest
# image has under 20 M pixels.
MAX_PIXELS = 1 << 26


def sniff_format(data: bytes) -> Optional[str]:
  """'JPEG', 'PNG', 'GIF', 'BMP', 'TIFF' from the magic bytes, or None."""
  if data.startswith(JPEG_MAGIC):
    return "JPEG"
  for magic, name in _NOT_JPEG_MAGIC:
    if data.startswith(magic):
      return name
  return None


def jpeg_components(data: bytes, name: str) -> int:
  """The number of colour components in the frame header (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK).

  Walks the marker segments up to the first scan and checks that the image ends with an
  end-of-image marker after it: entropy-coded data never contains FF D9 (a data FF is always
  followed by 00), so a missing one means the file was cut short. This is a structural check, not
  a decode: damage inside the scan data is not seen.
  """
  n = len(data)
  if not data.startswith(JPEG_MAGIC):
    raise SourceFormatError(name, "is not a JPEG (no start-of-image marker FF D8)")
  components = None
  i = 2
  while True:
    if i >= n or data[i] != 0xFF:
      raise SourceFormatError(
          name, f"corrupt JPEG: expected a marker at byte {i}; the file is damaged or truncated")
    while i < n and data[i] == 0xFF:  # fill bytes
      i += 1
    if i >= n:
      raise SourceFormatError(name, "corrupt JPEG: truncated inside the headers")
    marker = data[i]
    i += 1
    if marker in _STANDALONE:
      continue
    if marker == _EOI:
      raise SourceFormatError(name, "corrupt JPEG: end-of-image marker before any image data")
    if i + 2 > n:
      raise SourceFormatError(name, "corrupt JPEG: truncated inside the headers")
    length = (data[i] << 8) | data[i + 1]
    if length < 2 or i + length > n:
      raise SourceFormatError(
          name, f"corrupt JPEG: segment FF {marker:02X} at byte {i - 2} claims {length} bytes; "
          "the file is damaged or truncated")
    if marker in _SOF_MARKERS:
      if length < 8:
        raise SourceFormatError(name, f"corrupt JPEG: frame header FF {marker:02X} is too short")
      height, width = (data[i + 3] << 8) | data[i + 4], (data[i + 5] << 8) | data[i + 6]
      check_pixels(width, height, name)
      components = data[i + 7]
      if components not in (1, 3, 4):
        raise SourceFormatError(name, f"corrupt JPEG: the frame header says {components} colour "
                                "components (a photograph has 1, 3 or 4)")
    if marker == _SOS:
      break
    i += length
  if components is None:
    raise SourceFormatError(name, "corrupt JPEG: image data starts before any frame header")
  if data.rfind(b"\xff\xd9", i) < 0:
    raise SourceFormatError(
        name, "corrupt JPEG: no end-of-image marker after the image data; the file is truncated")
  return components


def check_pixels(width: int, height: int, name: str) -> None:
  """Refuses a size no ImageNet photograph has, before anything is decoded or stored.

  Checked on the frame header of every JPEG, kept as bytes or not: a 1.4 KB file claiming
  60000x60000 would otherwise be stored, and fail inside every later pass over the split.
  """
  if width == 0 or height == 0:
    raise SourceFormatError(name, f"claims to be {width}x{height}: an image with no pixels (or "
                            "a height left to a DNL marker, which image decoders do not support)")
  if width * height > MAX_PIXELS:
    raise SourceFormatError(
        name, f"claims to be {width}x{height} ({width * height} pixels), more than "
        f"{MAX_PIXELS}: the image header is damaged")


def _decode(data: bytes, name: str) -> Image.Image:
  try:
    image = Image.open(io.BytesIO(data))
    check_pixels(*image.size, name)
    image.load()
  except SourceFormatError:
    raise
  except Exception as e:  # Pillow raises many types for bad bytes; all mean the same here
    raise SourceFormatError(name, f"cannot be decoded as an image ({e})") from e
  return image


def _to_jpeg(image: Image.Image, quality: int, full_chroma: bool = False) -> bytes:
  if image.mode != "RGB":
    image = image.convert("RGB")
  out = io.BytesIO()
  # Fixed images keep full-resolution colour (4:4:4): they are few, and halving the chroma of an
  # image that was already JPEG-compressed once would move its colours visibly.
  image.save(out, format="JPEG", quality=quality, subsampling=0 if full_chroma else -1)
  return out.getvalue()


def checked_jpeg(data: bytes, name: str) -> Tuple[bytes, Optional[str]]:
  """The image as an RGB-or-grey JPEG, and which fix was applied (None, FIX_CMYK, FIX_NOT_JPEG).

  Good JPEGs are returned as the very same bytes object; only images the bytes show to need a fix
  are decoded. Raises SourceFormatError naming `name` for anything that is not a usable image.
  """
  kind = sniff_format(data)
  if kind == "JPEG":
    if jpeg_components(data, name) == 4:
      return _to_jpeg(_decode(data, name), FIX_QUALITY, full_chroma=True), FIX_CMYK
    return data, None
  if kind is None:
    raise SourceFormatError(name, f"is not an image (first bytes {data[:8].hex(' ')})")
  return _to_jpeg(_decode(data, name), FIX_QUALITY, full_chroma=True), FIX_NOT_JPEG


def resize_shorter_side(data: bytes, name: str, size: int, quality: int) -> bytes:
  """The image resized so its shorter side is `size` (Lanczos, aspect kept), as an RGB JPEG."""
  image = _decode(data, name)
  width, height = image.size
  scale = size / min(width, height)
  target = (max(1, round(width * scale)), max(1, round(height * scale)))
  if image.mode != "RGB":
    image = image.convert("RGB")
  if target != image.size:
    image = image.resize(target, Image.Resampling.LANCZOS)
  return _to_jpeg(image, quality)
