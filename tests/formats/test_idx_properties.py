"""Property tests of the IDX reader: random arrays round-trip exactly; random and mutated bytes
raise only SourceFormatError, quickly, without large allocations."""

import gzip
import io
import struct
import tracemalloc

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
BOUNDED = settings(max_examples=150, deadline=2000)


@st.composite
def arrays(draw):
  dtype = draw(st.sampled_from(DTYPES))
  shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6))
  return draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(np.dtype(dtype),
                                                                allow_nan=False)))


@BOUNDED
@given(arrays(), st.booleans())
def test_random_arrays_round_trip(array, compress):
  data = idx.idx_bytes(array)
  if compress:
    data = gzip.compress(data)
  out = idx.read_idx(io.BytesIO(data))
  assert out.dtype == array.dtype and out.shape == array.shape
  np.testing.assert_array_equal(out, array)


def read_bounded(data: bytes):
  """Reads bytes, allowing only SourceFormatError and at most 64 MiB of allocation."""
  tracemalloc.start()
  try:
    idx.read_idx(io.BytesIO(data))
  except SourceFormatError:
    pass
  finally:
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
  assert peak < 64 << 20


@BOUNDED
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_our_error(data):
  read_bounded(data)


@BOUNDED
@given(st.binary(max_size=64), st.integers(1, 4), st.lists(st.integers(0, 2**32 - 1),
                                                           min_size=4, max_size=4),
       st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]))
def test_headers_that_lie_about_sizes(payload, ndim, dims, code):
  header = bytes([0, 0, code, ndim]) + struct.pack(f">{ndim}I", *dims[:ndim])
  read_bounded(header + payload)
  read_bounded(gzip.compress(header + payload))


@BOUNDED
@given(st.data())
def test_mutated_valid_files(data):
  array = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
  raw = bytearray(gzip.compress(idx.idx_bytes(array)) if data.draw(st.booleans())
                  else idx.idx_bytes(array))
  for _ in range(data.draw(st.integers(1, 4))):
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] = data.draw(st.integers(0, 255))
  cut = data.draw(st.integers(0, len(raw)))
  read_bounded(bytes(raw[:cut]))
