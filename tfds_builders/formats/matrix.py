"""What the IDX and NORB binary-matrix formats share once their headers are parsed.

Both are a small header naming an element type and a shape, followed by the elements in row-major
order; they differ only in the header's layout and byte order. Each format module parses its own
header into a `MatrixHeader`; reading the whole matrix or its items in batches is done here once.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Iterator, Tuple

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats.compression import Source, SourceStream, open_source


@dataclasses.dataclass(frozen=True)
class MatrixHeader:
  """A parsed header: `code` is the format's own type code (IDX type byte, NORB magic)."""
  code: int
  dtype: np.dtype
  shape: Tuple[int, ...]
  header_size: int

  @property
  def num_items(self) -> int:
    return self.shape[0]

  @property
  def item_shape(self) -> Tuple[int, ...]:
    return self.shape[1:]

  @property
  def data_size(self) -> int:
    return math.prod(self.shape) * self.dtype.itemsize


HeaderReader = Callable[[SourceStream], MatrixHeader]


def shape_text(shape) -> str:
  return "x".join(map(str, shape))


def to_native(array: np.ndarray) -> np.ndarray:
  """The array in the machine's byte order (a copy only when the bytes must be swapped)."""
  return array.astype(array.dtype.newbyteorder("=")) if array.dtype.itemsize > 1 else array


def read_header(source: Source, read: HeaderReader) -> MatrixHeader:
  with open_source(source) as stream:
    return read(stream)


def _check_numpy_can_shape(stream: SourceStream, shape) -> None:
  # A dimension of 0 makes the data empty whatever the others claim, but numpy still refuses a
  # shape whose other dimensions multiply past its index range ("array is too big").
  if math.prod(d for d in shape if d) * 8 > np.iinfo(np.intp).max:
    raise SourceFormatError(stream.name, f"the header claims a shape of {shape_text(shape)}, "
                            "larger than any array can be")


def read_body(stream: SourceStream, header: MatrixHeader, format_name: str) -> np.ndarray:
  """The data after a header already read from `stream`, checked to end where the header says."""
  _check_numpy_can_shape(stream, header.shape)
  data = stream.read_exact(header.data_size,
                           f"{shape_text(header.shape)} {header.dtype.name} elements")
  stream.expect_end(f"{format_name} data")
  return to_native(np.frombuffer(data, dtype=header.dtype).reshape(header.shape))


def read_items(stream: SourceStream, header: MatrixHeader, format_name: str,
               batch_items: int) -> Iterator[np.ndarray]:
  """The items after a header already read from `stream`, in batches; memory stays at one batch
  whatever the header claims."""
  _check_numpy_can_shape(stream, header.shape)
  item_size = math.prod(header.item_shape) * header.dtype.itemsize
  # Items of zero bytes (a dimension of size 0) need no reading: one batch holds them all, or
  # a 20-byte file claiming 2^31 such items would take millions of empty batches.
  step = batch_items if item_size else max(1, header.num_items)
  left = header.num_items
  while left:
    n = min(step, left)
    data = stream.read_exact(n * item_size, f"{shape_text((n,) + header.item_shape)} "
                             f"{header.dtype.name} elements")
    yield to_native(np.frombuffer(data, dtype=header.dtype).reshape((n,) + header.item_shape))
    left -= n
  stream.expect_end(f"{format_name} data")


def read_matrix(source: Source, read: HeaderReader, format_name: str) -> np.ndarray:
  """The whole matrix; the header was checked against the bytes present before allocating."""
  with open_source(source) as stream:
    return read_body(stream, read(stream), format_name)


def iter_matrix(source: Source, read: HeaderReader, format_name: str,
                batch_items: int) -> Iterator[np.ndarray]:
  """The items (rows of the first dimension) in batches, for matrices too large to hold."""
  with open_source(source) as stream:
    yield from read_items(stream, read(stream), format_name, batch_items)
