"""A small, fast PNG encoder for the uint8 arrays the builders store.

TFDS's Image feature encodes numpy images through a TensorFlow graph call per image, which is most
of the official MNIST/smallNORB build time. A PNG of an 8-bit grey or RGB image is only a zlib
stream of its rows, each prefixed by a filter byte, between three fixed chunks; building it here
costs a zlib call and gives the same decoded pixels. The Image feature accepts the bytes as they are.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)
_PAETH_SLICE = 32
_IEND = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))


def _chunk(kind: bytes, data: bytes) -> bytes:
  return struct.pack(">I", len(data)) + kind + data + struct.pack(
      ">I", zlib.crc32(data, zlib.crc32(kind)))


def _paeth_rows(raw: np.ndarray, bpp: int) -> np.ndarray:
  """Rows filtered with PNG's Paeth predictor (filter type 4), for a whole batch at once.

  Paeth predicts each byte from its unfiltered left, upper and upper-left neighbours, so every
  row of every image can be filtered in one numpy pass. On photographs (smallNORB) it makes the
  deflate stream about a quarter smaller than unfiltered rows, smaller than TensorFlow's encoder.

  raw: N×H×(W·C) uint8. Returns N×H×(1+W·C) uint8 with the filter type byte in front.
  """
  x = raw.astype(np.int16)
  left = np.zeros_like(x)
  left[:, :, bpp:] = x[:, :, :-bpp]
  up = np.zeros_like(x)
  up[:, 1:] = x[:, :-1]
  up_left = np.zeros_like(x)
  up_left[:, 1:, bpp:] = x[:, :-1, :-bpp]
  estimate = left + up - up_left
  to_left, to_up, to_up_left = (np.abs(estimate - left), np.abs(estimate - up),
                                np.abs(estimate - up_left))
  prediction = np.where((to_left <= to_up) & (to_left <= to_up_left), left,
                        np.where(to_up <= to_up_left, up, up_left))
  rows = np.empty(raw.shape[:2] + (raw.shape[2] + 1,), np.uint8)
  rows[:, :, 0] = 4
  rows[:, :, 1:] = (x - prediction) & 0xFF
  return rows


class PngEncoder:
  """Encodes H×W×C uint8 images of one fixed shape; the header is built once.

  row_filter="none" stores rows unfiltered: fastest, and best for sparse images such as MNIST
  digits. row_filter="paeth" filters every row with Paeth and deflates with zlib's Z_FILTERED
  strategy, which suits filtered data: smaller files for photographs such as smallNORB's.
  """

  def __init__(self, height: int, width: int, channels: int, level: int = 6,
               row_filter: str = "none"):
    if channels not in _COLOR_TYPE:
      raise ValueError(f"PNG cannot store {channels} channels")
    if row_filter not in ("none", "paeth"):
      raise ValueError(f"unknown PNG row filter {row_filter!r}; use 'none' or 'paeth'")
    self.shape = (height, width, channels)
    self.level = level
    self.row_filter = row_filter
    self._strategy = zlib.Z_FILTERED if row_filter == "paeth" else zlib.Z_DEFAULT_STRATEGY
    ihdr = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    self._head = _SIGNATURE + _chunk(b"IHDR", ihdr)

  def filtered_rows(self, images: np.ndarray) -> np.ndarray:
    """N×H×(1+W·C) rows, each with its filter type byte in front, for a batch of images."""
    n = images.shape[0]
    h, w, c = self.shape
    raw = images.reshape(n, h, w * c)
    if self.row_filter == "paeth":
      # In slices that fit in cache: 15x faster than one pass over a 1024-image batch.
      return np.concatenate([_paeth_rows(raw[i:i + _PAETH_SLICE], bpp=c)
                             for i in range(0, n, _PAETH_SLICE)]) if n else _paeth_rows(raw, c)
    rows = np.zeros((n, h, 1 + w * c), dtype=np.uint8)
    rows[:, :, 1:] = raw
    return rows

  def encode_rows(self, rows: np.ndarray) -> bytes:
    deflate = zlib.compressobj(self.level, zlib.DEFLATED, 15, 8, self._strategy)
    idat = deflate.compress(rows.tobytes()) + deflate.flush()
    return self._head + _chunk(b"IDAT", idat) + _IEND

  def encode(self, image: np.ndarray) -> bytes:
    image = np.asarray(image, dtype=np.uint8).reshape(self.shape)
    return self.encode_rows(self.filtered_rows(image[None])[0])

  def encode_batch(self, images: np.ndarray):
    """Yields the PNG bytes of each image of an N×H×W[×C] uint8 batch."""
    rows = self.filtered_rows(np.asarray(images, dtype=np.uint8))
    for r in rows:
      yield self.encode_rows(r)
