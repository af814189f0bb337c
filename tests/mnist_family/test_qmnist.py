"""qmnist and qmnist_nist on the generated files, every extended column, test10k/test50k, md5."""

import hashlib
import lzma
import struct

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from tfds_builders.sources import Resolver, SourceFile
from tfds_builders.errors import DownloadError, SourceFormatError
from tfds_builders.formats.idx import read_idx
from tfds_builders.mnist_family import qmnist
from tfds_builders.mnist_family.qmnist import Qmnist, QmnistNist
from conftest import DUMMY_DATA
from support import builder_testing

SOURCES = DUMMY_DATA / "qmnist"


class QmnistDefaultTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = Qmnist
  EXAMPLE_DIR = str(SOURCES)
  SPLITS = {"train": 24, "test": 10_010, "test10k": 10_000, "test50k": 10}
  OVERLAPPING_SPLITS = ["test", "test10k", "test50k"]
  SKIP_CHECKSUMS = True


class QmnistNistTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = QmnistNist
  EXAMPLE_DIR = str(SOURCES)
  SPLITS = {"nist": 16}
  SKIP_CHECKSUMS = True


def build(name, tmp_path, manual_dir=SOURCES):
  builder = tfds.builder(name, data_dir=tmp_path / "data")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=manual_dir))
  return builder


def by_nist_index(builder, split):
  return {int(ex["nist_index"]): ex
          for ex in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))}


def assert_rows_equal(examples, images, labels, rows):
  for r in rows:
    ex = examples[int(labels[r, 5])]
    np.testing.assert_array_equal(ex["image"][:, :, 0], images[r])
    assert int(ex["label"]) == labels[r, 0]
    for name, column in qmnist.COLUMNS.items():
      assert int(ex[name]) == labels[r, column], name


def test_features_are_the_label_and_every_extended_column():
  features = tfds.builder("qmnist").info.features
  assert sorted(features.keys()) == sorted(
      ["image", "label", "hsf_series", "writer_id", "writer_digit_index", "nist_class_code",
       "nist_index", "duplicate"])
  assert features["label"].names == [str(i) for i in range(10)]
  assert features["image"].shape == (28, 28, 1)


def test_every_row_and_column_equals_the_source(tmp_path, no_network):
  builder = build("qmnist", tmp_path)
  train_images = read_idx(SOURCES / "qmnist-train-images-idx3-ubyte.gz")
  train_labels = read_idx(SOURCES / "qmnist-train-labels-idx2-int.gz")
  assert train_labels.shape == (24, 8) and train_labels.dtype == np.int32
  train = by_nist_index(builder, "train")
  assert sorted(train) == train_labels[:, 5].tolist()
  assert_rows_equal(train, train_images, train_labels, range(24))
  test_images = read_idx(SOURCES / "qmnist-test-images-idx3-ubyte.gz")
  test_labels = read_idx(SOURCES / "qmnist-test-labels-idx2-int.gz")
  test50k = by_nist_index(builder, "test50k")
  assert sorted(test50k) == test_labels[10_000:, 5].tolist()
  assert_rows_equal(test50k, test_images, test_labels, range(10_000, 10_010))
  test10k = by_nist_index(builder, "test10k")
  assert sorted(test10k) == sorted(int(v) for v in test_labels[:10_000, 5])
  assert_rows_equal(test10k, test_images, test_labels, [0, 1, 4_321, 9_999])
  # QMNIST removed NIST's duplicate digits from its train and test files: column 6 is 0 there.
  for split in ("train", "test"):  # test10k and test50k are parts of test
    assert [ex["duplicate"] for ex in by_nist_index(builder, split).values()
            if ex["duplicate"]] == [], split


def test_qmnist_nist_reads_the_xz_files_and_nothing_else(tmp_path, no_network):
  manual = tmp_path / "manual"
  manual.mkdir()
  for name in ("xnist-images-idx3-ubyte.xz", "xnist-labels-idx2-int.xz"):
    (manual / name).write_bytes((SOURCES / name).read_bytes())
  builder = build("qmnist_nist", tmp_path, manual_dir=manual)
  assert list(builder.info.splits.keys()) == ["nist"]
  images = read_idx(SOURCES / "xnist-images-idx3-ubyte.xz")
  labels = read_idx(SOURCES / "xnist-labels-idx2-int.xz")
  nist = by_nist_index(builder, "nist")
  assert sorted(nist) == labels[:, 5].tolist()
  assert_rows_equal(nist, images, labels, range(16))
  # Three digits repeat an earlier one: `duplicate` holds that digit's global NIST index.
  assert {i: int(ex["duplicate"]) for i, ex in nist.items() if ex["duplicate"]} == {
      200_010: 200_000, 200_012: 200_002, 200_015: 200_005}
  for copy, original in ((200_010, 200_000), (200_012, 200_002), (200_015, 200_005)):
    np.testing.assert_array_equal(nist[copy]["image"], nist[original]["image"])


def test_xnist_md5_mismatch_of_a_download_deletes_it_and_fails(tmp_path):
  name = "xnist-labels-idx2-int.xz"
  mirror = tmp_path / "mirror"
  mirror.mkdir()
  (mirror / name).write_bytes(lzma.compress(b"not the real file"))
  fetcher = Resolver("qmnist", None, tmp_path / "downloads")
  with pytest.raises(DownloadError, match="the published md5 is 5ed0e788978e45d4a8bd4b7caec3d79d"):
    fetcher.get(SourceFile(name, (mirror.as_uri() + "/",), md5=qmnist.MD5[name]))
  assert list((tmp_path / "downloads" / "qmnist").iterdir()) == []


def test_xnist_md5_mismatch_in_manual_dir_is_a_warning(tmp_path, caplog):
  name = "xnist-labels-idx2-int.xz"
  (tmp_path / name).write_bytes(b"a local copy")
  fetcher = Resolver("qmnist", tmp_path, tmp_path / "downloads")
  assert fetcher.get(SourceFile(name, (), md5=qmnist.MD5[name])) == tmp_path / name
  assert (f"qmnist: 1 file(s) in the manual directory differ from the official ones and are "
          f"used as they are (put there on purpose?):\n  {tmp_path / name} (md5 is "
          f"{hashlib.md5(b'a local copy').hexdigest()}, the published md5 is "
          "5ed0e788978e45d4a8bd4b7caec3d79d)") in caplog.messages


def generate(tmp_path, images, labels):
  from tfds_builders.formats.idx import idx_bytes
  (tmp_path / "images").write_bytes(idx_bytes(images))
  (tmp_path / "labels").write_bytes(idx_bytes(labels))
  builder = tfds.builder("qmnist", data_dir=tmp_path / "data")
  return list(builder._generate_examples(tmp_path / "images", tmp_path / "labels", 0, None))


def test_labels_rows_must_match_the_images(tmp_path):
  with pytest.raises(SourceFormatError) as e:
    generate(tmp_path, np.zeros((3, 28, 28), np.uint8), np.zeros((2, 8), np.int32))
  assert str(e.value) == (f"{tmp_path / 'labels'}: has 2 label rows but {tmp_path / 'images'} "
                          "has 3 images; the two files do not belong together")


def test_labels_must_be_n_by_8_integers_with_classes_0_to_9(tmp_path):
  with pytest.raises(SourceFormatError) as e:
    generate(tmp_path, np.zeros((3, 28, 28), np.uint8), np.zeros((3, 7), np.int32))
  assert str(e.value) == (f"{tmp_path / 'labels'}: holds an array of shape 3x7, but label rows "
                          "are Nx8")
  labels = np.zeros((3, 8), np.int32)
  labels[2, 0] = 10
  with pytest.raises(SourceFormatError) as e:
    generate(tmp_path, np.zeros((3, 28, 28), np.uint8), labels)
  assert str(e.value) == (f"{tmp_path / 'labels'}: label 10 of item 2 is outside the class "
                          "range 0..9 (1 such labels)")


@pytest.mark.parametrize("images,labels,bad,problem", [
    # QMNIST's tables are int32; an int16 or float one would be cast without a word.
    (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 8), np.int16), "labels",
     "holds int16 elements (type code 0x0B), but label rows must be int32 (type code 0x0C); "
     "other element types are refused, not converted"),
    (np.zeros((3, 28, 28), np.uint8), np.full((3, 8), 3.7, np.float32), "labels",
     "holds float32 elements (type code 0x0D), but label rows must be int32 (type code 0x0C); "
     "other element types are refused, not converted"),
    (np.full((3, 28, 28), 0.5, np.float32), np.zeros((3, 8), np.int32), "images",
     "holds float32 elements (type code 0x0D), but images must be uint8 (type code 0x08); other "
     "element types are refused, not converted"),
    (np.zeros((0, 28, 28), np.uint8), np.zeros((0, 8), np.int32), "images",
     "holds 0 images: a split needs at least one example"),
])
def test_element_types_other_than_qmnist_s_are_refused(tmp_path, images, labels, bad, problem):
  with pytest.raises(SourceFormatError) as e:
    generate(tmp_path, images, labels)
  assert str(e.value) == f"{tmp_path / bad}: {problem}"


def test_a_split_whose_rows_the_file_does_not_have(tmp_path):
  from tfds_builders.formats.idx import idx_bytes
  (tmp_path / "images").write_bytes(idx_bytes(np.zeros((3, 28, 28), np.uint8)))
  (tmp_path / "labels").write_bytes(idx_bytes(np.zeros((3, 8), np.int32)))
  builder = tfds.builder("qmnist", data_dir=tmp_path / "data")
  with pytest.raises(SourceFormatError) as e:
    list(builder._generate_examples(tmp_path / "images", tmp_path / "labels", 10_000, None))
  assert str(e.value) == (f"{tmp_path / 'images'}: has 3 images; this split takes the rows after "
                          "the first 10000, so it would be empty")
  with pytest.raises(SourceFormatError) as e:
    list(builder._generate_examples(tmp_path / "images", tmp_path / "labels", 0, 10_000))
  assert str(e.value) == f"{tmp_path / 'images'}: has 3 images; this split needs rows 0..9999"


def test_nist_class_code_is_30_to_39_as_in_the_qmnist_files():
  # QMNIST's README gives column 4 the range 30-39 (NIST SD19's class codes), not ASCII 48-57.
  for name in ("qmnist-train-labels-idx2-int.gz", "qmnist-test-labels-idx2-int.gz",
               "xnist-labels-idx2-int.xz"):
    labels = read_idx(SOURCES / name)
    assert sorted(set(labels[:, 4].tolist())) == list(range(30, 40)), name
    assert (labels[:, 4] == 30 + labels[:, 0]).all(), name
  description = tfds.builder("qmnist").info.description
  assert "nist_class_code (NIST SD19's class code: 30-39 for the digits 0-9)" in description


def test_qmnist_nist_on_hand_packed_files_in_qmnist_s_layout(tmp_path, no_network):
  # QMNIST's own layout, packed byte by byte: labels idx2-int (magic 0x00000C02, N, 8, then
  # big-endian int32 rows), images idx3-ubyte (magic 0x00000803, N, 28, 28, then row-major bytes).
  rows = [  # class, hsf, writer, digit of writer, NIST class code, NIST index, duplicate, unused
      (3, 0, 12, 5, 33, 1_000, 0, 0),
      (7, 4, 2_100, 0, 37, 250_001, 0, 0),
      # QMNIST's README: "Column 6 of the extended labels then contain the index of the digit for
      # which this digit is a duplicate": this row repeats the first (NIST index 1000).
      (3, 0, 12, 6, 33, 1_001, 1_000, 0),
  ]
  first = bytes((7 * i) % 256 for i in range(28 * 28))
  pixels = [first, bytes([255]) * (28 * 28), first]
  labels = struct.pack(">III", 0x00000C02, len(rows), 8) + b"".join(
      struct.pack(">8i", *row) for row in rows)
  images = struct.pack(">IIII", 0x00000803, len(rows), 28, 28) + b"".join(pixels)
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / "xnist-labels-idx2-int.xz").write_bytes(lzma.compress(labels))
  (manual / "xnist-images-idx3-ubyte.xz").write_bytes(lzma.compress(images))
  nist = by_nist_index(build("qmnist_nist", tmp_path, manual_dir=manual), "nist")
  assert {index: {name: int(value) for name, value in ex.items() if name != "image"}
          for index, ex in nist.items()} == {
      1_000: {"label": 3, "hsf_series": 0, "writer_id": 12, "writer_digit_index": 5,
              "nist_class_code": 33, "nist_index": 1_000, "duplicate": 0},
      250_001: {"label": 7, "hsf_series": 4, "writer_id": 2_100, "writer_digit_index": 0,
                "nist_class_code": 37, "nist_index": 250_001, "duplicate": 0},
      1_001: {"label": 3, "hsf_series": 0, "writer_id": 12, "writer_digit_index": 6,
              "nist_class_code": 33, "nist_index": 1_001, "duplicate": 1_000},
  }
  for index, raw in zip((1_000, 250_001, 1_001), pixels):
    image = nist[index]["image"]
    assert image.shape == (28, 28, 1) and image.dtype == np.uint8
    assert image[:, :, 0].tobytes() == raw
  assert nist[1_000]["image"][0, :4, 0].tolist() == [0, 7, 14, 21]
  assert nist[1_000]["image"][1, 0, 0] == (7 * 28) % 256
