"""MNIST-family and CSV inputs that lie or hold what their dataset cannot: IDX files of another
element type or shape, splits of 0 items, headers that honestly claim gigabytes in files of a few
kilobytes (gzip, xz, a gzip inside EMNIST's zip), a CSV line of 86 MB, names that are not UTF-8 or
not split names, files the process may not read. Each is refused with SourceFormatError naming
the file and what is wrong, leaves nothing `tfds.load` accepts, and (for the memory cases) is
refused within 300 MB of peak RSS above what the process held before, measured in a child.

The hostile files are made here, in well under a second each: deflate and xz turn blocks of zeros
into the same bytes every time, which are repeated (see gzip_of and xz_of).
"""

import gzip
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import DUMMY_DATA, REPO
from faults._children import MODES_APPLY_TO_ROOT_TOO, run_fresh
from faults.test_catalogue import refused
from tfds_builders.errors import ManualDirError, SourceFormatError
from tfds_builders.formats import dataset_meta
from tfds_builders.formats.idx import idx_bytes
from tfds_builders.mnist_family import CsvFolder, IdxFolder, emnist_idx
from tfds_builders.mnist_family.idx_base import MAX_SPLIT_ITEMS_WHY

RSS_BOUND_MB = 300
MNIST = DUMMY_DATA / "mnist_idx"
_BLOCK = 16 << 20


# ---------------------------------------------------------------- hostile files, made quickly

def gzip_of(head: bytes, zeros: int, tail: bytes = b"", block: int = _BLOCK) -> bytes:
  """A complete, valid gzip file of `head`, `zeros` zero bytes and `tail`.

  After a full flush deflate starts afresh, so every block of zeros compresses to the same bytes:
  they are computed once and repeated, instead of compressing gigabytes.
  """
  deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
  parts = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff", deflate.compress(head),
           deflate.flush(zlib.Z_FULL_FLUSH)]
  crc = zlib.crc32(head)
  full, rest = divmod(zeros, block)
  if full:
    zero_block = bytes(block)
    parts.append((deflate.compress(zero_block) + deflate.flush(zlib.Z_FULL_FLUSH)) * full)
    for _ in range(full):
      crc = zlib.crc32(zero_block, crc)
  parts.append(deflate.compress(bytes(rest) + tail) + deflate.flush())
  crc = zlib.crc32(bytes(rest) + tail, crc)
  parts.append(struct.pack("<II", crc, (len(head) + zeros + len(tail)) & 0xFFFFFFFF))
  return b"".join(parts)


def xz_of(head: bytes, zeros: int, block: int = _BLOCK) -> bytes:
  """A valid xz file of `head` and `zeros` zero bytes: concatenated xz streams (which the format
  allows and every reader follows), the one of a block of zeros repeated."""
  full, rest = divmod(zeros, block)
  return (lzma.compress(head) + lzma.compress(bytes(block), preset=0) * full +
          lzma.compress(bytes(rest)))


def idx_header(code: int, *dims: int) -> bytes:
  return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def test_the_quick_gzip_and_xz_files_hold_exactly_what_they_say():
  block = 1000
  data = b"head" + bytes(3 * block + 7) + b"tail"
  assert gzip.decompress(gzip_of(b"head", 3 * block + 7, b"tail", block=block)) == data
  assert lzma.decompress(xz_of(b"head", 3 * block + 7, block=block)) == data[:-4]


# ---------------------------------------------------------------- builds, in this process

def mnist_copy(tmp_path):
  manual = tmp_path / "manual"
  shutil.copytree(MNIST, manual, ignore=shutil.ignore_patterns("generate.py", "mnist_idx"))
  return manual


def int32_images():
  images = np.zeros((12, 28, 28), np.int32)
  images[:, 0, 0] = 300  # a cast to uint8 would store 44
  return images


def half_images():
  return np.full((12, 28, 28), 0.5, np.float32)  # a cast would store 0


TYPE_FAULTS = {
    "int32 images": ("t10k-images-idx3-ubyte.gz", int32_images(),
                     "holds int32 elements (type code 0x0C), but images must be uint8 (type code "
                     "0x08); other element types are refused, not converted"),
    "float32 images": ("t10k-images-idx3-ubyte.gz", half_images(),
                       "holds float32 elements (type code 0x0D), but images must be uint8 (type "
                       "code 0x08); other element types are refused, not converted"),
    "int8 images": ("t10k-images-idx3-ubyte.gz", np.zeros((12, 28, 28), np.int8),
                    "holds int8 elements (type code 0x09), but images must be uint8 (type code "
                    "0x08); other element types are refused, not converted"),
    "float32 labels": ("t10k-labels-idx1-ubyte.gz", np.full(12, 3.7, np.float32),
                       "holds float32 elements (type code 0x0D), but labels must be uint8 (type "
                       "code 0x08); other element types are refused, not converted"),
    "int32 labels": ("t10k-labels-idx1-ubyte.gz", np.full(12, 3, np.int32),
                     "holds int32 elements (type code 0x0C), but labels must be uint8 (type code "
                     "0x08); other element types are refused, not converted"),
    "labels Nx2": ("t10k-labels-idx1-ubyte.gz", np.zeros((12, 2), np.uint8),
                   "holds an array of shape 12x2, but labels are N (one value per item)"),
    "labels Nx1": ("t10k-labels-idx1-ubyte.gz", np.zeros((12, 1), np.uint8),
                   "holds an array of shape 12x1, but labels are N (one value per item)"),
    "images Nx784": ("t10k-images-idx3-ubyte.gz", np.zeros((12, 784), np.uint8),
                     "holds an array of shape 12x784, but images are Nx28x28"),
    "images 0x0": ("t10k-images-idx3-ubyte.gz", np.zeros((12, 0, 0), np.uint8),
                   "holds an array of shape 12x0x0, but images are Nx28x28"),
}


@pytest.mark.parametrize("fault", sorted(TYPE_FAULTS))
def test_mnist_idx_refuses_element_types_and_shapes_it_does_not_have(tmp_path, fault):
  name, array, problem = TYPE_FAULTS[fault]
  manual = mnist_copy(tmp_path)
  (manual / name).write_bytes(gzip.compress(idx_bytes(array)))
  assert refused("mnist_idx", manual, tmp_path / "data") == f"{manual / name}: {problem}"


def test_a_split_of_0_items_is_refused_naming_the_file(tmp_path):
  manual = mnist_copy(tmp_path)
  (manual / "t10k-images-idx3-ubyte.gz").write_bytes(
      gzip.compress(idx_bytes(np.zeros((0, 28, 28), np.uint8))))
  (manual / "t10k-labels-idx1-ubyte.gz").write_bytes(
      gzip.compress(idx_bytes(np.zeros((0,), np.uint8))))
  assert refused("mnist_idx", manual, tmp_path / "data") == (
      f"{manual / 't10k-images-idx3-ubyte.gz'}: holds 0 images: a split needs at least one "
      "example")


def test_fashion_and_kmnist_share_the_checks(tmp_path):
  for name in ("fashion_mnist_idx", "kmnist_idx"):
    manual = tmp_path / name
    shutil.copytree(DUMMY_DATA / name, manual, ignore=shutil.ignore_patterns("generate.py"))
    bad = manual / "train-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(idx_bytes(half_images()[:, :, :])))
    assert refused(name, manual, tmp_path / f"data_{name}") == (
        f"{bad}: holds float32 elements (type code 0x0D), but images must be uint8 (type code "
        "0x08); other element types are refused, not converted")


def emnist_zip_with(path, replace):
  """EMNIST's sample zip with some members replaced ({member: bytes})."""
  with zipfile.ZipFile(DUMMY_DATA / "emnist_idx" / "gzip.zip") as source, \
      zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
    for info in source.infolist():
      out.writestr(info.filename, replace.get(info.filename) or source.read(info))
  return path


def test_emnist_refuses_another_element_type_inside_its_zip(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  member = emnist_idx.member_name("letters", "train", "labels-idx1")
  emnist_zip_with(manual / "gzip.zip", {member: gzip.compress(idx_bytes(
      np.full(19, 3.7, np.float32)))})
  assert refused("emnist_idx/letters", manual, tmp_path / "data") == (
      f"{manual / 'gzip.zip'}!{member}: holds float32 elements (type code 0x0D), but labels must "
      "be uint8 (type code 0x08); other element types are refused, not converted")


def test_emnist_member_whose_bytes_disagree_with_its_crc_is_named(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  member = emnist_idx.member_name("mnist", "train", "labels-idx1")
  emnist_zip_with(manual / "gzip.zip", {})
  data = bytearray((manual / "gzip.zip").read_bytes())
  with zipfile.ZipFile(manual / "gzip.zip") as z:
    info = z.getinfo(member)
  # The local header is 30 bytes + name + extra; change the stored CRC in the central directory
  # and the local header alike, so that only the read itself can tell.
  wrong = struct.pack("<I", info.CRC ^ 1)
  data = data.replace(struct.pack("<I", info.CRC) + struct.pack("<II", info.compress_size,
                                                                   info.file_size),
                      wrong + struct.pack("<II", info.compress_size, info.file_size))
  (manual / "gzip.zip").write_bytes(bytes(data))
  assert refused("emnist_idx/mnist", manual, tmp_path / "data") == (
      f"{manual / 'gzip.zip'}!{member}: is damaged in the zip (Bad CRC-32); download the zip "
      "again")


# ---------------------------------------------------------------- memory, in a child process

CHILD = """
import json, os, resource, sys
import tensorflow_datasets as tfds
import tfds_builders


def rss_mb():
  with open("/proc/self/statm") as f:
    return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


{setup}
before = rss_mb()
try:
  run()
  error = None
except Exception as e:
  error = f"{{type(e).__name__}}: {{e}}"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"error": error, "grew_mb": peak - before}}))
"""


def in_child(setup: str):
  """Runs `setup` (which defines run()) in a fresh process (see run_fresh): its error text, and how
  far its peak RSS rose above what it held just before run()."""
  result = run_fresh(CHILD.format(setup=textwrap.dedent(setup)))
  print(f"peak RSS rose {result['grew_mb']:.0f} MB above the RSS before the run")  # shown by -rA
  return result["error"], result["grew_mb"]


def build_in_child(name, manual, data_dir):
  error, grew_mb = in_child(f"""
      builder = tfds.builder({name!r}, data_dir={str(data_dir)!r})
      def run():
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
            manual_dir={str(manual)!r}))
  """)
  assert not tfds.builder(name, data_dir=data_dir).is_prepared()
  return error, grew_mb


def test_a_gzip_honestly_claiming_2_5_m_images_beside_12_labels_is_refused_at_once(tmp_path):
  manual = mnist_copy(tmp_path)
  images = manual / "t10k-images-idx3-ubyte.gz"
  images.write_bytes(gzip_of(idx_header(0x08, 2_500_000, 28, 28), 2_500_000 * 784))
  assert len(images.read_bytes()) < 2_000_000
  error, grew_mb = build_in_child("mnist_idx", manual, tmp_path / "data")
  # Both headers are read before either body: the pair does not belong together.
  assert error == (f"SourceFormatError: {manual / 't10k-labels-idx1-ubyte.gz'}: has 12 labels but "
                   f"{images} has 2500000 images; the two files do not belong together")
  assert grew_mb < RSS_BOUND_MB


def test_an_xz_honestly_holding_2_6_gb_is_refused_by_what_the_dataset_can_hold(tmp_path):
  manual = tmp_path / "manual"
  shutil.copytree(DUMMY_DATA / "qmnist", manual, ignore=shutil.ignore_patterns("generate.py"))
  images = manual / "xnist-images-idx3-ubyte.xz"
  labels = manual / "xnist-labels-idx2-int.xz"
  count = 3_300_000  # 2.6 GB of pixels; the labels file agrees
  images.write_bytes(xz_of(idx_header(0x08, count, 28, 28), count * 784))
  labels.write_bytes(xz_of(idx_header(0x0C, count, 8), count * 32))
  assert len(images.read_bytes()) < 500_000
  error, grew_mb = build_in_child("qmnist_nist", manual, tmp_path / "data")
  assert error == (f"SourceFormatError: {images}: the header claims {count} images; "
                   f"{MAX_SPLIT_ITEMS_WHY}")
  assert grew_mb < RSS_BOUND_MB


def test_a_29_kb_emnist_zip_holding_2_6_gb_is_refused_by_what_the_dataset_can_hold(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  count = 3_300_000
  images = emnist_idx.member_name("mnist", "train", "images-idx3")
  archive = emnist_zip_with(manual / "gzip.zip", {
      images: gzip_of(idx_header(0x08, count, 28, 28), count * 784),
      emnist_idx.member_name("mnist", "train", "labels-idx1"):
          gzip_of(idx_header(0x08, count), count)})
  assert archive.stat().st_size < 60_000
  error, grew_mb = build_in_child("emnist_idx/mnist", manual, tmp_path / "data")
  assert error == (f"SourceFormatError: {archive}!{images}: the header claims {count} images; "
                   f"{MAX_SPLIT_ITEMS_WHY}")
  assert grew_mb < RSS_BOUND_MB


def long_first_line(path, fields=30_000_000):
  """A CSV whose first line is 3x10^7 fields, 90 MB, written without holding it."""
  with open(path, "wb") as f:
    f.write(b"1")
    piece = b",10" * 1_000_000
    for _ in range(fields // 1_000_000):
      f.write(piece)
    f.write(b"\n" + b",".join([b"1"] + [b"0"] * 784) + b"\n")
  return path


def test_a_csv_line_of_90_mb_is_refused_as_it_is_read(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  path = long_first_line(manual / "mnist_train.csv")
  error, grew_mb = build_in_child("mnist_csv", manual, tmp_path / "data")
  assert error == (f"SourceFormatError: {path}: line 1 is longer than {785 * 21 + 2} characters, "
                   "the most a row of 785 fields (a label and 784 pixel values) can take: it is "
                   "not a row of this file")
  assert grew_mb < RSS_BOUND_MB


def test_csv_folder_refuses_a_line_of_90_mb_in_bounded_memory(tmp_path):
  path = long_first_line(tmp_path / "mnist_train.csv")
  error, grew_mb = in_child(f"""
      from tfds_builders.mnist_family import CsvFolder
      def run():
        CsvFolder({str(tmp_path)!r})
  """)
  assert error == (
      f"SourceFormatError: {path}: line 1 is longer than {(1 + 2**20) * 21 + 2} characters, the "
      "most a row of a label and 1048576 pixels (1024x1024, the largest image a CSV row is read "
      "with) can take: it is not a row of this file")
  assert grew_mb < RSS_BOUND_MB


def test_idx_folder_meta_file_of_384_mb_of_nothing_is_refused_in_bounded_memory(tmp_path):
  count = 1_000_000
  (tmp_path / "a-labels-idx1-ubyte.gz").write_bytes(gzip_of(idx_header(0x08, count), count))
  (tmp_path / "a-images-idx3-ubyte.gz").write_bytes(
      gzip_of(idx_header(0x08, count, 1, 1), count))
  meta = tmp_path / "a-meta.gz"
  meta.write_bytes(gzip_of(b"", 3 * count * 128))  # 3 cells an item, every one empty
  error, grew_mb = in_child(f"""
      from tfds_builders.mnist_family import IdxFolder
      def run():
        IdxFolder({str(tmp_path)!r})
  """)
  assert error == f"SourceFormatError: {meta}: item 0: rows '' is not a whole number"
  assert grew_mb < RSS_BOUND_MB


def test_idx_folder_split_of_392_mb_cut_short_is_refused_before_it_is_held(tmp_path):
  count = 500_000
  pixels = count * 784
  (tmp_path / "a-labels-idx1-ubyte.gz").write_bytes(gzip_of(idx_header(0x08, count), count))
  images = tmp_path / "a-images-idx3-ubyte.gz"
  images.write_bytes(gzip_of(idx_header(0x08, count, 28, 28), pixels - 1))
  error, grew_mb = in_child(f"""
      from tfds_builders.mnist_family import IdxFolder
      builder = IdxFolder({str(tmp_path)!r})
      def run():
        builder.as_dataset(split="a")
  """)
  chunk = 8 << 20
  last = pixels % chunk
  assert error == (f"SourceFormatError: {images}: truncated: expected {last} bytes of pixels of "
                   f"{count} images at offset {16 + pixels - last}, found only {last - 1}")
  assert grew_mb < RSS_BOUND_MB


# ---------------------------------------------------------------- folders: types, counts, names

def folder_with(tmp_path, images, labels, subset="a"):
  (tmp_path / f"{subset}-images-idx3-ubyte").write_bytes(images)
  (tmp_path / f"{subset}-labels-idx1-ubyte").write_bytes(labels)
  return tmp_path


def folder_refusal(folder_cls, root, error=SourceFormatError) -> str:
  with pytest.raises(error) as e:
    folder_cls(root)
  return str(e.value)


@pytest.mark.parametrize("images,labels,bad,problem", [
    (np.zeros((2, 3, 3), np.int16), np.zeros(2, np.uint8), "images",
     "holds int16 elements (type code 0x0B), but images must be uint8 (type code 0x08); other "
     "element types are refused, not converted"),
    (np.full((2, 3, 3), 0.5, np.float32), np.zeros(2, np.uint8), "images",
     "holds float32 elements (type code 0x0D), but images must be uint8 (type code 0x08); other "
     "element types are refused, not converted"),
    (np.zeros((2, 3, 3), np.uint8), np.array([1.0, 2.5], np.float32), "labels",
     "holds float32 elements (type code 0x0D), but labels must be uint8 (type code 0x08), int8 "
     "(type code 0x09), int16 (type code 0x0B) or int32 (type code 0x0C); other element types "
     "are refused, not converted"),
    (np.zeros((2, 3, 3), np.uint8), np.zeros((2, 1), np.uint8), "labels",
     "holds an array of shape 2x1, but labels are N (one value per item)"),
    (np.zeros((0, 3, 3), np.uint8), np.zeros(0, np.uint8), "labels",
     "holds 0 labels: a split needs at least one example"),
])
def test_idx_folder_refuses_types_it_would_have_to_cast_and_empty_splits(tmp_path, images, labels,
                                                                         bad, problem):
  folder_with(tmp_path, idx_bytes(images), idx_bytes(labels))
  path = tmp_path / ("a-images-idx3-ubyte" if bad == "images" else "a-labels-idx1-ubyte")
  assert folder_refusal(IdxFolder, tmp_path) == f"{path}: {problem}"


def test_idx_folder_refuses_2_32_images_of_0x0_from_24_bytes(tmp_path):
  folder_with(tmp_path, idx_header(0x08, 2**32 - 1, 0, 0), idx_header(0x08, 2**32 - 1))
  assert folder_refusal(IdxFolder, tmp_path) == (
      f"{tmp_path / 'a-labels-idx1-ubyte'}: the header claims 4294967295 bytes of data after a 8 "
      "byte header, but the file holds 8 bytes: the header is wrong or the file is truncated")
  # The same claims, honestly held by xz: refused by what a split may hold, before any body.
  (tmp_path / "a-labels-idx1-ubyte").write_bytes(xz_of(idx_header(0x08, 2**32 - 1), 0))
  assert folder_refusal(IdxFolder, tmp_path) == (
      f"{tmp_path / 'a-labels-idx1-ubyte'}: the header claims 4294967295 labels; IdxFolder reads "
      "at most 10000000 items in a split (it holds a split in memory); pass max_items= to read "
      "more")
  (tmp_path / "a-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(3, np.uint8)))
  (tmp_path / "a-images-idx3-ubyte").write_bytes(idx_header(0x08, 3, 0, 0))
  assert folder_refusal(IdxFolder, tmp_path) == (
      f"{tmp_path / 'a-images-idx3-ubyte'}: the header gives its images the size 0x0, which holds "
      "no value")


def test_idx_folder_keeps_signed_labels_exactly(tmp_path):
  # int32 labels: every value kept, 255 is a class like any other, -1 is "no label".
  images = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
  folder_with(tmp_path, idx_bytes(images), idx_bytes(np.array([255, -1, 299], np.int32)))
  (tmp_path / "labels.txt").write_text("".join(f"c{i}\n" for i in range(300)))
  got = list(tfds.as_numpy(IdxFolder(tmp_path).as_dataset(split="a")))
  assert [int(ex["label"]) for ex in got] == [255, -1, 299]
  np.testing.assert_array_equal(np.stack([ex["image"][:, :, 0] for ex in got]), images)


def test_csv_folder_refuses_pixels_it_would_have_to_cast(tmp_path):
  path = tmp_path / "mnist_a.csv"
  path.write_text("1,0,0.5,0,0\n")
  builder = CsvFolder(tmp_path)
  with pytest.raises(SourceFormatError) as e:
    builder.as_dataset(split="a")
  assert str(e.value) == f"{path}: line 1, field 3 (pixel 2): '0.5' is not an integer"


def test_csv_folder_meta_file_longer_than_a_split_may_be_is_refused_as_it_is_read(tmp_path):
  (tmp_path / "mnist_a.csv").write_text("1,0,0,0,0\n")
  (tmp_path / "meta_a.csv").write_text("x\n" * 11)
  with pytest.raises(SourceFormatError) as e:
    CsvFolder(tmp_path, max_items=10)
  assert str(e.value) == (f"{tmp_path / 'meta_a.csv'}: has more than 10 rows, more than the 10 "
                          "items a split may have")
  (tmp_path / "meta_a.csv").write_text("x" * 70_000 + "\n")
  with pytest.raises(SourceFormatError) as e:
    CsvFolder(tmp_path)
  assert str(e.value) == (f"{tmp_path / 'meta_a.csv'}: line 1 is longer than 65536 characters, "
                          "the most a meta row (an id and a size) can take: it is not a row of "
                          "this file")


def test_non_utf8_file_names_and_folder_paths_are_named(tmp_path):
  bad = os.fsdecode(b"tr\xffain")
  folder_with(tmp_path, idx_bytes(np.zeros((2, 3, 3), np.uint8)),
              idx_bytes(np.zeros(2, np.uint8)), subset=bad)
  assert folder_refusal(IdxFolder, tmp_path) == (
      f"{tmp_path}: holds a file name that is not UTF-8 text ('tr\\udcffain-images-idx3-ubyte'); "
      "its subset would be a split name, which must be text: rename the file")
  csv_dir = tmp_path / "csv"
  csv_dir.mkdir()
  (csv_dir / f"mnist_{bad}.csv").write_text("1,0,0,0,0\n")
  assert folder_refusal(CsvFolder, csv_dir) == (
      f"{csv_dir}: holds a file name that is not UTF-8 text ('mnist_tr\\udcffain.csv'); its "
      "subset would be a split name, which must be text: rename the file")
  folder = tmp_path / bad
  folder.mkdir()
  assert folder_refusal(IdxFolder, folder, ManualDirError) == (
      f"'{tmp_path}/tr\\udcffain': the folder's path is not UTF-8 text, which TFDS needs for a "
      "data dir; rename the folder")


@pytest.mark.parametrize("subset", ["my split", "a[1]", "a.b"])
def test_subsets_that_cannot_be_split_names_are_refused_not_skipped(tmp_path, subset):
  folder_with(tmp_path, idx_bytes(np.zeros((2, 3, 3), np.uint8)),
              idx_bytes(np.zeros(2, np.uint8)), subset=subset)
  assert folder_refusal(IdxFolder, tmp_path) == (
      f"{tmp_path / f'{subset}-images-idx3-ubyte'}: the subset name {subset!r} cannot be a split "
      "name: TFDS split names hold only letters, digits, '_' and '-'; rename the file")
  (tmp_path / f"mnist_{subset}.csv").write_text("1,0,0,0,0\n")
  assert folder_refusal(CsvFolder, tmp_path) == (
      f"{tmp_path / f'mnist_{subset}.csv'}: the subset name {subset!r} cannot be a split name: "
      "TFDS split names hold only letters, digits, '_' and '-'; rename the file")


def test_a_non_ascii_subset_that_is_a_split_name_is_read(tmp_path):
  folder_with(tmp_path, idx_bytes(np.full((2, 3, 3), 7, np.uint8)),
              idx_bytes(np.array([1, 2], np.uint8)), subset="тест")
  got = list(tfds.as_numpy(IdxFolder(tmp_path).as_dataset(split="тест")))
  assert [int(ex["label"]) for ex in got] == [1, 2]


@pytest.mark.parametrize("text,problem", [
    (b"cat\ndo\xffg\n", "is not UTF-8 text (byte 6: invalid start byte)"),
    (json.dumps({"labels": ["cat", "dog\nbird"]}).encode(),
     "class name 'dog\\nbird' holds a line break; a class name is one line of text"),
])
def test_class_lists_that_are_not_one_name_a_line_of_text(tmp_path, text, problem):
  name = "labels.txt" if text.startswith(b"cat") else "dataset_meta.json"
  (tmp_path / name).write_bytes(text)
  with pytest.raises(SourceFormatError) as e:
    dataset_meta.read_class_names(tmp_path)
  assert str(e.value) == f"{tmp_path / name}: {problem}"


def test_a_class_list_larger_than_any_is_refused_before_it_is_read(tmp_path):
  path = tmp_path / "labels.txt"
  with open(path, "wb") as f:
    f.truncate(dataset_meta.MAX_NAMES_BYTES + 1)
  with pytest.raises(SourceFormatError) as e:
    dataset_meta.read_class_names(tmp_path)
  assert str(e.value) == (f"{path}: is larger than {dataset_meta.MAX_NAMES_BYTES} bytes, more "
                          "than any list of class names: not a class list")


# ---------------------------------------------------------------- permissions

def test_sources_the_process_may_not_read_are_named(tmp_path):
  manual = mnist_copy(tmp_path)
  idx_dir = tmp_path / "idx"
  shutil.copytree(DUMMY_DATA / "idx_folder", idx_dir, ignore=shutil.ignore_patterns("generate.py"))
  csv_dir = tmp_path / "csv"
  shutil.copytree(DUMMY_DATA / "csv_folder", csv_dir, ignore=shutil.ignore_patterns("generate.py"))
  locked = tmp_path / "locked"
  shutil.copytree(DUMMY_DATA / "csv_folder", locked, ignore=shutil.ignore_patterns("generate.py"))
  data_dir = tmp_path / "data"
  for path in (manual / "t10k-labels-idx1-ubyte.gz", idx_dir / "dataset_meta.json",
               csv_dir / "mnist_test.csv"):
    os.chmod(path, 0o000)
  os.chmod(locked, 0o000)
  script = MODES_APPLY_TO_ROOT_TOO + textwrap.dedent(f"""
      import tensorflow_datasets as tfds
      import tfds_builders
      from tfds_builders.mnist_family import CsvFolder, IdxFolder
      for run in (
          lambda: tfds.builder("mnist_idx", data_dir={str(data_dir)!r}).download_and_prepare(
              download_config=tfds.download.DownloadConfig(manual_dir={str(manual)!r})),
          lambda: IdxFolder({str(idx_dir)!r}),
          lambda: CsvFolder({str(csv_dir)!r}),
          lambda: CsvFolder({str(locked)!r})):
        try:
          run()
          print("no error")
        except Exception as e:
          print(type(e).__name__ + ": " + str(e))
  """)
  out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=600, cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  denied = ("permission denied: this process may not read it (check the file's permissions and "
            "owner)")
  assert out.stdout.splitlines()[-4:] == [
      f"SourceFormatError: {manual / 't10k-labels-idx1-ubyte.gz'}: {denied}",
      f"SourceFormatError: {idx_dir / 'dataset_meta.json'}: {denied}",
      f"SourceFormatError: {csv_dir / 'mnist_test.csv'}: {denied}",
      f"SourceFormatError: {locked}: permission denied: this process may not list this folder "
      "(check its permissions and owner)",
  ], out.stderr[-3000:]
