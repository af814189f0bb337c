"""The IDX reader: every element type, any rank, gzip or not, and a clear error for each fault.

Expected bytes are packed here with struct, independently of the package's own encoder.
"""

import functools
import gzip
import io
import lzma
import struct

import numpy as np
import pytest

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import idx
from tfds_builders.formats.dataset_meta import ItemMeta

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


def pair(images, labels, images_kind=idx.IdxKind("images", (0x08,), (2, 2)),
         labels_kind=idx.MNIST_LABELS, max_items=100, **kwargs):
  """Every (images, labels) batch of a pair, joined."""
  batches = list(idx.iter_idx_pair(images, labels, images_kind, labels_kind,
                                   max_items=max_items, max_items_why="at most 100 here",
                                   **kwargs))
  return (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))


def test_pair_count_mismatch(tmp_path):
  images = tmp_path / "images"
  labels = tmp_path / "labels"
  images.write_bytes(pack(0x08, (3, 2, 2), np.zeros(12), ">u1"))
  labels.write_bytes(pack(0x08, (2,), [1, 2], ">u1"))
  with pytest.raises(SourceFormatError) as e:
    pair(images, labels)
  assert str(e.value) == (f"{labels}: has 2 labels but {images} has 3 images; the two files do "
                          "not belong together")


def test_pair_image_shape_and_label_range(tmp_path):
  images = tmp_path / "images"
  labels = tmp_path / "labels"
  images.write_bytes(pack(0x08, (2, 2, 2), np.arange(8), ">u1"))
  labels.write_bytes(pack(0x08, (2,), [3, 12], ">u1"))
  with pytest.raises(SourceFormatError) as e:
    pair(images, labels, idx.MNIST_IMAGES)
  assert str(e.value) == f"{images}: holds an array of shape 2x2x2, but images are Nx28x28"
  check = functools.partial(idx.check_labels, source_name=str(labels), num_classes=10)
  with pytest.raises(SourceFormatError) as e:
    pair(images, labels, check_labels=check)
  assert e.value.problem == ("label 12 of item 1 is outside the class range 0..9 "
                             "(1 such labels)")
  out_images, out_labels = pair(images, labels, batch_items=1,
                                check_labels=functools.partial(check, unlabeled=[12]))
  assert out_labels.tolist() == [3, 12]
  np.testing.assert_array_equal(out_images, np.arange(8).reshape(2, 2, 2))


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


# --- Datumaro's layout: the images header counts pixels; `<subset>-meta.gz` gives ids and sizes.
# Bytes are packed here with struct and numpy's own '<U32', as Datumaro's exporter does.


def datumaro_images(images, count=None) -> bytes:
  pixels = b"".join(np.asarray(im, np.uint8).tobytes() for im in images)
  return struct.pack(">4i", 0x803, len(pixels) if count is None else count, 28, 28) + pixels


def datumaro_meta(rows) -> bytes:
  return gzip.compress(np.array(rows, dtype="<U32").tobytes())


RNG = np.random.default_rng(14)
MIXED = [RNG.integers(0, 256, size, dtype=np.uint8) for size in [(28, 28), (2, 3), (5, 1)]]


def test_datumaro_pixel_count_of_28x28_images(tmp_path):
  images = RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)
  path = tmp_path / "train-images-idx3-ubyte.gz"
  path.write_bytes(gzip.compress(datumaro_images(images)))
  items = idx.read_image_items_header(path, 3)
  assert items.counts_pixels and items.header.shape == (3 * 784, 28, 28)
  assert items.uniform_size == (28, 28) and items.num_pixels == 2352
  items, got = idx.read_image_items(path, 3)
  np.testing.assert_array_equal(got, images)
  # The same images with the format's own count are read the same way.
  path.write_bytes(pack(0x08, (3, 28, 28), images, ">u1"))
  items, got = idx.read_image_items(path, 3)
  assert not items.counts_pixels
  np.testing.assert_array_equal(got, images)


def test_datumaro_mixed_sizes_follow_each_other(tmp_path):
  path = tmp_path / "t10k-images-idx3-ubyte.gz"
  path.write_bytes(gzip.compress(datumaro_images(MIXED)))
  items, got = idx.read_image_items(path, 3, [(28, 28), (2, 3), (5, 1)])
  assert items.counts_pixels and items.uniform_size is None and items.num_pixels == 795
  assert isinstance(got, list) and [g.shape for g in got] == [(28, 28), (2, 3), (5, 1)]
  for g, want in zip(got, MIXED):
    np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("rows,ids,sizes", [
    ([["a"], ["1"], ["b/\u00fc"]], ("a", "1", "b/\u00fc"), None),
    ([["28", "28"], ["2", "3"], ["5", "1"]], None, ((28, 28), (2, 3), (5, 1))),
    ([["x", "28", "28"], ["1", "2", "3"], ["z", "5", "1"]], ("x", "1", "z"),
     ((28, 28), (2, 3), (5, 1))),
])
def test_meta_file_with_ids_sizes_or_both(tmp_path, rows, ids, sizes):
  path = tmp_path / "test-meta.gz"
  path.write_bytes(datumaro_meta(rows))
  assert idx.read_meta(path, 3) == ItemMeta(ids, sizes)
  assert idx.meta_bytes(rows) == gzip.decompress(path.read_bytes())


def meta_error(tmp_path, data: bytes, num_items=2) -> str:
  path = tmp_path / "x-meta.gz"
  path.write_bytes(gzip.compress(data))
  with pytest.raises(SourceFormatError) as e:
    idx.read_meta(path, num_items, labels="x-labels")
  assert e.value.path == str(path)
  return e.value.problem


def test_meta_file_faults(tmp_path):
  assert meta_error(tmp_path, b"\0" * 130) == (
      "holds 130 bytes, not a whole number of 128-byte cells (32 UTF-32 characters each): not "
      "a Datumaro meta file")
  assert meta_error(tmp_path, np.array([["a"]] * 3, "<U32").tobytes()) == (
      "holds 3 cells for the 2 items of x-labels; a meta file holds 1, 2 or 3 per item ([id], "
      "[rows, cols] or [id, rows, cols])")
  assert meta_error(tmp_path, np.array([["a"]] * 7, "<U32").tobytes()) == (
      "holds more than 3 cells for each of the 2 items of x-labels; a meta file holds [id], "
      "[rows, cols] or [id, rows, cols] per item")
  assert meta_error(tmp_path, np.array([["2", "3"], ["4", "x"]], "<U32").tobytes()) == (
      "item 1: cols 'x' is not a whole number")
  assert meta_error(tmp_path, np.array([["2", "3"], ["-4", "1"]], "<U32").tobytes()) == (
      "item 1: rows '-4' is not a whole number")
  surrogate = b"\x00\xd8\x00\x00" + b"\0" * 124
  assert meta_error(tmp_path, b"\0" * 128 + surrogate) == (
      "cell 1 is not UTF-32 text (code point in surrogate code point range(0xd800, 0xe000))")


def test_meta_items_without_image_data_are_refused_by_name(tmp_path):
  # Datumaro gives an item whose image has no data the size [0, 0].
  data = np.array([["a", "28", "28"], ["b", "0", "0"], ["c", "0", "0"]], "<U32").tobytes()
  assert meta_error(tmp_path, data, 3) == (
      "items 1 ('b'), 2 ('c') of 3 have no image: the meta file gives them the size 0x0, which "
      "is how Datumaro writes an item without image data; a dataset of images needs an image "
      "for every item")


def items_error(tmp_path, data: bytes, num_items, sizes=None) -> str:
  path = tmp_path / "x-images-idx3-ubyte.gz"
  path.write_bytes(gzip.compress(data))
  with pytest.raises(SourceFormatError) as e:
    idx.read_image_items(path, num_items, sizes, labels="x-labels", meta="x-meta.gz")
  assert e.value.path == str(path)
  return e.value.problem


def test_image_counts_that_are_neither_images_nor_pixels_are_refused(tmp_path):
  images = np.zeros((3, 28, 28), np.uint8)
  assert items_error(tmp_path, datumaro_images(images), 4) == (
      "the header counts 2352 images (or pixels, as Datumaro writes it), but x-labels has 4 "
      "items, which at 28x28 make 3136 pixels; the files do not belong together")
  assert items_error(tmp_path, datumaro_images(MIXED, count=796), 3,
                     [(28, 28), (2, 3), (5, 1)]) == (
      "the header counts 796 images (or pixels, as Datumaro writes it), but x-labels has 3 "
      "items, which at the sizes in x-meta.gz make 795 pixels; the files do not belong together")
  assert items_error(tmp_path, pack(0x08, (2, 4, 4), np.zeros(32), ">u1"), 2,
                     [(4, 4), (2, 8)]) == (
      "the header says 2 images of 4x4, but x-meta.gz gives item 1 the size 2x8; a header that "
      "counts images has every image at its size")


def test_image_items_faults(tmp_path):
  assert items_error(tmp_path, pack(0x0C, (2, 2, 2), np.zeros(8), ">i4"), 2) == (
      "holds int32 elements (type code 0x0C), but images must be uint8 (type code 0x08); other "
      "element types are refused, not converted")
  assert items_error(tmp_path, pack(0x08, (2, 784), np.zeros(1568), ">u1"), 2) == (
      "holds an array of shape 2x784, but images are N x rows x cols")
  assert items_error(tmp_path, pack(0x08, (2**32 - 1, 0, 0), [], ">u1"), 2**32 - 1) == (
      "the header gives its images the size 0x0, which holds no value")
  # Datumaro's count is right but pixels are missing: an item written without its image.
  short = datumaro_images(MIXED)[:-5]
  assert items_error(tmp_path, short[:4] + struct.pack(">i", 795) + short[8:], 3,
                     [(28, 28), (2, 3), (5, 1)]) == (
      "truncated: expected 795 bytes of 795 pixels of 3 images at offset 16, found only 790")
  assert items_error(tmp_path, datumaro_images(MIXED) + b"\0", 3, [(28, 28), (2, 3), (5, 1)]) == (
      "1 unexpected trailing bytes after the IDX data (the header says the data ends at offset "
      "811); the header does not match the data")


def test_write_datumaro_subset_writes_what_datumaro_writes(tmp_path):
  paths = idx.write_datumaro_subset(tmp_path, "test", MIXED, [1, 255, 0], ["x", "1", "z"],
                                    mtime=0)
  assert [p.name for p in paths] == ["t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                                     "test-meta.gz"]
  for path in paths:
    raw = path.read_bytes()
    # gzip.open(path, "wb")'s header: deflate, FNAME set, time 0 here, level 9 (XFL 2), OS 255.
    assert raw[:10] == b"\x1f\x8b\x08\x08\0\0\0\0\x02\xff"
    assert raw[10:].startswith(path.name[:-3].encode() + b"\0")
  assert gzip.decompress(paths[0].read_bytes()) == struct.pack(">2i", 0x801, 3) + b"\x01\xff\x00"
  assert gzip.decompress(paths[1].read_bytes()) == datumaro_images(MIXED)
  assert gzip.decompress(paths[2].read_bytes()) == np.array(
      [["x", "28", "28"], ["1", "2", "3"], ["z", "5", "1"]], "<U32").tobytes()


def test_write_datumaro_subset_meta_only_when_ids_or_sizes_differ(tmp_path):
  images = RNG.integers(0, 256, (2, 28, 28), dtype=np.uint8)
  for folder in "abc":
    (tmp_path / folder).mkdir()
  paths = idx.write_datumaro_subset(tmp_path / "a", "train", images, [0, 1], ["0", "1"])
  assert [p.name for p in paths] == ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz"]
  paths = idx.write_datumaro_subset(tmp_path / "b", "train", images, [0, 1], ["p", "1"])
  assert gzip.decompress(paths[2].read_bytes()) == np.array([["p"], ["1"]], "<U32").tobytes()
  small = RNG.integers(0, 256, (2, 3, 4), dtype=np.uint8)
  paths = idx.write_datumaro_subset(tmp_path / "c", "s", small, [0, 1], count_pixels=False)
  # One size: the format's own header, which every IDX reader understands.
  assert gzip.decompress(paths[1].read_bytes()) == pack(0x08, (2, 3, 4), small, ">u1")
  assert gzip.decompress(paths[2].read_bytes()) == np.array([["3", "4"]] * 2, "<U32").tobytes()
  np.testing.assert_array_equal(idx.read_image_items(paths[1], 2, [(3, 4)] * 2)[1], small)


def test_write_datumaro_subset_refuses_what_the_meta_file_cannot_hold(tmp_path):
  with pytest.raises(ValueError, match="cells hold up to 32 characters"):
    idx.write_datumaro_subset(tmp_path, "a", MIXED, [0, 1, 2], ["x" * 33, "1", "2"])
  assert list(tmp_path.iterdir()) == []


def test_a_zero_dimension_beside_dimensions_too_large_for_numpy_is_a_format_error(tmp_path):
  # Found by Hypothesis: the data is empty, but numpy refuses the shape ("array is too big").
  path = tmp_path / "x-idx4-ubyte"
  path.write_bytes(bytes([0, 0, 8, 4]) + struct.pack(">IIII", 0, 67109633, 1784901021, 77))
  with pytest.raises(SourceFormatError) as e:
    idx.read_idx(path)
  assert str(e.value) == (f"{path}: the header claims a shape of 0x67109633x1784901021x77, "
                          "larger than any array can be")
