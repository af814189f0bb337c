"""The NORB binary-matrix reader: every element type, ndim 1-4 with the 3-dimension padding,
gzip or not, and a clear error naming the file for each malformed header.

Expected bytes are packed here with struct, independently of the package's own encoder.
"""

import gzip
import io
import struct

import numpy as np
import pytest

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import norb

TYPES = [(0x1E3D4C55, "u1", np.uint8), (0x1E3D4C54, "<i4", np.int32),
         (0x1E3D4C56, "<i2", np.int16), (0x1E3D4C51, "<f4", np.float32),
         (0x1E3D4C53, "<f8", np.float64)]


def pack(magic, shape, values, dtype, stored_dims=None):
  dims = list(shape) + [1] * (3 - len(shape)) if stored_dims is None else stored_dims
  header = struct.pack("<Ii", magic, len(shape)) + struct.pack(f"<{len(dims)}i", *dims)
  return header + np.asarray(values, dtype=dtype).tobytes()


def values_for(native, shape, seed):
  rng = np.random.default_rng(seed)
  if np.dtype(native).kind == "f":
    return rng.normal(size=shape).astype(native)
  info = np.iinfo(native)
  return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(native)


@pytest.mark.parametrize("magic,little_endian,native", TYPES)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 1, 3, 2)])
def test_every_type_and_rank_round_trips(tmp_path, magic, little_endian, native, shape):
  values = values_for(native, shape, magic)
  data = pack(magic, shape, values, little_endian)
  # 1 to 3 dimensions still store three sizes: 8 + 12 header bytes; 4 dimensions store four.
  assert len(data) - values.nbytes == (24 if len(shape) == 4 else 20)
  path = tmp_path / "x.mat"
  path.write_bytes(data)
  gz = tmp_path / "x.mat.gz"
  gz.write_bytes(gzip.compress(data))
  for source in (path, gz, io.BytesIO(data)):
    out = norb.read_norb(source)
    assert out.dtype == np.dtype(native)
    assert out.shape == shape
    np.testing.assert_array_equal(out, values)
  assert norb.norb_bytes(values) == data  # the encoder writes the same bytes
  header = norb.read_norb_header(gz)
  assert (header.code, header.shape, header.header_size) == (magic, shape, len(data) -
                                                              values.nbytes)


def test_padding_dims_are_ignored_whatever_their_value(tmp_path):
  values = np.arange(6, dtype=np.int32)
  path = tmp_path / "cat.mat"
  path.write_bytes(pack(0x1E3D4C54, (6,), values, "<i4", stored_dims=[6, 7, 0]))
  np.testing.assert_array_equal(norb.read_norb(path), values)


def test_smallnorb_shaped_files_and_batches(tmp_path):
  dat = np.arange(5 * 2 * 96 * 96, dtype=np.uint64).astype(np.uint8).reshape(5, 2, 96, 96)
  info = np.array([[4, 0, 0, 0], [6, 8, 34, 5], [7, 1, 2, 3], [8, 2, 4, 1], [9, 3, 6, 2]],
                  np.int32)
  (tmp_path / "dat.mat.gz").write_bytes(gzip.compress(norb.norb_bytes(dat)))
  (tmp_path / "info.mat").write_bytes(norb.norb_bytes(info))
  batches = list(norb.iter_norb(tmp_path / "dat.mat.gz", batch_items=2))
  assert [b.shape for b in batches] == [(2, 2, 96, 96), (2, 2, 96, 96), (1, 2, 96, 96)]
  np.testing.assert_array_equal(np.concatenate(batches), dat)
  np.testing.assert_array_equal(norb.read_norb(tmp_path / "info.mat"), info)
  header = norb.read_norb_header(tmp_path / "dat.mat.gz")
  assert (header.num_items, header.item_shape, header.dtype) == (5, (2, 96, 96), np.uint8)


def write(tmp_path, data, name="bad.mat"):
  path = tmp_path / name
  path.write_bytes(data)
  return path


def expect_error(path, *substrings, reader=norb.read_norb):
  with pytest.raises(SourceFormatError) as e:
    reader(path)
    if reader is norb.iter_norb:
      list(reader(path))
  message = str(e.value)
  assert message.startswith(str(path) + ": ")
  for s in substrings:
    assert s in message, message
  return message


def test_bad_magic(tmp_path):
  path = write(tmp_path, struct.pack("<Ii3i", 0x12345678, 1, 4, 1, 1) + bytes(4))
  expect_error(path, "not a NORB binary matrix: unknown magic number 0x12345678",
               "0x1E3D4C55=uint8", "neither gzip nor xz compressed")


def test_packed_magic_is_named(tmp_path):
  path = write(tmp_path, struct.pack("<Ii3i", 0x1E3D4C52, 1, 4, 1, 1) + bytes(4))
  expect_error(path, "packed NORB matrix (magic 0x1E3D4C52) is not supported")


def test_big_endian_file_is_a_bad_magic(tmp_path):
  path = write(tmp_path, struct.pack(">Ii3i", 0x1E3D4C55, 1, 4, 1, 1) + bytes(4))
  expect_error(path, "unknown magic number 0x554C3D1E")


def test_negative_ndim(tmp_path):
  path = write(tmp_path, struct.pack("<Ii3i", 0x1E3D4C55, -2, 4, 1, 1))
  expect_error(path, "negative number of dimensions (-2) in the header")


@pytest.mark.parametrize("ndim", [0, 65])
def test_ndim_out_of_range(tmp_path, ndim):
  path = write(tmp_path, struct.pack("<Ii3i", 0x1E3D4C55, ndim, 4, 1, 1))
  expect_error(path, f"{ndim} dimensions in the header; a NORB matrix has 1 to 64")


def test_negative_dim(tmp_path):
  path = write(tmp_path, struct.pack("<Ii3i", 0x1E3D4C54, 2, 3, -4, 1))
  expect_error(path, "dimension 1 is negative (-4) in the header 3x-4")


def test_dims_claiming_more_bytes_than_present_fail_before_allocating(tmp_path):
  # 2^31-1 × 2 × 96 × 96 uint8 would be ~40 TB: refused from the header alone.
  path = write(tmp_path, struct.pack("<Ii4i", 0x1E3D4C55, 4, 2**31 - 1, 2, 96, 96) + bytes(100))
  message = expect_error(path, "the header claims 39582418581504 bytes of data after a 24 byte "
                         "header", "the file holds 124 bytes")
  expect_error(path, "the header claims", reader=norb.read_norb_header)
  assert "truncated" in message


def test_gzipped_dims_claiming_too_much_fail_before_reading(tmp_path):
  data = struct.pack("<Ii3i", 0x1E3D4C54, 2, 2**30, 4, 1) + bytes(16)
  path = write(tmp_path, gzip.compress(data), "bad.mat.gz")
  expect_error(path, "the header claims 17179869184 bytes", "byte gzip file can hold at most")


def test_truncated_data(tmp_path):
  data = pack(0x1E3D4C54, (3, 4), np.arange(12), "<i4")[:-5]
  # A stored file's size is known, so the header is refused before reading the data.
  expect_error(write(tmp_path, data), "the header claims 48 bytes of data after a 20 byte header, "
               "but the file holds 63 bytes: the header is wrong or the file is truncated")
  # Inside a well-formed gzip stream the shortfall shows only when the data runs out.
  path = write(tmp_path, gzip.compress(data), "short.mat.gz")
  expect_error(path, "truncated: expected 48 bytes of 3x4 int32 elements at offset 20, "
               "found only 43")
  # Read in batches, the same words: the batch's shape and element type.
  expect_error(path, "truncated: expected 48 bytes of 3x4 int32 elements at offset 20, "
               "found only 43", reader=norb.iter_norb)


def test_truncated_header(tmp_path):
  expect_error(write(tmp_path, struct.pack("<I", 0x1E3D4C55)), "too short to be a NORB binary "
               "matrix")
  expect_error(write(tmp_path, struct.pack("<Iii", 0x1E3D4C55, 4, 2), "dims.mat"),
               "truncated: expected 16 bytes of NORB dimension sizes")


def test_trailing_bytes(tmp_path):
  path = write(tmp_path, pack(0x1E3D4C55, (2, 3), np.arange(6), "u1") + b"xyz")
  expect_error(path, "3 unexpected trailing bytes after the NORB matrix data (the header says "
               "the data ends at offset 26)")
  expect_error(path, "3 unexpected trailing bytes", reader=norb.iter_norb)


def test_truncated_gzip_stream(tmp_path):
  data = gzip.compress(pack(0x1E3D4C55, (4, 96, 96), np.zeros((4, 96, 96)), "u1"))
  path = write(tmp_path, data[:len(data) // 2], "cut.mat.gz")
  expect_error(path, "truncated")


def test_encoder_refuses_what_the_format_cannot_store():
  with pytest.raises(ValueError, match="cannot store dtype int64"):
    norb.norb_bytes(np.zeros(3, np.int64))
  with pytest.raises(ValueError, match="needs 1 to 64 dimensions, got 0"):
    norb.norb_bytes(np.uint8(3))


def smallnorb_split(tmp_path, n=3, dat=None, cat=None, info=None):
  arrays = {
      "dat": np.zeros((n, 2, 96, 96), np.uint8) if dat is None else dat,
      "cat": np.arange(n, dtype=np.int32) % 5 if cat is None else cat,
      "info": np.tile(np.array([[4, 8, 34, 5]], np.int32), (n, 1)) if info is None else info,
  }
  paths = []
  for kind, array in arrays.items():
    path = tmp_path / f"split-{kind}.mat.gz"
    path.write_bytes(gzip.compress(norb.norb_bytes(array)))
    paths.append(path)
  return paths


def test_smallnorb_labels_are_read_and_checked(tmp_path):
  categories, info = norb.read_smallnorb_labels(*smallnorb_split(tmp_path))
  assert categories.tolist() == [0, 1, 2]
  assert info.tolist() == [[4, 8, 34, 5]] * 3


@pytest.mark.parametrize("kwargs,bad,message", [
    (dict(cat=np.zeros(4, np.int32)), 1, "has 4 rows but {dat} has 3 image pairs; the files do "
     "not belong together"),
    (dict(info=np.zeros((3, 5), np.int32)), 2, "a smallNORB -info file holds an Nx4 int32 "
     "matrix, this one is 3x5 int32"),
    (dict(info=np.array([[10, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 6]], np.int32)), 2,
     "instance 10 of item 0 is not one of 0...9 (1 such values)"),
    (dict(info=np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 6]], np.int32)), 2,
     "lighting 6 of item 2 is not one of 0...5"),
    (dict(info=np.array([[0, 0, 36, 0]] * 3, np.int32)), 2,
     "azimuth 36 of item 0 is not one of 0...34 in steps of 2 (3 such values)"),
    (dict(cat=np.array([0, -1, 4], np.int32)), 1, "category -1 of item 1 is not one of 0...4"),
    (dict(dat=np.zeros((3, 96, 96), np.uint8)), 0, "a smallNORB -dat file holds an Nx2x96x96 "
     "uint8 matrix, this one is 3x96x96 uint8"),
    (dict(dat=np.zeros((3, 2, 96, 96), np.int16)), 0, "this one is 3x2x96x96 int16"),
])
def test_smallnorb_split_errors(tmp_path, kwargs, bad, message):
  paths = smallnorb_split(tmp_path, **kwargs)
  with pytest.raises(SourceFormatError) as e:
    norb.read_smallnorb_labels(*paths)
  assert str(e.value).startswith(str(paths[bad]) + ": ")
  assert message.format(dat=paths[0]) in str(e.value)
