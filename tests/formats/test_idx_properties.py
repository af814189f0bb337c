"""Property tests of the IDX reader: random arrays round-trip exactly; random and mutated bytes
raise only SourceFormatError, quickly, without large allocations."""

import gzip
import io
import struct
import tracemalloc

import numpy as np
from hypothesis import example, given, settings, strategies as st
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
  """A file that remembers how far into it anything was read; `name` names it in errors."""

  def __init__(self, data: bytes, name: str):
    super().__init__(data)
    self.name = name
    self.furthest = 0

  def read(self, n=-1):
    out = super().read(n)
    self.furthest = max(self.furthest, self.tell())
    return out


def body_size(code, dims) -> int:
  return int(np.prod(dims, dtype=object)) * idx.IDX_DTYPES[code].itemsize


@st.composite
def idx_files(draw):
  """(file bytes, header length, code, dims): a random header, its body of the size it claims
  when that is small, else a short body."""
  code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]))
  dims = draw(st.lists(st.one_of(st.integers(0, 5), st.integers(0, 2**32 - 1)), min_size=1,
                       max_size=3))
  header = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
  size = body_size(code, dims)
  body = bytes(size) if size <= 4096 else bytes(draw(st.integers(0, 64)))
  return header + body, len(header), code, tuple(dims)


def ubyte_file(dims, body: bytes):
  """An idx_files() value written by hand: a uint8 IDX file of `dims` with this body."""
  header = bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
  return header + body, len(header), 0x08, tuple(dims)


IMAGES_2X2 = idx.IdxKind("images", (0x08,), (2, 2))
# Pairs whose headers fit, which random headers practically never are: whole bodies of distinct
# values, and each file cut short in its body.
THREE_IMAGES = ubyte_file((3, 2, 2), bytes(range(1, 13)))
THREE_LABELS = ubyte_file((3,), bytes([7, 8, 9]))


@BOUNDED
@example(THREE_IMAGES, THREE_LABELS)
@example(ubyte_file((3, 2, 2), bytes(range(1, 11))), THREE_LABELS)
@example(THREE_IMAGES, ubyte_file((3,), bytes([7, 8])))
@example(ubyte_file((1, 2, 2), b""), ubyte_file((1,), b""))
@given(idx_files(), idx_files())
def test_a_pair_is_judged_by_both_headers_before_either_body_is_read(images, labels):
  image_bytes, image_header, image_code, image_dims = images
  label_bytes, label_header, label_code, label_dims = labels

  headers_fit = (image_code == 0x08 and image_dims[1:] == (2, 2) and label_code == 0x08 and
                 len(label_dims) == 1 and image_dims[0] == label_dims[0] and
                 0 < image_dims[0] <= 4)
  image_file = CountingFile(image_bytes, "images")
  label_file = CountingFile(label_bytes, "labels")
  try:
    got = list(idx.iter_idx_pair(image_file, label_file, IMAGES_2X2, idx.MNIST_LABELS,
                                 max_items=4, max_items_why="at most 4 here"))
  except SourceFormatError as e:
    # Refused on the headers (and the file sizes, which show a body too short for its header):
    # no body byte of either file was read (6 bytes are sniffed for gzip and xz magic numbers).
    assert image_file.furthest <= max(image_header, 6)
    assert label_file.furthest <= max(label_header, 6)
    if headers_fit:  # then only a body can be at fault, and the images header is read first
      n = image_dims[0]
      image_body, label_body = len(image_bytes) - image_header, len(label_bytes) - label_header
      assert (image_body, label_body) != (4 * n, n)
      name, header, claimed, size = (
          ("images", image_header, 4 * n, len(image_bytes)) if image_body != 4 * n else
          ("labels", label_header, n, len(label_bytes)))
      assert str(e) == (f"{name}: the header claims {claimed} bytes of data after a {header} "
                        f"byte header, but the file holds {size} bytes: the header is wrong or "
                        "the file is truncated")
    return
  assert headers_fit
  assert len(image_bytes) - image_header == body_size(image_code, image_dims)
  assert len(label_bytes) - label_header == body_size(label_code, label_dims)
  # Every value, as the files hold them.
  n = image_dims[0]
  assert [batch.dtype for batch, _ in got] == [np.uint8] * len(got)
  assert np.concatenate([batch for batch, _ in got]).tolist() == np.frombuffer(
      image_bytes[image_header:], np.uint8).reshape(n, 2, 2).tolist()
  assert np.concatenate([batch for _, batch in got]).tolist() == list(label_bytes[label_header:])
