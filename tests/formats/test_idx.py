"""The IDX reader: every element type, any rank, gzip or not, and a clear error for each fault.

Expected bytes are packed here with struct, independently of the package's own encoder.
"""

import gzip
import io
import lzma
import struct

import numpy as np
import pytest

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import idx

TYPES = [(0x08, ">u1", np.uint8), (0x09, ">i1", np.int8), (0x0B, ">i2", np.int16),
         (0x0C, ">i4", np.int32), (0x0D, ">f4", np.float32), (0x0E, ">f8", np.float64)]


def pack(code, shape, values, dtype):
  header = bytes([0, 0, code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape)
  return header + np.asarray(values, dtype=dtype).tobytes()


@pytest.mark.parametrize("code,big_endian,native", TYPES)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 1, 3, 2)])
def test_every_type_and_rank_round_trips(tmp_path, code, big_endian, native, shape):
  rng = np.random.default_rng(code)
  if np.dtype(native).kind == "f":
    values = rng.normal(size=shape).astype(native)
  else:
    info = np.iinfo(native)
    values = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(native)
  data = pack(code, shape, values, big_endian)
  path = tmp_path / "x.idx"
  path.write_bytes(data)
  for source in (path, io.BytesIO(data)):
    out = idx.read_idx(source)
    assert out.dtype == np.dtype(native)
    assert out.shape == shape
    np.testing.assert_array_equal(out, values)
  assert idx.idx_bytes(values) == data  # the encoder writes the same bytes


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress])
def test_compressed_files_are_detected_by_their_bytes(tmp_path, compress):
  values = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
  path = tmp_path / "named-without-suffix"
  path.write_bytes(compress(pack(0x08, (2, 3, 4), values, ">u1")))
  np.testing.assert_array_equal(idx.read_idx(path), values)
  header = idx.read_idx_header(path)
  assert (header.num_items, header.item_shape, header.dtype) == (2, (3, 4), np.dtype(">u1"))


def test_qmnist_style_int32_matrix_needs_no_special_case(tmp_path):
  table = np.array([[5, 0, 12, 3, 35, 100, 0, 0], [7, 4, 99, 1, 37, 101, 1, 0]], np.int32)
  path = tmp_path / "labels-idx2-int"
  path.write_bytes(struct.pack(">I", 0x00000C02) + struct.pack(">II", 2, 8) +
                   table.astype(">i4").tobytes())
  np.testing.assert_array_equal(idx.read_idx(path), table)


def test_iter_idx_yields_batches_equal_to_the_whole(tmp_path):
  values = np.arange(10 * 4 * 4, dtype=np.uint8).reshape(10, 4, 4)
  path = tmp_path / "x.gz"
  path.write_bytes(gzip.compress(pack(0x08, values.shape, values, ">u1")))
  batches = list(idx.iter_idx(path, batch_items=3))
  assert [len(b) for b in batches] == [3, 3, 3, 1]
  np.testing.assert_array_equal(np.concatenate(batches), values)


def error_of(tmp_path, data: bytes, name="bad.idx") -> str:
  path = tmp_path / name
  path.write_bytes(data)
  with pytest.raises(SourceFormatError) as e:
    idx.read_idx(path)
  assert str(e.value).startswith(str(path) + ": ")
  return e.value.problem


def test_wrong_magic(tmp_path):
  assert error_of(tmp_path, b"\x01\x02\x08\x01" + b"\x00" * 12) == (
      "not an IDX file: magic number 01020801 does not start with two zero bytes "
      "(it is neither gzip nor xz compressed)")


def test_unknown_type_code(tmp_path):
  problem = error_of(tmp_path, b"\x00\x00\x0a\x01\x00\x00\x00\x01\x00")
  assert problem.startswith("unknown IDX element type code 0x0A in magic number 00000a01")


def test_zero_dimensions(tmp_path):
  assert error_of(tmp_path, b"\x00\x00\x08\x00") == (
      "IDX header has 0 dimensions; at least 1 is needed")


def test_empty_and_too_short(tmp_path):
  assert error_of(tmp_path, b"") == "the file is empty"
  assert error_of(tmp_path, b"\x00\x00") == (
      "too short to be an IDX file (no 4-byte magic number)")


def test_header_claiming_more_than_the_file_holds_is_rejected_before_allocating(tmp_path):
  # 2^31 images of 28x28 in a 1 KB file: refused from the header alone.
  data = b"\x00\x00\x08\x03" + struct.pack(">III", 2**31, 28, 28) + b"\x00" * 1000
  problem = error_of(tmp_path, data)
  assert problem == (
      f"the header claims {2**31 * 784} bytes of data after a 16 byte header, but the file "
      "holds 1016 bytes: the header is wrong or the file is truncated")


def test_gzip_header_claiming_beyond_the_deflate_bound(tmp_path):
  data = gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">III", 2**31, 28, 28) + b"\x00" * 64)
  problem = error_of(tmp_path, data, "x.gz")
  assert f"a {len(data)} byte gzip file can hold at most" in problem


def test_dims_whose_product_overflows_32_bits(tmp_path):
  # 65536 * 65536 * 2 wraps to 0 in 32-bit arithmetic; the reader must not be fooled.
  data = b"\x00\x00\x08\x03" + struct.pack(">III", 65536, 65536, 2)
  problem = error_of(tmp_path, data)
  assert problem.startswith(f"the header claims {65536 * 65536 * 2} bytes of data")


def test_truncated_data_in_a_gzip_member(tmp_path):
  # The header is honest but the data stops early (a valid gzip of a short file).
  data = gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 100) + b"\x07" * 60)
  assert error_of(tmp_path, data, "x.gz") == (
      "truncated: expected 100 bytes of 100 uint8 elements at offset 8, found only 60")


def test_trailing_bytes(tmp_path):
  data = pack(0x08, (4,), [1, 2, 3, 4], ">u1") + b"\xff\xff"
  assert error_of(tmp_path, data) == (
      "2 unexpected trailing bytes after the IDX data (the header says the data ends at offset "
      "12); the header does not match the data")


def test_truncated_gzip_stream(tmp_path):
  full = gzip.compress(pack(0x08, (300,), np.arange(300) % 256, ">u1"))
  problem = error_of(tmp_path, full[: len(full) // 2], "x.gz")
  assert problem.startswith("the gzip stream is truncated")


def test_corrupt_gzip_crc(tmp_path):
  full = bytearray(gzip.compress(pack(0x08, (300,), np.arange(300) % 256, ">u1")))
  full[-8] ^= 0xFF  # the CRC32 of the trailer
  problem = error_of(tmp_path, bytes(full), "x.gz")
  assert problem.startswith("the gzip stream is corrupt") and "CRC check failed" in problem


def test_missing_file(tmp_path):
  with pytest.raises(SourceFormatError, match=r"nope\.gz: file not found"):
    idx.read_idx(tmp_path / "nope.gz")


def test_pair_count_mismatch(tmp_path):
  images = tmp_path / "images"
  labels = tmp_path / "labels"
  images.write_bytes(pack(0x08, (3, 2, 2), np.zeros(12), ">u1"))
  labels.write_bytes(pack(0x08, (2,), [1, 2], ">u1"))
  with pytest.raises(SourceFormatError) as e:
    idx.read_idx_pair(images, labels, num_classes=10)
  assert str(e.value) == (f"{labels}: has 2 labels but {images} has 3 images; the two files do "
                          "not belong together")


def test_pair_image_shape_and_label_range(tmp_path):
  images = tmp_path / "images"
  labels = tmp_path / "labels"
  images.write_bytes(pack(0x08, (2, 2, 2), np.zeros(8), ">u1"))
  labels.write_bytes(pack(0x08, (2,), [3, 12], ">u1"))
  with pytest.raises(SourceFormatError, match="images are 2x2, expected 28x28"):
    idx.read_idx_pair(images, labels, num_classes=10, image_shape=(28, 28))
  with pytest.raises(SourceFormatError) as e:
    idx.read_idx_pair(images, labels, num_classes=10)
  assert e.value.problem == ("label 12 of item 1 is outside the class range 0..9 "
                             "(1 such labels)")
  _, out = idx.read_idx_pair(images, labels, num_classes=10, unlabeled=[12])
  assert out.tolist() == [3, 12]


def test_formats_never_import_tensorflow():
  import ast
  import pathlib
  import tfds_builders.formats as formats
  for path in pathlib.Path(formats.__file__).parent.glob("*.py"):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
      names = []
      if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom):
        names = [node.module or ""]
      for name in names:
        assert not name.split(".")[0] in ("tensorflow", "tensorflow_datasets"), (path, name)
