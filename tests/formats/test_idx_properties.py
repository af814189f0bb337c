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


class CountingFile(io.BytesIO):
  """A file that remembers how far into it anything was read."""

  def __init__(self, data: bytes):
    super().__init__(data)
    self.furthest = 0

  def read(self, n=-1):
    out = super().read(n)
    self.furthest = max(self.furthest, self.tell())
    return out


@st.composite
def idx_files(draw):
  """(file bytes, header length, code, dims): a random header, its body of the size it claims
  when that is small, else a short body."""
  code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]))
  dims = draw(st.lists(st.one_of(st.integers(0, 5), st.integers(0, 2**32 - 1)), min_size=1,
                       max_size=3))
  header = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
  size = int(np.prod(dims, dtype=object)) * idx.IDX_DTYPES[code].itemsize
  body = bytes(size) if size <= 4096 else bytes(draw(st.integers(0, 64)))
  return header + body, len(header), code, tuple(dims)


IMAGES_2X2 = idx.IdxKind("images", (0x08,), (2, 2))


@BOUNDED
@given(idx_files(), idx_files())
def test_a_pair_is_judged_by_both_headers_before_either_body_is_read(images, labels):
  image_bytes, image_header, image_code, image_dims = images
  label_bytes, label_header, label_code, label_dims = labels

  def claim_held(data, header, code, dims):
    return len(data) - header >= int(np.prod(dims, dtype=object)) * idx.IDX_DTYPES[code].itemsize

  headers_fit = (claim_held(*images) and claim_held(*labels) and image_code == 0x08 and
                 image_dims[1:] == (2, 2) and label_code == 0x08 and len(label_dims) == 1 and
                 image_dims[0] == label_dims[0] and 0 < image_dims[0] <= 4)
  image_file, label_file = CountingFile(image_bytes), CountingFile(label_bytes)
  try:
    got = list(idx.iter_idx_pair(image_file, label_file, IMAGES_2X2, idx.MNIST_LABELS,
                                 max_items=4, max_items_why="at most 4 here"))
  except SourceFormatError:
    if not headers_fit:
      # Refused on the headers: no body byte of either file was read (6 bytes are sniffed for
      # gzip and xz magic numbers).
      assert image_file.furthest <= max(image_header, 6)
      assert label_file.furthest <= max(label_header, 6)
    else:  # the headers fit; only a body can be at fault
      assert len(image_bytes) - image_header != image_dims[0] * 4 or (
          len(label_bytes) - label_header != label_dims[0])
    return
  assert headers_fit
  assert sum(len(batch_images) for batch_images, _ in got) == image_dims[0]
