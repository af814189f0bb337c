"""MNIST in CSV: one row per image, `label,p1,...,pN`, the pixels of an H×W image row-major.

Copies in the wild differ: some start with a header row (`label,1x1,...` or `label,pixel1,...`),
some don't; Datumaro writes label -1 for an unlabeled image. Parsing is done by numpy's C reader on
bounded chunks of lines, so a 60,000-row file is never held as Python strings per field. Only when
numpy rejects a chunk is it scanned again field by field, to name the exact line and problem.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import re
from typing import Iterator, List, Optional, TextIO, Tuple

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import paths

UNLABELED = -1
_BATCH_LINES = 4096


@dataclasses.dataclass(frozen=True)
class CsvLayout:
  """What the first lines of a file say about the rest.

  Attributes:
    has_header: whether line 1 is a header row (skipped).
    num_fields: fields per row (label + pixels).
    image_shape: (height, width) of the images.
    num_rows: data rows (header and blank lines not counted).
  """
  has_header: bool
  num_fields: int
  image_shape: Tuple[int, int]
  num_rows: int


# What numpy's integer parser accepts; Python's int() also takes "1_000", which numpy refuses.
_INT_RE = re.compile(r"^\s*[+-]?[0-9]+\s*$")
_INT64 = np.iinfo(np.int64)


def _is_int(text: str) -> bool:
  return bool(_INT_RE.match(text))


def _image_shape(path: str, num_pixels: int,
                 image_shape: Optional[Tuple[int, int]]) -> Tuple[int, int]:
  if image_shape is not None:
    if math.prod(image_shape) != num_pixels:
      raise SourceFormatError(
          path, f"rows have {num_pixels} pixels, expected {math.prod(image_shape)} for "
          f"{image_shape[0]}x{image_shape[1]} images")
    return tuple(image_shape)
  side = math.isqrt(num_pixels)
  if side * side != num_pixels:
    raise SourceFormatError(
        path, f"rows have {num_pixels} pixels, which is not a square image; pass image_shape")
  return side, side


def _open_text(path) -> TextIO:
  try:
    return io.TextIOWrapper(paths.open_binary(path), encoding="ascii", newline="")
  except FileNotFoundError as e:
    raise SourceFormatError(path, "file not found") from e
  except IsADirectoryError as e:
    raise SourceFormatError(path, "is a directory, expected a file") from e


def read_layout(path: os.PathLike, image_shape: Optional[Tuple[int, int]] = None) -> CsvLayout:
  """Reads the header decision, the row width and counts the rows (one pass, no parsing)."""
  path = os.fspath(path)
  has_header = None
  num_fields = 0
  num_rows = 0
  with _open_text(path) as f:
    try:
      for line in f:
        if not line.strip():
          continue
        if has_header is None:
          fields = line.rstrip("\r\n").split(",")
          has_header = not _is_int(fields[0].strip())
          num_fields = len(fields)
          if has_header:
            continue
        num_rows += 1
    except UnicodeDecodeError as e:
      raise SourceFormatError(path, f"not a text CSV file (byte {e.start}: {e.reason})") from e
  if has_header is None:
    raise SourceFormatError(path, "the file is empty: no header and no data rows")
  if num_rows == 0:
    raise SourceFormatError(path, "has a header row but no data rows")
  if num_fields < 2:
    raise SourceFormatError(path, "line 1 has 1 field; expected a label and pixel values")
  return CsvLayout(has_header, num_fields, _image_shape(path, num_fields - 1, image_shape),
                   num_rows)


def _diagnose(path: str, lines: List[Tuple[int, str]], num_fields: int) -> SourceFormatError:
  """The first problem in a chunk numpy refused, with its line number."""
  for line_no, line in lines:
    fields = line.rstrip("\r\n").split(",")
    if len(fields) != num_fields:
      return SourceFormatError(
          path, f"line {line_no} has {len(fields)} fields, expected {num_fields} (a label and "
          f"{num_fields - 1} pixel values, as on the first line)")
    for column, text in enumerate(fields, 1):
      what = "label" if column == 1 else f"pixel {column - 1}"
      if not _is_int(text):
        return SourceFormatError(
            path, f"line {line_no}, field {column} ({what}): {text.strip()!r} is not an integer")
      if not _INT64.min <= int(text) <= _INT64.max:
        return SourceFormatError(
            path, f"line {line_no}, field {column} ({what}): " +
            (f"{text.strip()} does not fit in a 64-bit integer" if column == 1 else
             f"value {text.strip()} is outside 0..255"))
  return SourceFormatError(path, "could not be parsed as integer CSV")


def _check_values(path: str, values: np.ndarray, line_numbers: List[int]) -> None:
  labels, pixels = values[:, 0], values[:, 1:]
  bad_pixels = (pixels < 0) | (pixels > 255)
  if bad_pixels.any():
    row, column = np.argwhere(bad_pixels)[0]
    raise SourceFormatError(
        path, f"line {line_numbers[row]}, field {column + 2} (pixel {column + 1}): value "
        f"{int(pixels[row, column])} is outside 0..255")
  bad_labels = labels < UNLABELED
  if bad_labels.any():
    row = int(np.argmax(bad_labels))
    raise SourceFormatError(
        path, f"line {line_numbers[row]}, field 1 (label): {int(labels[row])} is negative; only "
        f"{UNLABELED} (no label) is allowed below 0")


def iter_mnist_csv(path: os.PathLike, image_shape: Optional[Tuple[int, int]] = None,
                   batch_rows: int = _BATCH_LINES
                   ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
  """Yields (images N×H×W uint8, labels N int64; -1 = unlabeled) in file order, in batches."""
  path = os.fspath(path)
  layout = read_layout(path, image_shape)
  height, width = layout.image_shape

  def parse(chunk: List[Tuple[int, str]]):
    try:
      values = np.loadtxt([line for _, line in chunk], delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as e:
      raise _diagnose(path, chunk, layout.num_fields) from e
    if values.shape[1] != layout.num_fields:  # every row of the chunk agrees, but not with line 1
      raise _diagnose(path, chunk, layout.num_fields)
    _check_values(path, values, [n for n, _ in chunk])
    return values[:, 1:].astype(np.uint8).reshape(-1, height, width), values[:, 0]

  chunk: List[Tuple[int, str]] = []
  with _open_text(path) as f:
    for line_no, line in enumerate(f, 1):
      if (line_no == 1 and layout.has_header) or not line.strip():
        continue
      chunk.append((line_no, line))
      if len(chunk) == batch_rows:
        yield parse(chunk)
        chunk = []
  if chunk:
    yield parse(chunk)


def read_mnist_csv(path: os.PathLike, image_shape: Optional[Tuple[int, int]] = None
                   ) -> Tuple[np.ndarray, np.ndarray]:
  """The whole file: (images N×H×W uint8, labels N int64; -1 = unlabeled)."""
  batches = list(iter_mnist_csv(path, image_shape))
  return (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))


def mnist_csv_bytes(images: np.ndarray, labels: np.ndarray, header: bool = False) -> bytes:
  """Encodes images and labels as MNIST CSV (the inverse of read_mnist_csv)."""
  images = np.asarray(images)
  flat = images.reshape(len(images), -1)
  lines = []
  if header:
    height, width = images.shape[1:3]
    lines.append(",".join(["label"] + [f"{r}x{c}" for r in range(1, height + 1)
                                       for c in range(1, width + 1)]))
  for label, row in zip(labels, flat):
    lines.append(",".join([str(int(label))] + [str(int(v)) for v in row]))
  return ("\n".join(lines) + "\n").encode("ascii")
