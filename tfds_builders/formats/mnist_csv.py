"""MNIST in CSV: one row per image, `label,p1,...,pN`, the pixels of an H×W image row-major.

Copies in the wild differ: some start with a header row (`label,1x1,...` or `label,pixel1,...`),
some don't; Datumaro writes label -1 for an unlabeled image. Parsing is done by numpy's C reader on
bounded chunks of lines, so a 60,000-row file is never held as Python strings per field. Only when
numpy rejects a chunk is it scanned again field by field, to name the exact line and problem.

Datumaro's `mnist_csv` exporter (`mnist_<subset>.csv`, no header) writes rows of rows x cols
pixel fields, 784 only for 28x28 images; when a subset has other sizes or ids it adds
`meta_<subset>.csv`, one row per item: `id`, `rows,cols` or `id,rows,cols` (`read_meta`, and
`sizes=` of the readers). An item without image data it writes as a row that is just `label` (or
`label,None`); those are refused by name.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import re
import pathlib
from typing import Iterator, List, Optional, Sequence, TextIO, Tuple, Union

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import dataset_meta, paths
from tfds_builders.formats.dataset_meta import ItemMeta

UNLABELED = -1
_BATCH_LINES = 4096


@dataclasses.dataclass(frozen=True)
class CsvLayout:
  """What the first lines of a file say about the rest.

  Attributes:
    has_header: whether line 1 is a header row (skipped).
    num_fields: fields per row (label + pixels) of the first row.
    image_shape: (height, width) of the images, or None when their sizes differ.
    num_rows: data rows (header and blank lines not counted).
    sizes: each row's (height, width) when a meta file gives them, else None (every row is
      image_shape).
  """
  has_header: bool
  num_fields: int
  image_shape: Optional[Tuple[int, int]]
  num_rows: int
  sizes: Optional[Tuple[Tuple[int, int], ...]] = None


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


# The widest field a row can hold is a 64-bit integer as numpy reads it ("-9223372036854775808",
# 20 characters) and its comma. Lines are read only up to what their fields can take, so that a
# line of 86 MB (3x10^7 fields) is refused as it is read, not split into 3x10^7 strings.
_FIELD_CHARS = 21
# The most pixels a row is read with when neither image_shape nor a meta file gives its size:
# 1024x1024. CSV spends about 4 characters a pixel, and a row is parsed whole.
MAX_ROW_PIXELS = 1 << 20
# numpy parses a batch of rows into int64: a batch takes at most this many bytes.
_PARSE_BYTES = 32 << 20
# A meta row is an id and two numbers; an id is a name, not a document.
_META_LINE_CHARS = 1 << 16


def _row_chars(num_fields: int) -> int:
  return num_fields * _FIELD_CHARS + 2  # "\r\n"


def _fields_text(num_fields: int) -> str:
  return f"a row of {num_fields} fields (a label and {num_fields - 1} pixel values)"


class _Lines:
  """(line number, line) of a text file, each line read no further than `max_chars`.

  `max_chars` and `what` (the widest legal line, in words) may be changed between lines.
  """

  def __init__(self, f: TextIO, path: str, max_chars: int, what: str):
    self._f, self._path = f, path
    self.max_chars, self.what = max_chars, what

  def __iter__(self) -> Iterator[Tuple[int, str]]:
    line_no = 0
    while True:
      try:
        line = self._f.readline(self.max_chars + 1)
      except UnicodeDecodeError as e:
        kind = "a text CSV file" if self._f.encoding == "ascii" else "a UTF-8 text file"
        raise SourceFormatError(self._path, f"not {kind} (line {line_no + 1}: {e.reason})") from e
      if not line:
        return
      line_no += 1
      if len(line) > self.max_chars:
        raise SourceFormatError(
            self._path, f"line {line_no} is longer than {self.max_chars} characters, the most "
            f"{self.what} can take: it is not a row of this file")
      yield line_no, line


def _open_text(path, encoding: str = "ascii") -> TextIO:
  try:
    return io.TextIOWrapper(paths.open_binary(path), encoding=encoding, newline="")
  except FileNotFoundError as e:
    raise SourceFormatError(path, "file not found") from e
  except IsADirectoryError as e:
    raise SourceFormatError(path, "is a directory, expected a file") from e


def _has_no_image(line: str) -> bool:
  """A row that is only a label, or `label,None`: Datumaro's row for an item without pixels."""
  if "," not in line:
    return True
  return line.rstrip().endswith(",None") and line.count(",") == 1


def read_layout(path: os.PathLike, image_shape: Optional[Tuple[int, int]] = None,
                sizes: Optional[Sequence[Tuple[int, int]]] = None,
                ids: Optional[Sequence[str]] = None) -> CsvLayout:
  """Reads the header decision, the row width and counts the rows (one pass, no parsing).

  `sizes` are the rows' image sizes from a meta file (`image_shape` is then not used), `ids`
  the items' ids from it, for messages. Memory stays at one line, whatever the file holds.
  """
  path = os.fspath(path)
  has_header = None
  num_fields = 0
  num_rows = 0
  no_image: List[Tuple[int, Optional[str]]] = []
  num_no_image = 0
  if sizes:
    widest = 1 + max(rows * cols for rows, cols in sizes)
    first_what = f"{_fields_text(widest)}, the largest image its meta file gives,"
  elif image_shape is not None:
    widest = 1 + math.prod(image_shape)
    first_what = _fields_text(widest)
  else:
    widest = 1 + MAX_ROW_PIXELS
    first_what = (f"a row of a label and {MAX_ROW_PIXELS} pixels (1024x1024, the largest image a "
                  "CSV row is read with)")
  with _open_text(path) as f:
    lines = _Lines(f, path, _row_chars(widest), first_what)
    for line_no, line in lines:
      if not line.strip():
        continue
      if has_header is None:
        has_header = not _is_int(line.split(",", 1)[0].strip())
        num_fields = line.count(",") + 1
        if num_fields > widest and not sizes and image_shape is None:
          raise SourceFormatError(
              path, f"line {line_no} has {num_fields} fields, more than {first_what} can have")
        if not sizes:
          lines.max_chars, lines.what = _row_chars(num_fields), _fields_text(num_fields)
        if has_header:
          continue
      if _has_no_image(line):
        num_no_image += 1
        if len(no_image) < 5:
          no_image.append((num_rows, None if ids is None or num_rows >= len(ids)
                           else ids[num_rows]))
      num_rows += 1
  if has_header is None:
    raise SourceFormatError(path, "the file is empty: no header and no data rows")
  if num_rows == 0:
    raise SourceFormatError(path, "has a header row but no data rows")
  if num_no_image:
    raise dataset_meta.no_image_error(
        path, no_image, num_no_image, num_rows,
        f"{'its row holds' if num_no_image == 1 else 'their rows hold'} no pixels (only a label, "
        "or `label,None`)")
  if num_fields < 2:
    raise SourceFormatError(path, "line 1 has 1 field; expected a label and pixel values")
  if sizes is None:
    return CsvLayout(has_header, num_fields, _image_shape(path, num_fields - 1, image_shape),
                     num_rows)
  sizes = tuple(tuple(size) for size in sizes)
  if len(sizes) != num_rows:
    raise SourceFormatError(path, f"has {num_rows} rows, but its meta file describes "
                            f"{len(sizes)} items")
  distinct = set(sizes)
  return CsvLayout(has_header, num_fields, next(iter(distinct)) if len(distinct) == 1 else None,
                   num_rows, sizes)


def _diagnose(path: str, lines: List[Tuple[int, str]], num_fields: int,
              why: str = "as on the first line") -> SourceFormatError:
  """The first problem in a chunk numpy refused, with its line number."""
  for line_no, line in lines:
    fields = line.rstrip("\r\n").split(",")
    if len(fields) != num_fields:
      return SourceFormatError(
          path, f"line {line_no} has {len(fields)} fields, expected {num_fields} (a label and "
          f"{num_fields - 1} pixel values, {why})")
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
                   batch_rows: int = _BATCH_LINES, *,
                   sizes: Optional[Sequence[Tuple[int, int]]] = None
                   ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
  """Yields (images N×H×W uint8, labels N int64; -1 = unlabeled) in file order, in batches.

  With `sizes` (a meta file's, one per row) a batch ends where the size changes, so that each
  batch is one array.
  """
  path = os.fspath(path)
  layout = read_layout(path, image_shape, sizes)

  def parse(chunk: List[Tuple[int, str]], size: Tuple[int, int]):
    num_fields = 1 + size[0] * size[1]
    why = ("as on the first line" if layout.sizes is None else
           f"for the {size[0]}x{size[1]} image its meta row gives")
    try:
      values = np.loadtxt([line for _, line in chunk], delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as e:
      raise _diagnose(path, chunk, num_fields, why) from e
    if values.shape[1] != num_fields:  # every row of the chunk agrees, but not with the size
      raise _diagnose(path, chunk, num_fields, why)
    _check_values(path, values, [n for n, _ in chunk])
    return values[:, 1:].astype(np.uint8).reshape((-1,) + size), values[:, 0]

  widest = layout.num_fields
  if layout.sizes:
    widest = max(widest, 1 + max(rows * cols for rows, cols in layout.sizes))
  batch_rows = max(1, min(batch_rows, _PARSE_BYTES // (8 * widest)))
  chunk: List[Tuple[int, str]] = []
  chunk_size = None
  row = 0
  with _open_text(path) as f:
    for line_no, line in _Lines(f, path, _row_chars(widest), _fields_text(widest)):
      if (line_no == 1 and layout.has_header) or not line.strip():
        continue
      if row == layout.num_rows:  # the file grew after read_layout counted its rows
        raise SourceFormatError(path, f"changed while it was read (it had {layout.num_rows} rows)")
      size = layout.image_shape if layout.sizes is None else layout.sizes[row]
      if chunk and (size != chunk_size or len(chunk) == batch_rows):
        yield parse(chunk, chunk_size)
        chunk = []
      chunk.append((line_no, line))
      chunk_size = size
      row += 1
  if chunk:
    yield parse(chunk, chunk_size)


def read_mnist_csv(path: os.PathLike, image_shape: Optional[Tuple[int, int]] = None, *,
                   sizes: Optional[Sequence[Tuple[int, int]]] = None
                   ) -> Tuple[Union[np.ndarray, List[np.ndarray]], np.ndarray]:
  """The whole file: (images, labels N int64; -1 = unlabeled).

  The images are one N×H×W uint8 array when they share a size, else (with a meta file's
  `sizes`) a list of H×W arrays.
  """
  batches = list(iter_mnist_csv(path, image_shape, sizes=sizes))
  labels = np.concatenate([b[1] for b in batches])
  if len({b[0].shape[1:] for b in batches}) == 1:
    return np.concatenate([b[0] for b in batches]), labels
  return [image for b in batches for image in b[0]], labels


def read_meta(path: os.PathLike, num_items: Optional[int] = None, *,
              max_items: Optional[int] = None) -> ItemMeta:
  """`meta_<subset>.csv`: the ids and/or sizes of a subset's items, one row per item.

  `num_items` is checked when given; else the file's own row count is taken, and refused above
  `max_items`. The file is read a line at a time (twice: see item_meta_from_rows).
  """
  path = os.fspath(path)

  def rows():
    with _open_text(path, encoding="utf-8") as f:
      for line_no, line in _Lines(f, path, _META_LINE_CHARS,
                                  "a meta row (an id and a size)"):
        if max_items is not None and line_no > max_items:
          raise SourceFormatError(path, f"has more than {max_items} rows, more than the "
                                  f"{max_items} items a split may have")
        # Datumaro's importer strips each line before splitting it; so does this reader.
        yield line_no, line.strip().split(",")

  return dataset_meta.item_meta_from_rows(path, rows, num_items)


_DECIMAL = [str(v) for v in range(256)]


def write_datumaro_subset(folder: os.PathLike, subset: str,
                          images: Union[np.ndarray, Sequence[np.ndarray]], labels: Sequence[int],
                          ids: Optional[Sequence[str]] = None) -> List[pathlib.Path]:
  """Writes one subset the way Datumaro's `mnist_csv` exporter does; returns the files written.

  `mnist_<subset>.csv`: no header, a row `label,pixels...` per item (label -1 = no label), each
  image at its own size; `meta_<subset>.csv` when ids or sizes differ from the defaults.
  """
  folder = pathlib.Path(folder)
  labels = [int(label) for label in labels]
  images, rows = dataset_meta.subset_to_write(images, labels, ids)
  if any(label < UNLABELED for label in labels):
    raise ValueError(f"labels are 0 or more, or {UNLABELED} for no label")
  for item_id in (ids or []) if rows is not None and len(rows[0]) != 2 else []:
    if "," in item_id or item_id != item_id.strip() or not item_id.isprintable():
      raise ValueError(f"id {item_id!r} cannot be stored in a meta CSV row (Datumaro writes "
                       "ids unquoted and strips each line)")
  lines = [",".join([str(label)] + list(map(_DECIMAL.__getitem__, image.ravel().tolist())))
           for label, image in zip(labels, images)]
  written = [folder / f"mnist_{subset}.csv"]
  written[0].write_bytes("".join(f"{line}\n" for line in lines).encode("ascii"))
  if rows is not None:
    written.append(folder / f"meta_{subset}.csv")
    written[1].write_bytes("".join(",".join(row) + "\n" for row in rows).encode("utf-8"))
  return written


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
