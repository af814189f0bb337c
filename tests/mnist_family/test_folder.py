"""IdxFolder and CsvFolder on Datumaro's exports, read like tfds.ImageFolder.

dummy_data/idx_folder and dummy_data/csv_folder are what Datumaro's `mnist` and `mnist_csv`
exporters write for one dataset (test_folder_datumaro.py checks that against Datumaro itself
when it is installed): a 28x28 subset, one with other sizes and ids, one with ids only, one with
other sizes only. Every example is compared with the generator's own arrays.
"""

import gzip
import importlib.util
import json
import logging
import shutil
import struct

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401
from tfds_builders.errors import ManualDirError, SourceFormatError
from tfds_builders.export import export
from tfds_builders.formats.idx import idx_bytes
from tfds_builders.formats.mnist_csv import mnist_csv_bytes
from tfds_builders.mnist_family import CsvFolder, IdxFolder
from conftest import DUMMY_DATA

IDX_SAMPLE = DUMMY_DATA / "idx_folder"
CSV_SAMPLE = DUMMY_DATA / "csv_folder"
FOLDERS = [(IdxFolder, IDX_SAMPLE), (CsvFolder, CSV_SAMPLE)]
NAMES = ["circle", "square", "triangle"]
COUNTS = {"small": 4, "test": 5, "train": 8, "validation": 3}


def _load_generator():
  spec = importlib.util.spec_from_file_location("idx_folder_generate",
                                                IDX_SAMPLE / "generate.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


SOURCE = _load_generator().dataset()  # subset -> (ids, images, labels with None = no label)


def refusal(folder_cls, root, error=SourceFormatError) -> str:
  with pytest.raises(error) as e:
    folder_cls(root)
  return str(e.value)


def examples(builder, split, **kwargs):
  return list(tfds.as_numpy(builder.as_dataset(split=split, **kwargs)))


def assert_examples_are_the_source(got, subset, with_ids=True):
  ids, images, labels = SOURCE[subset]
  assert len(got) == len(images)
  for ex, item_id, image, label in zip(got, ids, images, labels):
    np.testing.assert_array_equal(ex["image"][:, :, 0], image)
    assert ex["label"] == (-1 if label is None else label)
    if with_ids:
      assert ex["id"].decode("utf-8") == item_id


def test_the_samples_hold_what_the_generator_made():
  assert {s: len(v[1]) for s, v in SOURCE.items()} == COUNTS
  assert SOURCE["test"][0] == ["circle_017", "square_003", "triangle_042", "3", "square_118"]
  assert [im.shape for im in SOURCE["test"][1]] == [(28, 28), (20, 20), (14, 22), (28, 28),
                                                   (9, 31)]
  assert SOURCE["validation"][0] == ["circle/a", "square/b", "triangle/\u00fc"]
  assert SOURCE["train"][2].count(None) == 1 and SOURCE["test"][2].count(None) == 1


@pytest.mark.parametrize("folder_cls,root", FOLDERS)
def test_datumaro_sample_every_example(folder_cls, root):
  builder = folder_cls(root)
  assert builder.info.features["label"].names == NAMES
  # Sizes differ within `test` and between subsets; ids come from the meta files.
  assert builder.info.features["image"].shape == (None, None, 1)
  assert sorted(builder.info.features.keys()) == ["id", "image", "label"]
  assert {s: builder.info.splits[s].num_examples for s in builder.info.splits} == COUNTS
  for subset in COUNTS:
    # Subsets without ids (train, small) have their items' indices as ids, as Datumaro does.
    assert_examples_are_the_source(examples(builder, subset), subset)
  supervised = examples(builder, "test", as_supervised=True)
  assert [int(label) for _, label in supervised] == [0, 1, 2, -1, 1]
  assert [image.shape for image, _ in supervised] == [(28, 28, 1), (20, 20, 1), (14, 22, 1),
                                                      (28, 28, 1), (9, 31, 1)]


def test_the_header_pixel_count_is_logged_once_per_file(caplog):
  with caplog.at_level(logging.INFO, logger="tfds_builders.folder"):
    IdxFolder(IDX_SAMPLE)
  assert [r.getMessage() for r in caplog.records if r.name == "tfds_builders.folder"] == [
      f"{IDX_SAMPLE / name}: the header's count, {pixels}, is the number of pixels, as "
      f"Datumaro's exporter writes it, not of images; read as {n} images"
      for name, pixels, n in [("small-images-idx3-ubyte.gz", 4 * 16 * 12, 4),
                              ("t10k-images-idx3-ubyte.gz", 2 * 784 + 400 + 308 + 279, 5),
                              ("train-images-idx3-ubyte.gz", 8 * 784, 8),
                              ("validation-images-idx3-ubyte.gz", 3 * 784, 3)]]


def copy_subset(tmp_path, root, names):
  for name in names + ["labels.txt", "dataset_meta.json"]:
    shutil.copy(root / name, tmp_path / name)
  return tmp_path


@pytest.mark.parametrize("folder_cls,root,names", [
    (IdxFolder, IDX_SAMPLE, ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]),
    (CsvFolder, CSV_SAMPLE, ["mnist_train.csv"]),
])
def test_a_28x28_datumaro_export_is_fixed_size_without_ids(tmp_path, folder_cls, root, names):
  builder = folder_cls(copy_subset(tmp_path, root, names))
  assert builder.info.features["image"].shape == (28, 28, 1)
  assert sorted(builder.info.features.keys()) == ["image", "label"]
  assert_examples_are_the_source(examples(builder, "train"), "train", with_ids=False)
  batch = next(iter(tfds.as_numpy(builder.as_dataset(split="train", batch_size=8))))
  assert batch["image"].shape == (8, 28, 28, 1)


def test_the_idx_sample_has_datumaro_headers():
  # The bytes the users saw fail: a header counting 8 x 784 pixels, not 8 images.
  data = gzip.decompress((IDX_SAMPLE / "train-images-idx3-ubyte.gz").read_bytes())
  assert struct.unpack(">4i", data[:16]) == (0x803, 8 * 784, 28, 28) and len(data) == 16 + 6272
  assert gzip.decompress((IDX_SAMPLE / "train-labels-idx1-ubyte.gz").read_bytes()) == (
      struct.pack(">2i", 0x801, 8) + bytes([0, 1, 2, 0, 255, 1, 2, 0]))
  assert gzip.decompress((IDX_SAMPLE / "test-meta.gz").read_bytes()) == np.array(
      [["circle_017", "28", "28"], ["square_003", "20", "20"], ["triangle_042", "14", "22"],
       ["3", "28", "28"], ["square_118", "9", "31"]], dtype="<U32").tobytes()
  assert not (IDX_SAMPLE / "train-meta.gz").exists()
  assert (IDX_SAMPLE / "labels.txt").read_text() == "circle\nsquare\ntriangle\n"
  assert json.loads((IDX_SAMPLE / "dataset_meta.json").read_text()) == {"labels": NAMES}
  assert (CSV_SAMPLE / "meta_small.csv").read_text() == "16,12\n" * 4


def test_idx_folder_built_in_the_test_with_any_size_and_subset(tmp_path):
  images = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
  labels = np.array([0, 255, 1, 1, 0], np.uint8)
  (tmp_path / "my_subset-images-idx3-ubyte").write_bytes(idx_bytes(images))
  (tmp_path / "my_subset-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
  (tmp_path / "labels.txt").write_text("no\nyes\n")
  builder = IdxFolder(str(tmp_path))
  assert builder.info.features["label"].names == ["no", "yes"]
  assert builder.info.features["image"].shape == (7, 3, 1)
  supervised = examples(builder, "my_subset", as_supervised=True)
  assert [int(label) for _, label in supervised] == [0, -1, 1, 1, 0]
  np.testing.assert_array_equal(np.stack([im[:, :, 0] for im, _ in supervised]), images)
  with pytest.raises(SourceFormatError) as e:
    IdxFolder(tmp_path, image_shape=(28, 28))
  assert e.value.path == str(tmp_path / "my_subset-images-idx3-ubyte")
  assert e.value.problem == "images are 7x3, expected 28x28"


def test_idx_folder_errors(tmp_path):
  with pytest.raises(ManualDirError, match="no <subset>-images-idx3-ubyte"):
    IdxFolder(tmp_path)
  (tmp_path / "a-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((2, 4, 4), np.uint8)))
  with pytest.raises(ManualDirError, match="found no matching labels-idx1 file for subset 'a'"):
    IdxFolder(tmp_path)
  (tmp_path / "a-labels-idx1-ubyte").write_bytes(idx_bytes(np.array([0, 12], np.uint8)))
  builder = IdxFolder(tmp_path)
  with pytest.raises(SourceFormatError, match="label 12 of item 1 is outside the class range 0..9"):
    examples(builder, "a")
  with pytest.raises(ValueError, match=r"Unknown split 'b'; .* has \['a'\]"):
    builder.as_dataset(split="b")


def test_a_line_break_in_a_file_name_is_never_a_subset(tmp_path):
  # `$` matches before a final line break: `mnist_a.csv\n` was read as the subset `a`.
  (tmp_path / "mnist_a.csv\n").write_text("1,0,0,0,0\n")
  assert refusal(CsvFolder, tmp_path, ManualDirError) == (
      f"{tmp_path}: no mnist_<subset>.csv files")
  (tmp_path / "a-images-idx3-ubyte\n").write_bytes(idx_bytes(np.zeros((1, 2, 2), np.uint8)))
  (tmp_path / "a-labels-idx1-ubyte\n").write_bytes(idx_bytes(np.zeros(1, np.uint8)))
  assert refusal(IdxFolder, tmp_path, ManualDirError) == (
      f"{tmp_path}: no <subset>-images-idx3-ubyte[.gz] with <subset>-labels-idx1-ubyte[.gz] "
      "files")
  # A line break inside the subset is refused by name, not skipped.
  broken = tmp_path / "mnist_a\nb.csv"
  broken.write_text("1,0,0,0,0\n")
  assert refusal(CsvFolder, tmp_path) == (
      f"{broken}: the subset name 'a\\nb' cannot be a split "
      "name: TFDS split names hold only letters, digits, '_' and '-'; rename the file")


def test_a_subset_exported_without_images(tmp_path):
  # Datumaro without --save-media writes the labels file and no images file.
  shutil.copy(IDX_SAMPLE / "train-labels-idx1-ubyte.gz", tmp_path)
  assert refusal(IdxFolder, tmp_path, ManualDirError) == (
      f"{tmp_path / 'train-labels-idx1-ubyte.gz'}: found no matching images-idx3 file for "
      "subset 'train', so none of its items has an image (Datumaro writes no images file when it "
      "exports without --save-media); a dataset of images needs the images")
  (tmp_path / "mnist_train.csv").write_text("0\n1\n2\n")
  assert refusal(CsvFolder, tmp_path) == (
      f"{tmp_path / 'mnist_train.csv'}: none of its 3 items has an image: their rows hold no "
      "pixels (only a label, or `label,None`), which is how Datumaro writes an item without "
      "image data; a dataset of images needs an image for every item")


def test_items_of_size_0x0_are_refused_naming_their_ids(tmp_path):
  copy_subset(tmp_path, IDX_SAMPLE, ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
  rows = [["circle_017", "28", "28"], ["square_003", "0", "0"], ["triangle_042", "14", "22"],
          ["3", "28", "28"], ["square_118", "9", "31"]]
  (tmp_path / "test-meta.gz").write_bytes(gzip.compress(np.array(rows, "<U32").tobytes()))
  assert refusal(IdxFolder, tmp_path) == (
      f"{tmp_path / 'test-meta.gz'}: item 1 ('square_003') of 5 has no image: the meta file "
      "gives it the size 0x0, which is how Datumaro writes an item without image data; a "
      "dataset of images needs an image for every item")


def test_header_counts_that_fit_neither_images_nor_pixels(tmp_path):
  copy_subset(tmp_path, IDX_SAMPLE, ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                                     "test-meta.gz"])
  images = tmp_path / "t10k-images-idx3-ubyte.gz"
  data = bytearray(gzip.decompress(images.read_bytes()))
  data[4:8] = struct.pack(">i", 3 * 784)
  images.write_bytes(gzip.compress(bytes(data)))
  assert refusal(IdxFolder, tmp_path) == (
      f"{images}: the header counts 2352 images (or pixels, as Datumaro writes it), but "
      f"{tmp_path / 't10k-labels-idx1-ubyte.gz'} has 5 items, which at the sizes in "
      f"{tmp_path / 'test-meta.gz'} make 2555 pixels; the files do not belong together")


def test_meta_files_without_their_subset(tmp_path):
  (tmp_path / "extra-meta.gz").write_bytes(gzip.compress(b""))
  assert refusal(IdxFolder, tmp_path, ManualDirError) == (
      f"{tmp_path / 'extra-meta.gz'}: a meta file of subset 'extra', which has no labels-idx1 "
      "and images-idx3 files")
  (tmp_path / "mnist_a.csv").write_bytes(mnist_csv_bytes(np.zeros((1, 28, 28)), [2]))
  (tmp_path / "meta_b.csv").write_text("x\n")
  assert refusal(CsvFolder, tmp_path, ManualDirError) == (
      f"{tmp_path / 'meta_b.csv'}: a meta file of subset 'b', which has no mnist_b.csv")
  (tmp_path / "meta_b.csv").rename(tmp_path / "meta_a.csv")
  (tmp_path / "meta_a.csv").write_text("x\ny\n")
  assert refusal(CsvFolder, tmp_path) == (
      f"{tmp_path / 'meta_a.csv'}: has 2 rows, but {tmp_path / 'mnist_a.csv'} has 1 items; the "
      "meta file describes one row per item")


def test_csv_folder_with_a_header_row_and_names_from_dataset_meta_json(tmp_path):
  images = np.arange(2 * 16, dtype=np.uint8).reshape(2, 4, 4)
  (tmp_path / "mnist_a.csv").write_bytes(mnist_csv_bytes(images, [2, -1], header=True))
  (tmp_path / "labels.txt").write_text("x\ny\n")
  (tmp_path / "dataset_meta.json").write_text(json.dumps({"labels": ["p", "q", "r"]}))
  builder = CsvFolder(tmp_path)
  assert builder.info.features["label"].names == ["p", "q", "r"]
  got = examples(builder, "a")
  assert [int(ex["label"]) for ex in got] == [2, -1]
  np.testing.assert_array_equal(np.stack([ex["image"][:, :, 0] for ex in got]), images)


def test_folders_are_not_registered():
  assert "idx_folder" not in tfds.list_builders()
  assert "csv_folder" not in tfds.list_builders()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
  data_dir = tmp_path_factory.mktemp("data")
  IdxFolder(IDX_SAMPLE).write_tfds_dataset("my_digits", data_dir=data_dir)
  return data_dir


def test_write_tfds_dataset_then_tfds_load_by_name(written, no_network):
  assert "my_digits" not in tfds.list_builders()
  builder = tfds.builder("my_digits", data_dir=written)
  assert builder.info.supervised_keys == ("image", "label")
  assert builder.info.features["label"].names == NAMES
  assert builder.info.features["image"].shape == (None, None, 1)
  assert {s: builder.info.splits[s].num_examples for s in builder.info.splits} == COUNTS
  for subset in COUNTS:
    # The files' order is kept: example i is item i.
    got = list(tfds.as_numpy(tfds.load("my_digits", split=subset, data_dir=written)))
    assert_examples_are_the_source(got, subset)
  supervised = tfds.load("my_digits", split="test", data_dir=written, as_supervised=True)
  assert [int(label) for _, label in tfds.as_numpy(supervised)] == [0, 1, 2, -1, 1]
  assert len(list(tfds.load("my_digits", split="train[:2]", data_dir=written))) == 2


def test_writing_the_same_name_twice_is_refused(written):
  with pytest.raises(RuntimeError, match="Dataset 'my_digits' was already prepared"):
    IdxFolder(IDX_SAMPLE).write_tfds_dataset("my_digits", data_dir=written)


@pytest.mark.parametrize("fmt,folder_cls,sample", [("idx", IdxFolder, IDX_SAMPLE),
                                                   ("csv", CsvFolder, CSV_SAMPLE)])
def test_written_dataset_exports_back_to_the_same_examples(tmp_path, written, fmt, folder_cls,
                                                           sample):
  for subset in COUNTS:
    export("my_digits", subset, fmt, tmp_path / subset, data_dir=written, progress=False)
    back = folder_cls(tmp_path / subset)
    assert list(back.info.splits) == [subset]
    assert back.info.features["label"].names == NAMES
    assert_examples_are_the_source(examples(back, subset), subset,
                                   with_ids=subset in ("test", "validation"))
  # CSV has no header to differ in: the export is Datumaro's file, byte for byte.
  if fmt == "csv":
    for subset in COUNTS:
      for path in (tmp_path / subset).iterdir():
        assert path.read_bytes() == (sample / path.name).read_bytes(), path
