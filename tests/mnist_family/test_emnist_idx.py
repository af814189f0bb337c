"""emnist_idx: every config on the generated zip, class names, upright, official equivalence."""

import string
import zipfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats.idx import read_idx
from tfds_builders.mnist_family import emnist_idx
from tfds_builders.mnist_family.emnist_idx import EmnistIdx
from conftest import DUMMY_DATA
from support import builder_testing
from mnist_family import official

SOURCES = DUMMY_DATA / "emnist_idx"
SUBSETS = ["byclass", "bymerge", "balanced", "letters", "digits", "mnist"]
# The generator writes train 10+i and test 5+i images for the i-th subset.
COUNTS = {s: {"train": 10 + i, "test": 5 + i} for i, s in enumerate(SUBSETS)}

for _subset in SUBSETS:
  for _config in (_subset, f"{_subset}_upright"):
    _name = "Emnist" + _config.title().replace("_", "") + "Test"
    globals()[_name] = type(_name, (builder_testing.BuilderTestCase,), dict(
        DATASET_CLASS=EmnistIdx, EXAMPLE_DIR=str(SOURCES), BUILDER_CONFIG_NAMES_TO_TEST=[_config],
        SPLITS=COUNTS[_subset], SKIP_CHECKSUMS=True))


def source_arrays(subset, split):
  with zipfile.ZipFile(SOURCES / "gzip.zip") as z:
    images = read_idx(z.open(emnist_idx.member_name(subset, split, "images-idx3")))
    labels = read_idx(z.open(emnist_idx.member_name(subset, split, "labels-idx1")))
  return images, labels


def build(config, tmp_path, manual_dir=SOURCES):
  builder = tfds.builder(f"emnist_idx/{config}", data_dir=tmp_path / "ours")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=manual_dir))
  return builder


def test_class_names_per_config():
  names = {c: tfds.builder(f"emnist_idx/{c}").info.features["label"].names for c in SUBSETS}
  digits = list(string.digits)
  assert names["byclass"] == digits + list(string.ascii_uppercase) + list(string.ascii_lowercase)
  assert names["bymerge"] == names["balanced"] == (
      digits + list(string.ascii_uppercase) + list("abdefghnqrt"))
  assert len(names["bymerge"]) == 47 and len(names["byclass"]) == 62
  assert names["letters"] == list(string.ascii_lowercase)
  assert names["digits"] == names["mnist"] == digits
  assert tfds.builder("emnist_idx/letters_upright").info.features["label"].names == (
      names["letters"])


def test_letters_source_label_1_is_a(tmp_path):
  builder = build("letters", tmp_path)
  _, labels = source_arrays("letters", "train")
  assert labels.min() == 1 and labels.max() <= 26
  got = sorted(int(ex["label"]) for ex in official.examples(builder, "train"))
  assert got == sorted(int(l) - 1 for l in labels)
  assert builder.info.features["label"].int2str(0) == "a"


@pytest.mark.parametrize("subset", ["letters", "byclass"])
def test_upright_config_is_the_transpose_of_the_stored_config(subset, tmp_path):
  stored = official.examples(build(subset, tmp_path / "s"), "test")
  upright = official.examples(build(f"{subset}_upright", tmp_path / "u"), "test")
  images, _ = source_arrays(subset, "test")
  # Same keys, so the same order; every upright image is its stored twin transposed.
  assert len(stored) == len(upright) == len(images)
  for a, b in zip(stored, upright):
    np.testing.assert_array_equal(b["image"][:, :, 0], a["image"][:, :, 0].T)
    assert a["label"] == b["label"]
  source_rows = {im.tobytes() for im in images}
  assert {ex["image"][:, :, 0].tobytes() for ex in stored} == source_rows
  assert {ex["image"][:, :, 0].T.tobytes() for ex in upright} == source_rows


@pytest.mark.parametrize("subset", SUBSETS)
def test_same_examples_as_the_official_emnist_on_the_same_files(subset, tmp_path, no_network):
  ours = build(subset, tmp_path)
  members = tmp_path / "members"
  members.mkdir()
  split_files = {}
  with zipfile.ZipFile(SOURCES / "gzip.zip") as z:
    for split in ("train", "test"):
      pair = []
      for kind in ("images-idx3", "labels-idx1"):
        path = members / emnist_idx.member_name(subset, split, kind).split("/")[-1]
        path.write_bytes(z.read(emnist_idx.member_name(subset, split, kind)))
        pair.append(path)
      split_files[split] = tuple(pair)
  cls = official.on_local_files(official.official_mnist.EMNIST, split_files, members)
  theirs = cls(config=subset, data_dir=tmp_path / "official")
  theirs.download_and_prepare()
  for split in ("train", "test"):
    # The official letters keeps the source labels 1..26 in a 37-class ClassLabel.
    official.assert_same_examples(ours, theirs, split, label_offset=1 if subset == "letters" else 0)


def test_the_four_member_files_in_manual_dir_are_used_without_the_zip(tmp_path, no_network):
  manual = tmp_path / "manual"
  manual.mkdir()
  with zipfile.ZipFile(SOURCES / "gzip.zip") as z:
    for split in ("train", "test"):
      for kind in ("images-idx3", "labels-idx1"):
        member = emnist_idx.member_name("digits", split, kind)
        (manual / member.split("/")[-1]).write_bytes(z.read(member))
  builder = build("digits", tmp_path, manual_dir=manual)
  assert builder.info.splits["train"].num_examples == COUNTS["digits"]["train"]


def test_a_zip_without_the_config_members_names_the_zip_and_member(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  with zipfile.ZipFile(manual / "gzip.zip", "w") as z:
    z.writestr("gzip/emnist-mnist-mapping.txt", "0 48\n")
  with pytest.raises(SourceFormatError) as e:
    build("mnist", tmp_path, manual_dir=manual)
  assert str(e.value) == (f"{manual / 'gzip.zip'}: has no member "
                          "gzip/emnist-mnist-train-images-idx3-ubyte.gz; is it EMNIST's gzip.zip?")


def test_a_truncated_member_is_named_inside_the_zip(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  with zipfile.ZipFile(SOURCES / "gzip.zip") as src, \
      zipfile.ZipFile(manual / "gzip.zip", "w") as out:
    for info in src.infolist():
      data = src.read(info)
      if info.filename == emnist_idx.member_name("mnist", "train", "images-idx3"):
        data = data[:len(data) // 2]
      out.writestr(info, data)
  with pytest.raises(SourceFormatError) as e:
    build("mnist", tmp_path, manual_dir=manual)
  assert str(e.value).startswith(
      f"{manual / 'gzip.zip'}!gzip/emnist-mnist-train-images-idx3-ubyte.gz: the gzip stream is "
      "truncated")
