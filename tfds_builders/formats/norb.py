"""The NORB binary-matrix format (smallNORB's `.mat` files, which are not MATLAB files).

Layout, all little-endian: an int32 magic number naming the element type, an int32 number of
dimensions `ndim`, then max(3, ndim) int32 dimension sizes (a matrix of fewer than three dimensions
still stores three; the unused ones are 1 and ignored), then the elements in row-major order.
smallNORB uses uint8 for its `-dat` images (N×2×96×96) and int32 for `-cat` (N) and `-info` (N×4).
"""

from __future__ import annotations

import struct
from typing import Iterator, Tuple

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import matrix
from tfds_builders.formats.compression import Source, SourceStream, source_name
from tfds_builders.formats.matrix import MatrixHeader

# Magic number -> little-endian element type.
NORB_DTYPES = {
    0x1E3D4C51: np.dtype("<f4"),
    0x1E3D4C53: np.dtype("<f8"),
    0x1E3D4C54: np.dtype("<i4"),
    0x1E3D4C55: np.dtype("u1"),
    0x1E3D4C56: np.dtype("<i2"),
}
# The format defines a "packed" matrix that no NORB file uses; it is refused by name rather than
# reported as an unknown magic number.
PACKED_MAGIC = 0x1E3D4C52
_MAGIC_FOR_KIND = {(dt.kind, dt.itemsize): magic for magic, dt in NORB_DTYPES.items()}
_MIN_STORED_DIMS = 3
# No NORB matrix has more than 4 dimensions; the bound only keeps a garbage ndim from making us
# read (and report) megabytes of "dimension sizes".
MAX_NDIM = 64


# A NORB header, parsed: `code` is the magic number, `header_size` is 8 + 4·max(3, ndim).
NorbHeader = MatrixHeader
_shape_text = matrix.shape_text


def _read_header(stream: SourceStream) -> NorbHeader:
  try:
    head = stream.read_exact(8, "NORB magic number and dimension count")
  except SourceFormatError:
    raise SourceFormatError(
        stream.name, "too short to be a NORB binary matrix (no 8-byte magic number and "
        "dimension count)") from None
  magic, ndim = struct.unpack("<Ii", head)
  if magic == PACKED_MAGIC:
    raise SourceFormatError(
        stream.name, "packed NORB matrix (magic 0x1E3D4C52) is not supported; NORB data files "
        "never use it")
  if magic not in NORB_DTYPES:
    raise SourceFormatError(
        stream.name, f"not a NORB binary matrix: unknown magic number 0x{magic:08X} (known: " +
        ", ".join(f"0x{m:08X}={d.name}" for m, d in NORB_DTYPES.items()) + ")" +
        (" and the file is neither gzip nor xz compressed" if stream.compression is None else ""))
  if ndim < 0:
    raise SourceFormatError(stream.name, f"negative number of dimensions ({ndim}) in the header")
  if ndim == 0 or ndim > MAX_NDIM:
    raise SourceFormatError(
        stream.name, f"{ndim} dimensions in the header; a NORB matrix has 1 to {MAX_NDIM}")
  stored = max(_MIN_STORED_DIMS, ndim)
  dims = struct.unpack(f"<{stored}i", stream.read_exact(4 * stored, "NORB dimension sizes"))
  shape = tuple(int(d) for d in dims[:ndim])
  for axis, size in enumerate(shape):
    if size < 0:
      raise SourceFormatError(
          stream.name, f"dimension {axis} is negative ({size}) in the header "
          f"{_shape_text(shape)}")
  header = MatrixHeader(magic, NORB_DTYPES[magic], shape, 8 + 4 * stored)
  stream.check_claim(header.header_size, header.data_size)
  return header


def read_norb_header(source: Source) -> NorbHeader:
  """Reads and validates only the header (cheap even for a 130 MB gzipped `-dat` file)."""
  return matrix.read_header(source, _read_header)


def read_norb(source: Source) -> np.ndarray:
  """Reads a whole NORB binary matrix (gzip, xz or stored) into a native-endian numpy array.

  The header is validated against the bytes present before anything large is allocated; missing
  or trailing bytes raise SourceFormatError naming the file.
  """
  return matrix.read_matrix(source, _read_header, "NORB matrix")


def iter_norb(source: Source, batch_items: int = 1024) -> Iterator[np.ndarray]:
  """Yields the items (rows of the first dimension) of a NORB matrix in batches.

  smallNORB's `-dat` files are 448 MB once decompressed; batches keep memory small.
  """
  return matrix.iter_matrix(source, _read_header, "NORB matrix", batch_items)


def norb_bytes(array: np.ndarray) -> bytes:
  """Encodes an array as a NORB binary matrix (the inverse of read_norb); for dummy data."""
  array = np.asarray(array)
  magic = _MAGIC_FOR_KIND.get((array.dtype.kind, array.dtype.itemsize))
  if magic is None:
    raise ValueError(f"a NORB binary matrix cannot store dtype {array.dtype}")
  if not 1 <= array.ndim <= MAX_NDIM:
    raise ValueError(f"a NORB binary matrix needs 1 to {MAX_NDIM} dimensions, got {array.ndim}")
  dims = list(array.shape) + [1] * (_MIN_STORED_DIMS - array.ndim)
  header = struct.pack(f"<Ii{len(dims)}i", magic, array.ndim, *dims)
  return header + np.ascontiguousarray(array, dtype=NORB_DTYPES[magic]).tobytes()


# smallNORB's layout of the three files of a split. Kept here, with no TensorFlow, so that a
# malformed file is caught by the same tests as the format itself.
SMALLNORB_IMAGE_SHAPE = (2, 96, 96)
SMALLNORB_NUM_CATEGORIES = 5
# info column -> (name, allowed values)
SMALLNORB_INFO_COLUMNS = (
    ("instance", range(0, 10)),
    ("elevation", range(0, 9)),
    ("azimuth", range(0, 35, 2)),
    ("lighting", range(0, 6)),
)


def _expect(source: Source, dtype: np.dtype, shape: Tuple[int, ...], expected_dtype,
            expected_item_shape: Tuple[int, ...], what: str) -> None:
  if dtype != np.dtype(expected_dtype) or tuple(shape[1:]) != expected_item_shape:
    expected = _shape_text(("N",) + expected_item_shape)
    raise SourceFormatError(
        source_name(source), f"a smallNORB {what} file holds an {expected} "
        f"{np.dtype(expected_dtype).name} matrix, this one is {_shape_text(shape)} {dtype.name}")


def _check_values(path, values: np.ndarray, what: str, allowed: range) -> None:
  bad = ~np.isin(values, np.asarray(allowed))
  if bad.any():
    i = int(np.argmax(bad))
    raise SourceFormatError(
        path, f"{what} {int(values[i])} of item {i} is not one of {allowed.start}..."
        f"{allowed.stop - 1}" + (f" in steps of {allowed.step}" if allowed.step != 1 else "") +
        f" ({int(bad.sum())} such values)")


def read_smallnorb_labels(dat: Source, cat: Source, info: Source) -> Tuple[np.ndarray, np.ndarray]:
  """Checks a split's three files against each other; returns (categories N, info N×4).

  Only the `-dat` header is read: its N×2×96×96 images are left for `iter_norb` to stream.
  """
  dat_header = read_norb_header(dat)
  _expect(dat, dat_header.dtype, dat_header.shape, np.uint8, SMALLNORB_IMAGE_SHAPE, "-dat")
  categories = read_norb(cat)
  _expect(cat, categories.dtype, categories.shape, np.int32, (), "-cat")
  table = read_norb(info)
  _expect(info, table.dtype, table.shape, np.int32, (4,), "-info")
  for path, count in ((cat, len(categories)), (info, len(table))):
    if count != dat_header.num_items:
      raise SourceFormatError(
          source_name(path), f"has {count} rows but {source_name(dat)} has "
          f"{dat_header.num_items} image pairs; the files do not belong together")
  _check_values(source_name(cat), categories, "category", range(SMALLNORB_NUM_CATEGORIES))
  for column, (name, allowed) in enumerate(SMALLNORB_INFO_COLUMNS):
    _check_values(source_name(info), table[:, column], name, allowed)
  return categories, table
