"""fashion_mnist_idx and kmnist_idx: TFDS's builder test, exact values, official equivalence."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from tfds_builders.formats.idx import read_idx
from tfds_builders.mnist_family.fashion_mnist_idx import FashionMnistIdx
from tfds_builders.mnist_family.kmnist_idx import KmnistIdx
from conftest import DUMMY_DATA
from support import builder_testing
from mnist_family import official

FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CASES = [("fashion_mnist_idx", "fashion_mnist", official.official_mnist.FashionMNIST),
         ("kmnist_idx", "kmnist", official.official_mnist.KMNIST)]


class FashionMnistIdxTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = FashionMnistIdx
  EXAMPLE_DIR = str(DUMMY_DATA / "fashion_mnist_idx")
  SPLITS = {"train": 20, "test": 10}
  SKIP_CHECKSUMS = True


class KmnistIdxTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = KmnistIdx
  EXAMPLE_DIR = str(DUMMY_DATA / "kmnist_idx")
  SPLITS = {"train": 20, "test": 10}
  SKIP_CHECKSUMS = True


def build(name, tmp_path, **kwargs):
  builder = tfds.builder(name, data_dir=tmp_path / "ours", **kwargs)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=DUMMY_DATA / name))
  return builder


@pytest.mark.parametrize("name,official_name,official_cls", CASES)
def test_features_and_label_names_match_the_official_builder(name, official_name, official_cls):
  ours, theirs = tfds.builder(name).info, tfds.builder(official_name).info
  assert repr(ours.features) == repr(theirs.features)
  assert ours.features["label"].names == theirs.features["label"].names
  assert ours.supervised_keys == theirs.supervised_keys == ("image", "label")


def test_label_names():
  assert tfds.builder("fashion_mnist_idx").info.features["label"].names == [
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
      "Ankle boot"]
  assert tfds.builder("kmnist_idx").info.features["label"].names == [
      "o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


@pytest.mark.parametrize("name,official_name,official_cls", CASES)
def test_same_examples_as_the_official_builder_on_the_same_files(
    name, official_name, official_cls, tmp_path, no_network):
  sources = DUMMY_DATA / name
  ours = build(name, tmp_path)
  cls = official.on_local_files(
      official_cls, {s: (sources / i, sources / l) for s, (i, l) in FILES.items()}, tmp_path)
  theirs = cls(data_dir=tmp_path / "official")
  theirs.download_and_prepare()
  for split in FILES:
    official.assert_same_examples(ours, theirs, split)


@pytest.mark.parametrize("name", ["fashion_mnist_idx", "kmnist_idx"])
def test_labels_and_pixels_equal_the_source_rows(name, tmp_path):
  builder = build(name, tmp_path)
  for split, (images_name, labels_name) in FILES.items():
    images = read_idx(DUMMY_DATA / name / images_name)
    labels = read_idx(DUMMY_DATA / name / labels_name)
    got = official.examples(builder, split)
    # Each source row exactly once: sort both sides by (label, pixels).
    want = sorted((int(l), im.tobytes()) for im, l in zip(images, labels))
    have = sorted((int(ex["label"]), ex["image"][:, :, 0].tobytes()) for ex in got)
    assert have == want
  train_labels = [int(ex["label"]) for ex in official.examples(builder, "train")]
  assert np.bincount(train_labels, minlength=10).tolist() == [2] * 10
