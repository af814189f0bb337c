"""mnist_csv: header or not, -1 labels, any mnist_<subset>.csv, class names from the folder."""

import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats.mnist_csv import mnist_csv_bytes, read_mnist_csv
from tfds_builders.mnist_family.mnist_csv import MnistCsv
from conftest import DUMMY_DATA
from support import builder_testing

SOURCES = DUMMY_DATA / "mnist_csv"


class MnistCsvTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = MnistCsv
  EXAMPLE_DIR = str(SOURCES)
  SPLITS = {"train": 12, "test": 6}
  SKIP_CHECKSUMS = True


def build(tmp_path, manual_dir=SOURCES):
  builder = tfds.builder("mnist_csv", data_dir=tmp_path / "data")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=manual_dir))
  return builder


def rows(builder, split):
  return sorted((int(ex["label"]), ex["image"][:, :, 0].tobytes())
                for ex in tfds.as_numpy(builder.as_dataset(split=split)))


def test_every_row_with_and_without_header_and_the_unlabeled_row(tmp_path, no_network):
  builder = build(tmp_path)
  assert builder.info.features["label"].names == [str(i) for i in range(10)]
  assert (SOURCES / "mnist_test.csv").read_text().startswith("label,1x1,")
  assert not (SOURCES / "mnist_train.csv").read_text().startswith("label")
  for split in ("train", "test"):
    images, labels = read_mnist_csv(SOURCES / f"mnist_{split}.csv")
    assert rows(builder, split) == sorted((int(l), im.tobytes()) for im, l in zip(images, labels))
  train_labels = [l for l, _ in rows(builder, "train")]
  assert train_labels.count(-1) == 1


def test_any_subset_file_is_a_split(tmp_path, no_network):
  manual = tmp_path / "manual"
  manual.mkdir()
  images = np.zeros((2, 28, 28), np.uint8)
  images[1, 3, 4] = 200
  (manual / "mnist_holdout.csv").write_bytes(mnist_csv_bytes(images, [7, -1]))
  builder = build(tmp_path, manual)
  assert list(builder.info.splits.keys()) == ["holdout"]
  got = rows(builder, "holdout")
  assert [l for l, _ in got] == [-1, 7]
  assert np.frombuffer(got[0][1], np.uint8).reshape(28, 28)[3, 4] == 200


def test_a_label_above_9_names_the_file(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / "mnist_train.csv").write_bytes(mnist_csv_bytes(np.zeros((2, 28, 28)), [1, 12]))
  with pytest.raises(SourceFormatError) as e:
    build(tmp_path, manual)
  assert str(e.value) == (f"{manual / 'mnist_train.csv'}: label 12 of item 1 is outside the "
                          "class range 0..9 (1 such labels)")


def test_other_class_names_point_to_csv_folder(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / "mnist_train.csv").write_bytes(mnist_csv_bytes(np.zeros((1, 28, 28)), [1]))
  (manual / "dataset_meta.json").write_text(json.dumps({"labels": ["a", "b"]}))
  with pytest.raises(SourceFormatError, match="read this folder with tfds_builders.mnist_family"
                                              ".CsvFolder"):
    build(tmp_path, manual)


def test_a_label_out_of_range_in_a_later_batch_names_its_row_in_the_file(tmp_path):
  from tfds_builders.mnist_family.mnist_csv import generate_csv_examples
  labels = np.zeros(5000, np.int64)
  labels[4500] = 12
  path = tmp_path / "mnist_train.csv"
  path.write_bytes(mnist_csv_bytes(np.zeros((5000, 2, 2), np.uint8), labels))
  with pytest.raises(SourceFormatError) as e:
    list(generate_csv_examples(path, [str(i) for i in range(10)], image_shape=(2, 2)))
  assert str(e.value) == (f"{path}: label 12 of item 4500 is outside the class range 0..9 (1 such "
                          "labels)")
