"""A small, fast PNG encoder for the uint8 arrays the builders store.

TFDS's Image feature encodes numpy images through a TensorFlow graph call per image, which is most
of the official MNIST/smallNORB build time. A PNG of an 8-bit grey or RGB image is only a zlib
stream of its rows, each prefixed by a filter byte, between three fixed chunks; building it here
costs a zlib call and gives the same decoded pixels. The Image feature accepts the bytes as they are.

Which row filter and zlib level a builder uses is chosen for reading, not writing: a dataset is
built once and decoded every epoch, and a decoder undoes the filter of every row of every image.
`benchmarks/png_study.py` measures the choice (decode and encode cost, size) per dataset.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)
# PNG's five row filters (filter method 0), by the type byte each row starts with.
ROW_FILTERS = {"none": 0, "sub": 1, "up": 2, "average": 3, "paeth": 4}
_STRATEGIES = {"default": zlib.Z_DEFAULT_STRATEGY, "filtered": zlib.Z_FILTERED}
# Filtering in slices that fit in cache: 15x faster than one pass over a 1024-image batch.
_FILTER_SLICE = 32
_IEND = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))


def _chunk(kind: bytes, data: bytes) -> bytes:
  return struct.pack(">I", len(data)) + kind + data + struct.pack(
      ">I", zlib.crc32(data, zlib.crc32(kind)))


def _prediction(x: np.ndarray, row_filter: str, bpp: int) -> np.ndarray:
  """What the filter predicts for each byte of N×H×(W·C) int16 rows, from the unfiltered left,
  upper and upper-left bytes (zero outside the image), as the PNG specification defines it."""
  if row_filter == "up":
    up = np.zeros_like(x)
    up[:, 1:] = x[:, :-1]
    return up
  left = np.zeros_like(x)
  left[:, :, bpp:] = x[:, :, :-bpp]
  if row_filter == "sub":
    return left
  up = np.zeros_like(x)
  up[:, 1:] = x[:, :-1]
  if row_filter == "average":
    return (left + up) >> 1
  up_left = np.zeros_like(x)
  up_left[:, 1:, bpp:] = x[:, :-1, :-bpp]
  estimate = left + up - up_left
  to_left, to_up, to_up_left = (np.abs(estimate - left), np.abs(estimate - up),
                                np.abs(estimate - up_left))
  return np.where((to_left <= to_up) & (to_left <= to_up_left), left,
                  np.where(to_up <= to_up_left, up, up_left))


def _filtered(raw: np.ndarray, row_filter: str, bpp: int) -> np.ndarray:
  """raw: N×H×(W·C) uint8. Returns N×H×(1+W·C) uint8 rows with the filter type byte in front."""
  rows = np.empty(raw.shape[:2] + (raw.shape[2] + 1,), np.uint8)
  rows[:, :, 0] = ROW_FILTERS[row_filter]
  if row_filter == "none":
    rows[:, :, 1:] = raw
  else:
    x = raw.astype(np.int16)
    rows[:, :, 1:] = (x - _prediction(x, row_filter, bpp)) & 0xFF
  return rows


class PngEncoder:
  """Encodes H×W×C uint8 images of one fixed shape; the header is built once.

  row_filter: one of ROW_FILTERS, applied to every row ("none" stores rows as they are).
  strategy: zlib's "default" or "filtered" (Z_FILTERED, meant for filtered rows); None picks
  "filtered" for a filter and "default" for none. The decoded pixels are the same for every
  choice; only the size and the encode and decode costs differ.
  """

  def __init__(self, height: int, width: int, channels: int, level: int = 6,
               row_filter: str = "none", strategy: str | None = None):
    if channels not in _COLOR_TYPE:
      raise ValueError(f"PNG cannot store {channels} channels")
    if row_filter not in ROW_FILTERS:
      raise ValueError(f"unknown PNG row filter {row_filter!r}; use one of "
                       f"{', '.join(ROW_FILTERS)}")
    if strategy is None:
      strategy = "default" if row_filter == "none" else "filtered"
    if strategy not in _STRATEGIES:
      raise ValueError(f"unknown zlib strategy {strategy!r}; use one of "
                       f"{', '.join(_STRATEGIES)}")
    self.shape = (height, width, channels)
    self.level = level
    self.row_filter = row_filter
    self.strategy = strategy
    ihdr = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    self._head = _SIGNATURE + _chunk(b"IHDR", ihdr)

  def filtered_rows(self, images: np.ndarray) -> np.ndarray:
    """N×H×(1+W·C) rows, each with its filter type byte in front, for a batch of images."""
    n = images.shape[0]
    h, w, c = self.shape
    raw = images.reshape(n, h, w * c)
    if self.row_filter == "none" or n <= _FILTER_SLICE:
      return _filtered(raw, self.row_filter, c)
    return np.concatenate([_filtered(raw[i:i + _FILTER_SLICE], self.row_filter, c)
                           for i in range(0, n, _FILTER_SLICE)])

  def encode_rows(self, rows: np.ndarray) -> bytes:
    deflate = zlib.compressobj(self.level, zlib.DEFLATED, 15, 8, _STRATEGIES[self.strategy])
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
