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
from typing import Iterator, List, Optional, Sequence, Tuple, Union

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
                 unlabeled: Sequence[int] = (), first_label: int = 0) -> None:
  """Raises unless every label is in [first_label, first_label + num_classes) or `unlabeled`."""
  if num_classes is None or labels.size == 0:
    return
  values = labels.reshape(-1) if labels.ndim == 1 else labels[:, 0]
  bad = (values < first_label) | (values >= first_label + num_classes)
  for u in unlabeled:
    bad &= values != u
  if bad.any():
    i = int(np.argmax(bad))
    raise SourceFormatError(
        source_name, f"label {int(values[i])} of item {i} is outside the class range "
        f"{first_label}..{first_label + num_classes - 1} ({int(bad.sum())} such labels)")


def read_idx_pair(images: Source, labels: Source, num_classes: Optional[int] = None,
                  image_shape: Optional[Tuple[int, ...]] = None, unlabeled: Sequence[int] = (),
                  first_label: int = 0) -> Tuple[np.ndarray, np.ndarray]:
  """Reads an images file and its labels file, checking that they belong together."""
  image_array = read_idx(images)
  if image_shape is not None and image_array.shape[1:] != tuple(image_shape):
    raise SourceFormatError(
        source_name(images), f"images are {'x'.join(map(str, image_array.shape[1:]))}, "
        f"expected {'x'.join(map(str, image_shape))}")
  label_array = read_idx(labels)
  if label_array.shape[0] != image_array.shape[0]:
    raise SourceFormatError(
        source_name(labels), f"has {label_array.shape[0]} labels but "
        f"{source_name(images)} has {image_array.shape[0]} images; the two files do not belong "
        "together")
  check_labels(label_array, source_name(labels), num_classes, unlabeled, first_label)
  return image_array, label_array


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


def _image_items(name: str, header: IdxHeader, num_items: int, sizes: Optional[Sequence[Size]],
                 labels: str, meta: str) -> ImageItems:
  if header.code != 0x08 or len(header.shape) != 3:
    raise SourceFormatError(
        name, f"expected images (idx3-ubyte: N x rows x cols uint8); the header says "
        f"{shape_text(header.shape)} {header.dtype.name}")
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
    items = _image_items(stream.name, _parse_header(stream), num_items, sizes, labels, meta)
    stream.check_claim(items.header.header_size, items.num_pixels)
  return items


def read_image_items(images: Source, num_items: int, sizes: Optional[Sequence[Size]] = None, *,
                     labels: str = "the labels file", meta: str = "the meta file"
                     ) -> Tuple[ImageItems, Images]:
  """The images, checked as read_image_items_header does: an N x rows x cols array when they
  share one size, else a list of rows x cols arrays."""
  with open_source(images) as stream:
    items = _image_items(stream.name, _parse_header(stream), num_items, sizes, labels, meta)
    stream.check_claim(items.header.header_size, items.num_pixels)
    data = stream.read_exact(items.num_pixels,
                             f"{items.num_pixels} pixels of {num_items} images")
    stream.expect_end("IDX data")
  pixels = np.frombuffer(data, dtype=np.uint8)
  if items.uniform_size is not None or not num_items:
    return items, pixels.reshape((num_items,) + (items.uniform_size or items.header.item_shape))
  ends = np.cumsum([rows * cols for rows, cols in items.sizes])
  return items, [pixels[end - rows * cols:end].reshape(rows, cols)
                 for end, (rows, cols) in zip(ends, items.sizes)]


def _read_at_most(stream: SourceStream, limit: int) -> bytes:
  """Every remaining byte, or limit + 1 bytes when there are more than `limit`."""
  out = bytearray()
  while len(out) <= limit:
    chunk = stream._read_chunk(limit + 1 - len(out))  # pylint: disable=protected-access
    if not chunk:
      break
    out += chunk
  return bytes(out)


def read_meta(source: Source, num_items: int, *, labels: str = "the labels file") -> ItemMeta:
  """`<subset>-meta.gz`: the ids and/or sizes of a subset's `num_items` items."""
  name = source_name(source)
  limit = 3 * num_items * _META_CELL_BYTES
  with open_source(source) as stream:
    data = _read_at_most(stream, limit)
  if len(data) > limit:
    raise SourceFormatError(
        name, f"holds more than 3 cells for each of the {num_items} items of {labels}; a meta "
        "file holds [id], [rows, cols] or [id, rows, cols] per item")
  if len(data) % _META_CELL_BYTES:
    raise SourceFormatError(
        name, f"holds {len(data)} bytes, not a whole number of {_META_CELL_BYTES}-byte cells "
        f"({META_CELL_CHARS} UTF-32 characters each): not a Datumaro meta file")
  num_cells = len(data) // _META_CELL_BYTES
  if not num_items:
    return ItemMeta(None, None)  # nothing follows: more than 0 bytes were refused above
  if num_cells % num_items or num_cells // num_items not in (1, 2, 3):
    raise SourceFormatError(
        name, f"holds {num_cells} cells for the {num_items} items of {labels}; a meta file holds "
        "1, 2 or 3 per item ([id], [rows, cols] or [id, rows, cols])")
  try:
    text = data.decode("utf-32-le")
  except UnicodeDecodeError as e:
    raise SourceFormatError(
        name, f"cell {e.start // _META_CELL_BYTES} is not UTF-32 text ({e.reason})") from e
  cells = [text[i:i + META_CELL_CHARS].rstrip("\x00")
           for i in range(0, len(text), META_CELL_CHARS)]
  width = num_cells // num_items
  rows = [cells[i:i + width] for i in range(0, num_cells, width)]
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
