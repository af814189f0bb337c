"""IdxFolder and CsvFolder: users' own Datumaro-style folders read like tfds.ImageFolder."""

import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401
from tfds_builders.errors import ManualDirError, SourceFormatError
from tfds_builders.formats.idx import idx_bytes, read_idx
from tfds_builders.formats.mnist_csv import mnist_csv_bytes, read_mnist_csv
from tfds_builders.mnist_family import CsvFolder, IdxFolder
from conftest import DUMMY_DATA


def examples(builder, split, **kwargs):
  return list(tfds.as_numpy(builder.as_dataset(split=split, **kwargs)))


def test_idx_folder_from_the_generated_datumaro_export():
  root = DUMMY_DATA / "idx_folder"
  builder = IdxFolder(root)
  # dataset_meta.json wins over labels.txt; t10k is Datumaro's test subset.
  assert builder.info.features["label"].names == ["circle", "square", "triangle"]
  assert builder.info.features["image"].shape == (20, 20, 1)
  assert {s: builder.info.splits[s].num_examples for s in builder.info.splits} == {
      "train": 9, "test": 4, "validation": 3}
  for split, prefix, suffix in (("train", "train", ".gz"), ("test", "t10k", ".gz"),
                                ("validation", "validation", "")):
    images = read_idx(root / f"{prefix}-images-idx3-ubyte{suffix}")
    labels = read_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}").astype(int)
    got = examples(builder, split)
    assert len(got) == len(images)
    for ex, image, label in zip(got, images, labels):
      np.testing.assert_array_equal(ex["image"][:, :, 0], image)
      assert ex["label"] == (-1 if label == 255 else label)
  assert [int(ex["label"]) for ex in examples(builder, "train")].count(-1) == 1


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
  batch = next(iter(tfds.as_numpy(builder.as_dataset(split="my_subset", batch_size=5))))
  assert batch["image"].shape == (5, 7, 3, 1)


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


def test_csv_folder_from_the_generated_folder():
  root = DUMMY_DATA / "csv_folder"
  builder = CsvFolder(root)
  assert builder.info.features["label"].names == ["cat", "dog"]
  assert {s: builder.info.splits[s].num_examples for s in builder.info.splits} == {
      "train": 8, "unlabeled": 3}
  for split in ("train", "unlabeled"):
    images, labels = read_mnist_csv(root / f"mnist_{split}.csv")
    got = examples(builder, split)
    np.testing.assert_array_equal(np.stack([ex["image"][:, :, 0] for ex in got]), images)
    assert [int(ex["label"]) for ex in got] == labels.tolist()
  assert {int(ex["label"]) for ex in examples(builder, "unlabeled")} == {-1}


def test_csv_folder_names_from_dataset_meta_json_over_labels_txt(tmp_path):
  (tmp_path / "mnist_a.csv").write_bytes(mnist_csv_bytes(np.zeros((1, 28, 28)), [2]))
  (tmp_path / "labels.txt").write_text("x\ny\n")
  (tmp_path / "dataset_meta.json").write_text(json.dumps({"labels": ["p", "q", "r"]}))
  builder = CsvFolder(tmp_path)
  assert builder.info.features["label"].names == ["p", "q", "r"]
  assert builder.info.features["label"].int2str(int(examples(builder, "a")[0]["label"])) == "r"


def test_folders_are_not_registered():
  assert "idx_folder" not in tfds.list_builders()
  assert "csv_folder" not in tfds.list_builders()


def test_write_tfds_dataset_then_tfds_load_by_name(tmp_path, no_network):
  root = DUMMY_DATA / "idx_folder"
  IdxFolder(root).write_tfds_dataset("my_shapes", data_dir=tmp_path)
  assert "my_shapes" not in tfds.list_builders()
  ds, info = tfds.load("my_shapes", split="train", data_dir=tmp_path, with_info=True,
                       shuffle_files=False)
  assert info.features["label"].names == ["circle", "square", "triangle"]
  assert info.features["image"].shape == (20, 20, 1)
  assert {s: info.splits[s].num_examples for s in info.splits} == {
      "train": 9, "test": 4, "validation": 3}
  images = read_idx(root / "train-images-idx3-ubyte.gz")
  labels = read_idx(root / "train-labels-idx1-ubyte.gz").astype(int)
  want = sorted((-1 if l == 255 else int(l), im.tobytes()) for im, l in zip(images, labels))
  got = sorted((int(ex["label"]), ex["image"][:, :, 0].tobytes()) for ex in tfds.as_numpy(ds))
  assert got == want
  assert len(list(tfds.load("my_shapes", split="test[:2]", data_dir=tmp_path))) == 2
