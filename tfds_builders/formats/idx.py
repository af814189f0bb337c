"""The IDX format of MNIST and its family (Fashion-MNIST, KMNIST, EMNIST, QMNIST).

Layout: a 4-byte magic `00 00 TT ND` (TT the element type, ND the number of dimensions), ND
big-endian uint32 dimension sizes, then the elements big-endian in row-major order. The first
dimension is the number of items. QMNIST's `idx2-int` label files are the same format with TT=0x0C
and two dimensions, so they need no special case.

Datumaro's `mnist` exporter writes the format its own way, and its files are read here too
(`read_image_items`, `read_meta`, `write_datumaro_subset`):
- the images header is `[0x00000803, P, 28, 28]` where P is the number of *pixels* written, not
  of images, whatever the images' sizes (Datumaro's own importer ignores the count);
- images of other sizes than 28x28 follow each other at their own sizes, and `<subset>-meta.gz`
  (gzip of a numpy `<U32` array's raw bytes) gives each item's [id], [rows, cols] or
  [id, rows, cols] (see dataset_meta);
- the subset `test` is written as `t10k-...`, its meta file as `test-meta.gz`.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
import pathlib
import struct
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import dataset_meta, matrix
from tfds_builders.formats.compression import Source, SourceStream, open_source, source_name
from tfds_builders.formats.dataset_meta import ItemMeta
from tfds_builders.formats.matrix import MatrixHeader, shape_text

# Element type code -> big-endian numpy dtype. 0x0A is undefined by the format.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_FOR_KIND = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}


# An IDX header, parsed: `code` is the element type byte, `header_size` is 4 + 4·ndim.
IdxHeader = MatrixHeader


def _parse_header(stream: SourceStream) -> IdxHeader:
  try:
    magic = stream.read_exact(4, "IDX magic number")
  except SourceFormatError:
    raise SourceFormatError(stream.name, "too short to be an IDX file (no 4-byte magic number)")
  zero1, zero2, type_code, ndim = magic
  if zero1 or zero2:
    raise SourceFormatError(
        stream.name, f"not an IDX file: magic number {bytes(magic).hex()} does not start with "
        "two zero bytes" + (" (it is neither gzip nor xz compressed)" if stream.compression
                            is None else ""))
  if type_code not in IDX_DTYPES:
    raise SourceFormatError(
        stream.name, f"unknown IDX element type code 0x{type_code:02X} in magic number "
        f"{bytes(magic).hex()} (known: " + ", ".join(
            f"0x{c:02X}={d.name}" for c, d in IDX_DTYPES.items()) + ")")
  if ndim == 0:
    raise SourceFormatError(stream.name, "IDX header has 0 dimensions; at least 1 is needed")
  dims = struct.unpack(f">{ndim}I", stream.read_exact(4 * ndim, "IDX dimension sizes"))
  return MatrixHeader(type_code, IDX_DTYPES[type_code], tuple(int(d) for d in dims),
                      4 + 4 * ndim)


def _read_header(stream: SourceStream) -> IdxHeader:
  header = _parse_header(stream)
  stream.check_claim(header.header_size, header.data_size)
  return header


def read_idx_header(source: Source) -> IdxHeader:
  """Reads and validates only the header."""
  return matrix.read_header(source, _read_header)


def read_idx(source: Source) -> np.ndarray:
  """Reads a whole IDX file (gzip, xz or stored) into a native-endian numpy array.

  The header is validated against the bytes present before anything large is allocated; missing
  or trailing bytes raise SourceFormatError.
  """
  return matrix.read_matrix(source, _read_header, "IDX")


def iter_idx(source: Source, batch_items: int = 4096) -> Iterator[np.ndarray]:
  """Yields the items of an IDX file in batches, for files too large to hold at once."""
  return matrix.iter_matrix(source, _read_header, "IDX", batch_items)


def idx_bytes(array: np.ndarray) -> bytes:
  """Encodes an array as IDX (the inverse of read_idx); used by dummy data and exports."""
  array = np.asarray(array)
  code = _CODE_FOR_KIND.get((array.dtype.kind, array.dtype.itemsize))
  if code is None:
    raise ValueError(f"IDX cannot store dtype {array.dtype}")
  if array.ndim == 0 or array.ndim > 255:
    raise ValueError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
  header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
  return header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()


def check_labels(labels: np.ndarray, source_name: str, num_classes: Optional[int],
                 unlabeled: Sequence[int] = (), first_label: int = 0,
                 first_item: int = 0) -> None:
  """Raises unless every label is in [first_label, first_label + num_classes) or `unlabeled`.

  `first_item` is the index of labels[0] in its file, for a batch of a longer file.
  """
  if num_classes is None or labels.size == 0:
    return
  values = labels.reshape(-1) if labels.ndim == 1 else labels[:, 0]
  bad = (values < first_label) | (values >= first_label + num_classes)
  for u in unlabeled:
    bad &= values != u
  if bad.any():
    i = int(np.argmax(bad))
    raise SourceFormatError(
        source_name, f"label {int(values[i])} of item {first_item + i} is outside the class "
        f"range {first_label}..{first_label + num_classes - 1} ({int(bad.sum())} such labels)")


@dataclasses.dataclass(frozen=True)
class IdxKind:
  """What one IDX file of a dataset must hold; anything else is refused, never converted.

  Attributes:
    what: the items' name in messages ("images", "labels", "label rows").
    codes: the element types accepted (IDX type codes, see IDX_DTYPES).
    item_shape: one item's exact shape, or None for any shape of `item_ndim` dimensions.
    item_ndim: the number of dimensions of an item when `item_shape` is None.
  """
  what: str
  codes: Tuple[int, ...]
  item_shape: Optional[Tuple[int, ...]]
  item_ndim: int = 0

  @property
  def layout(self) -> str:
    if self.item_shape is None:
      return "N x " + " x ".join(("rows", "cols") if self.item_ndim == 2 else
                                 [f"d{i}" for i in range(self.item_ndim)])
    if not self.item_shape:
      return "N (one value per item)"
    return "N" + "".join(f"x{d}" for d in self.item_shape)

  def types(self) -> str:
    names = [f"{IDX_DTYPES[c].name} (type code 0x{c:02X})" for c in self.codes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# The MNIST family's files: unsigned-byte images and labels (idx3-ubyte, idx1-ubyte).
MNIST_IMAGES = IdxKind("images", (0x08,), (28, 28))
MNIST_LABELS = IdxKind("labels", (0x08,), ())


def check_kind(name: str, header: IdxHeader, kind: IdxKind) -> None:
  """Raises unless the header's element type and shape are what `kind` holds."""
  if header.code not in kind.codes:
    # A cast would store 300 as 44 and 0.5 as 0: the file is refused instead.
    raise SourceFormatError(
        name, f"holds {header.dtype.name} elements (type code 0x{header.code:02X}), but "
        f"{kind.what} must be {kind.types()}; other element types are refused, not converted")
  item_shape = header.item_shape
  if (item_shape != kind.item_shape if kind.item_shape is not None else
      len(item_shape) != kind.item_ndim):
    raise SourceFormatError(
        name, f"holds an array of shape {shape_text(header.shape)}, but {kind.what} are "
        f"{kind.layout}")
  if kind.item_shape is None and 0 in item_shape:
    raise SourceFormatError(
        name, f"the header gives its {kind.what} the size {shape_text(item_shape)}, which holds "
        "no value")


def check_count(name: str, count: int, what: str, max_items: int, why: str) -> None:
  """Raises unless 0 < count <= max_items; `why` says where max_items comes from."""
  if count == 0:
    raise SourceFormatError(name, f"holds 0 {what}: a split needs at least one example")
  if count > max_items:
    raise SourceFormatError(name, f"the header claims {count} {what}; {why}")


def iter_idx_pair(images: Source, labels: Source, images_kind: IdxKind, labels_kind: IdxKind,
                  *, max_items: int, max_items_why: str,
                  check_headers: Optional[Callable[[IdxHeader], None]] = None,
                  check_labels: Optional[Callable[[np.ndarray], None]] = None,
                  batch_items: int = 4096) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
  """(images, labels) in batches of an images file and its labels file.

  Both headers are read and checked (element types, shapes, equal counts, at most `max_items`)
  before either body is read, so a pair that does not belong together costs nothing, whatever
  its headers claim; `check_headers`, given the images header, may refuse it then too. The
  labels are then read whole (they are small: at most max_items rows) and given to
  `check_labels`, which raises on a bad one; only then are the images read, a batch at a time,
  so that memory stays at one batch.
  """
  with open_source(images) as image_stream, open_source(labels) as label_stream:
    image_header = _read_header(image_stream)
    check_kind(image_stream.name, image_header, images_kind)
    label_header = _read_header(label_stream)
    check_kind(label_stream.name, label_header, labels_kind)
    if label_header.num_items != image_header.num_items:
      raise SourceFormatError(
          label_stream.name, f"has {label_header.num_items} {labels_kind.what} but "
          f"{image_stream.name} has {image_header.num_items} {images_kind.what}; the two files "
          "do not belong together")
    check_count(image_stream.name, image_header.num_items, images_kind.what, max_items,
                max_items_why)
    if check_headers is not None:
      check_headers(image_header)
    label_array = matrix.read_body(label_stream, label_header, "IDX")
    if check_labels is not None:
      check_labels(label_array)
    start = 0
    for batch in matrix.read_items(image_stream, image_header, "IDX", batch_items):
      yield batch, label_array[start:start + len(batch)]
      start += len(batch)


# --- Datumaro's MNIST layout ---------------------------------------------------------------

Size = Tuple[int, int]
Images = Union[np.ndarray, List[np.ndarray]]
# numpy's '<U32': every cell is 32 UTF-32-LE code units, NUL-padded.
META_CELL_CHARS = 32
_META_CELL_BYTES = 4 * META_CELL_CHARS
_IMAGES_MAGIC = 0x00000803
_LABELS_MAGIC = 0x00000801


def datumaro_file_prefix(subset: str) -> str:
  """The prefix of a subset's images and labels files: Datumaro writes `test` as MNIST's `t10k`."""
  return "t10k" if subset == "test" else subset


@dataclasses.dataclass(frozen=True)
class ImageItems:
  """Where each item's pixels lie in an images file (idx3-ubyte).

  Attributes:
    header: the file's header.
    sizes: each item's (rows, cols), in file order.
    counts_pixels: whether the header's first dimension is the number of pixels written
      (Datumaro's exporter) rather than the number of images.
  """
  header: IdxHeader
  sizes: Tuple[Size, ...]
  counts_pixels: bool

  @functools.cached_property
  def uniform_size(self) -> Optional[Size]:
    """The one size of every image, or None when sizes differ (or there are no items)."""
    distinct = set(self.sizes)
    return next(iter(distinct)) if len(distinct) == 1 else None

  @functools.cached_property
  def num_pixels(self) -> int:
    return sum(rows * cols for rows, cols in self.sizes)


# Users' own folders (IdxFolder): unsigned-byte images of any size; integer labels of any width
# (uint8 as Datumaro writes them, 255 = no label; signed types keep their values, -1 = no label).
FOLDER_IMAGES = IdxKind("images", (0x08,), None, item_ndim=2)
FOLDER_LABELS = IdxKind("labels", (0x08, 0x09, 0x0B, 0x0C), ())


def _image_items(name: str, header: IdxHeader, num_items: int, sizes: Optional[Sequence[Size]],
                 labels: str, meta: str) -> ImageItems:
  check_kind(name, header, FOLDER_IMAGES)
  count, own_size = header.shape[0], header.item_shape
  sizes = (own_size,) * num_items if sizes is None else tuple(tuple(s) for s in sizes)
  if len(sizes) != num_items:
    raise ValueError(f"{len(sizes)} sizes given for {num_items} items")
  items = ImageItems(header, sizes, counts_pixels=False)
  at_own_size = all(size == own_size for size in sizes)
  if at_own_size and count == num_items:
    return items
  if count == items.num_pixels:
    return dataclasses.replace(items, counts_pixels=True)
  if count == num_items:
    i = next(i for i, size in enumerate(sizes) if size != own_size)
    raise SourceFormatError(
        name, f"the header says {count} images of {shape_text(own_size)}, but {meta} gives item "
        f"{i} the size {shape_text(sizes[i])}; a header that counts images has every image at "
        "its size")
  how = (f"at {shape_text(items.uniform_size)} make" if items.uniform_size
         else f"at the sizes in {meta} make")
  raise SourceFormatError(
      name, f"the header counts {count} images (or pixels, as Datumaro writes it), but {labels} "
      f"has {num_items} items, which {how} {items.num_pixels} pixels; the files do not belong "
      "together")


def read_image_items_header(images: Source, num_items: int,
                            sizes: Optional[Sequence[Size]] = None, *,
                            labels: str = "the labels file",
                            meta: str = "the meta file") -> ImageItems:
  """Checks an images file's header against the items its labels (and meta) file describe.

  The header's count may be the number of images (the IDX format) or the number of pixels
  (Datumaro's exporter); any other count is refused. `sizes` are the items' sizes from a meta
  file, else every item has the header's size. `labels` and `meta` name those files in messages.
  """
  with open_source(images) as stream:
    return _open_image_items(stream, num_items, sizes, labels, meta)


# An images file whose pixels would take more memory than this is first read through once,
# keeping nothing, so that a file refused near its end (cut short, damaged, too long) is refused
# without having been held.
HELD_UNCHECKED = 64 << 20
_CHECK_CHUNK = 8 << 20


def _open_image_items(stream: SourceStream, num_items: int, sizes, labels: str,
                      meta: str) -> ImageItems:
  items = _image_items(stream.name, _parse_header(stream), num_items, sizes, labels, meta)
  stream.check_claim(items.header.header_size, items.num_pixels)
  return items


def read_image_items(images: Source, num_items: int, sizes: Optional[Sequence[Size]] = None, *,
                     labels: str = "the labels file", meta: str = "the meta file"
                     ) -> Tuple[ImageItems, Images]:
  """The images, checked as read_image_items_header does: an N x rows x cols array when they
  share one size, else a list of rows x cols arrays."""
  what = f"{num_items} images"
  if isinstance(images, (str, os.PathLike)):
    with open_source(images) as stream:
      items = _open_image_items(stream, num_items, sizes, labels, meta)
      if items.num_pixels > HELD_UNCHECKED:
        for _ in stream.read_chunks(items.num_pixels, _CHECK_CHUNK, f"pixels of {what}"):
          pass
        stream.expect_end("IDX data")
  with open_source(images) as stream:
    items = _open_image_items(stream, num_items, sizes, labels, meta)
    data = stream.read_exact(items.num_pixels, f"{items.num_pixels} pixels of {what}")
    stream.expect_end("IDX data")
  pixels = np.frombuffer(data, dtype=np.uint8)
  if items.uniform_size is not None or not num_items:
    return items, pixels.reshape((num_items,) + (items.uniform_size or items.header.item_shape))
  ends = np.cumsum([rows * cols for rows, cols in items.sizes])
  return items, [pixels[end - rows * cols:end].reshape(rows, cols)
                 for end, (rows, cols) in zip(ends, items.sizes)]


_META_CHUNK_CELLS = 8192


def read_meta(source: Source, num_items: int, *, labels: str = "the labels file") -> ItemMeta:
  """`<subset>-meta.gz`: the ids and/or sizes of a subset's `num_items` items.

  The file is read in pieces: once to count its cells, which gives the columns, then as
  `dataset_meta.item_meta_from_rows` reads rows (a check, then the values kept), so that memory
  never holds more than the ids and sizes of a file that is accepted.
  """
  name = source_name(source)
  limit = 3 * num_items * _META_CELL_BYTES
  size = 0
  with open_source(source) as stream:
    while size <= limit:
      chunk = stream.read_up_to(min(_CHECK_CHUNK, limit + 1 - size))
      if not chunk:
        break
      size += len(chunk)
  if size > limit:
    raise SourceFormatError(
        name, f"holds more than 3 cells for each of the {num_items} items of {labels}; a meta "
        "file holds [id], [rows, cols] or [id, rows, cols] per item")
  if size % _META_CELL_BYTES:
    raise SourceFormatError(
        name, f"holds {size} bytes, not a whole number of {_META_CELL_BYTES}-byte cells "
        f"({META_CELL_CHARS} UTF-32 characters each): not a Datumaro meta file")
  num_cells = size // _META_CELL_BYTES
  if not num_items:
    return ItemMeta(None, None)  # nothing follows: more than 0 bytes were refused above
  if num_cells % num_items or num_cells // num_items not in (1, 2, 3):
    raise SourceFormatError(
        name, f"holds {num_cells} cells for the {num_items} items of {labels}; a meta file holds "
        "1, 2 or 3 per item ([id], [rows, cols] or [id, rows, cols])")
  width = num_cells // num_items

  def rows():
    with open_source(source) as stream:
      first_cell = 0
      while first_cell < num_cells:
        n = min(_META_CHUNK_CELLS * width, num_cells - first_cell)
        data = stream.read_exact(n * _META_CELL_BYTES, "meta cells")
        try:
          text = data.decode("utf-32-le")
        except UnicodeDecodeError as e:
          raise SourceFormatError(
              name, f"cell {first_cell + e.start // _META_CELL_BYTES} is not UTF-32 text "
              f"({e.reason})") from e
        cells = [text[i:i + META_CELL_CHARS].rstrip("\x00")
                 for i in range(0, len(text), META_CELL_CHARS)]
        for i in range(0, n, width):
          yield None, cells[i:i + width]
        first_cell += n

  return dataset_meta.item_meta_from_rows(name, rows, num_items)


def meta_bytes(rows: Sequence[Sequence[str]]) -> bytes:
  """The bytes of `<subset>-meta.gz` (before gzip) for rows of text cells of equal length."""
  out = bytearray()
  for row in rows:
    for cell in row:
      if len(cell) > META_CELL_CHARS or cell.endswith("\x00"):
        raise ValueError(f"{cell!r} cannot be stored in Datumaro's meta file, whose cells hold "
                         f"up to {META_CELL_CHARS} characters (and lose trailing NULs)")
      out += cell.encode("utf-32-le").ljust(_META_CELL_BYTES, b"\x00")
  return bytes(out)


def _write_gzip(path: pathlib.Path, parts: Sequence[bytes], mtime: Optional[int]) -> None:
  # gzip.open(path, "wb")'s header: level 9, the file name without `.gz`; mtime fixed or now.
  with open(path, "wb") as raw:
    with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=mtime) as f:
      for part in parts:
        f.write(part)


def write_datumaro_subset(folder: os.PathLike, subset: str, images: Images,
                          labels: Sequence[int], ids: Optional[Sequence[str]] = None, *,
                          count_pixels: bool = True,
                          mtime: Optional[int] = None) -> List[pathlib.Path]:
  """Writes one subset the way Datumaro's `mnist` exporter does; returns the files written.

  Args:
    images: N x rows x cols uint8, or N arrays of rows x cols uint8 (sizes may differ).
    labels: 0..254, 255 for "no label".
    ids: the items' ids; None (or ids equal to the indices) writes no id column.
    count_pixels: write the images header as Datumaro does, `[0x803, pixels, 28, 28]`. With
      False, images of one size get the IDX header `[0x803, N, rows, cols]`, which every IDX
      reader understands; images of different sizes still get Datumaro's (the format has no
      other way to hold them). Datumaro's importer ignores the count either way.
    mtime: the gzip header's time stamp; None writes the current time, as Datumaro does.
  """
  folder = pathlib.Path(folder)
  labels = np.asarray(labels)
  images, rows = dataset_meta.subset_to_write(images, labels, ids)
  if labels.size and (labels.min() < 0 or labels.max() > 255):
    raise ValueError("IDX labels are 0..255 (255 = no label)")
  sizes = [image.shape for image in images]
  meta = None if rows is None else meta_bytes(rows)  # refuses what it cannot hold before writing
  prefix = datumaro_file_prefix(subset)
  written = [folder / f"{prefix}-labels-idx1-ubyte.gz"]
  _write_gzip(written[-1], [struct.pack(">II", _LABELS_MAGIC, len(labels)),
                            labels.astype(np.uint8).tobytes()], mtime)
  pixels = b"".join(image.tobytes() for image in images)
  if pixels:  # Datumaro writes no images file for a subset without pixels
    if count_pixels or len(set(sizes)) != 1:
      dims = (len(pixels),) + dataset_meta.DATUMARO_IMAGE_SIZE
    else:
      dims = (len(images),) + sizes[0]
    written.append(folder / f"{prefix}-images-idx3-ubyte.gz")
    _write_gzip(written[-1], [struct.pack(">4I", _IMAGES_MAGIC, *dims), pixels], mtime)
  if meta is not None:
    written.append(folder / f"{subset}-meta.gz")
    _write_gzip(written[-1], [meta], mtime)
  return written
