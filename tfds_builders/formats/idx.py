"""The IDX format of MNIST and its family (Fashion-MNIST, KMNIST, EMNIST, QMNIST).

Layout: a 4-byte magic `00 00 TT ND` (TT the element type, ND the number of dimensions), ND
big-endian uint32 dimension sizes, then the elements big-endian in row-major order. The first
dimension is the number of items. QMNIST's `idx2-int` label files are the same format with TT=0x0C
and two dimensions, so they need no special case.
"""

from __future__ import annotations

import struct
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import matrix
from tfds_builders.formats.compression import Source, SourceStream
from tfds_builders.formats.matrix import MatrixHeader

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


def _read_header(stream: SourceStream) -> IdxHeader:
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
  header = MatrixHeader(type_code, IDX_DTYPES[type_code], tuple(int(d) for d in dims),
                        4 + 4 * ndim)
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
  from tfds_builders.formats.compression import source_name
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
