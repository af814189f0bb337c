"""norb_small on the generated dummy data: TFDS's builder test for both configs, exact pixels and
labels against the source arrays, the features of the official `smallnorb`, and clear errors."""

import gzip

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats.norb import norb_bytes
from tfds_builders.smallnorb.norb_small import NorbSmall
from support import builder_testing

from ._shared import POSES, PREFIXES, SOURCES, build, by_id, copy_sources, source_arrays

COUNTS = {split: len(poses) for split, poses in POSES.items()}


class NorbSmallStereoTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = NorbSmall
  EXAMPLE_DIR = str(SOURCES)
  BUILDER_CONFIG_NAMES_TO_TEST = ["stereo"]
  SPLITS = {"train": 8, "test": 7}
  SKIP_CHECKSUMS = True  # checksums are checked by tests/test_checksums.py, per mirror URL


class NorbSmallMonoTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = NorbSmall
  EXAMPLE_DIR = str(SOURCES)
  BUILDER_CONFIG_NAMES_TO_TEST = ["mono"]
  SPLITS = {"train": 16, "test": 14}
  SKIP_CHECKSUMS = True


def test_dummy_files_hold_the_pose_table():
  for split, poses in POSES.items():
    dat, cat, info = source_arrays(split)
    table = np.array(poses)
    assert dat.shape == (len(poses), 2, 96, 96) and dat.dtype == np.uint8
    np.testing.assert_array_equal(cat, table[:, 0])
    np.testing.assert_array_equal(info, table[:, 1:])
    for pair in dat:
      assert not np.array_equal(pair[0], pair[1])  # the two cameras differ


def expected_labels(split, index):
  category, instance, elevation, azimuth, lighting = POSES[split][index]
  return {
      "label_category": category, "instance": instance, "label_elevation": elevation,
      "label_azimuth": azimuth // 2, "label_lighting": lighting,
      "elevation_degrees": 30 + 5 * elevation, "azimuth_degrees": 10 * azimuth,
  }


def assert_labels(example, split, index):
  for name, value in expected_labels(split, index).items():
    assert example[name] == value, (name, example["id"])


@pytest.mark.parametrize("split", ["train", "test"])
def test_stereo_pixels_and_labels_equal_the_source_arrays(stereo, split, no_network):
  dat, _, _ = source_arrays(split)
  examples = by_id(stereo, split)
  prefix = {"train": "train_", "test": "test_"}[split]
  assert sorted(examples) == [f"{prefix}{i:05d}" for i in range(COUNTS[split])]
  for id_, [example] in examples.items():
    index = int(id_[-5:])
    assert example["image"].shape == example["image2"].shape == (96, 96, 1)
    np.testing.assert_array_equal(example["image"][:, :, 0], dat[index, 0])
    np.testing.assert_array_equal(example["image2"][:, :, 0], dat[index, 1])
    assert_labels(example, split, index)
    assert "camera" not in example


@pytest.mark.parametrize("split", ["train", "test"])
def test_mono_has_one_example_per_camera_image(mono, split, no_network):
  dat, _, _ = source_arrays(split)
  examples = by_id(mono, split)
  assert len(examples) == COUNTS[split]
  for id_, pair in examples.items():
    index = int(id_[-5:])
    assert sorted(int(ex["camera"]) for ex in pair) == [0, 1]
    for example in pair:
      assert set(example) == {"image", "camera", "label_category", "instance",
                              "label_elevation", "label_azimuth", "label_lighting", "id",
                              "elevation_degrees", "azimuth_degrees"}
      np.testing.assert_array_equal(example["image"][:, :, 0], dat[index, example["camera"]])
      assert_labels(example, split, index)


def test_info_configs_and_counts(stereo, mono):
  assert stereo.builder_config.name == "stereo" == tfds.builder("norb_small").builder_config.name
  assert [c.name for c in NorbSmall.BUILDER_CONFIGS] == ["stereo", "mono"]
  for builder, factor in ((stereo, 1), (mono, 2)):
    assert builder.info.supervised_keys == ("image", "label_category")
    assert {s: builder.info.splits[s].num_examples for s in ("train", "test")} == {
        s: factor * n for s, n in COUNTS.items()}
    assert builder.info.features["label_category"].names == [
        "four-legged animals", "human figures", "airplanes", "trucks", "cars"]
  assert mono.info.features["camera"].names == ["left", "right"]
  assert "image2" not in mono.info.features


def test_supervised_pairs(stereo):
  pairs = list(tfds.as_numpy(stereo.as_dataset(split="train", as_supervised=True)))
  assert sorted(int(label) for _, label in pairs) == sorted(p[0] for p in POSES["train"])


def test_already_decompressed_sources_are_accepted(tmp_path, no_network):
  manual = copy_sources(tmp_path / "manual", gunzip=True)
  builder = build(tmp_path / "data", "stereo", manual_dir=manual)
  assert builder.info.splits["test"].num_examples == COUNTS["test"]


def write_gz(path, array):
  path.write_bytes(gzip.compress(norb_bytes(array)))


@pytest.mark.parametrize("kind,array,message", [
    ("info", np.array([[0, 1, 3, 2]] * 7, np.int32),
     "azimuth 3 of item 0 is not one of 0...34 in steps of 2 (7 such values)"),
    ("info", np.array([[0, 9, 0, 0]] * 7, np.int32),
     "elevation 9 of item 0 is not one of 0...8 (7 such values)"),
    ("info", np.zeros((6, 4), np.int32),
     "has 6 rows but"),
    ("cat", np.full(7, 5, np.int32), "category 5 of item 0 is not one of 0...4"),
    ("cat", np.zeros(7, np.uint8), "a smallNORB -cat file holds an N int32 matrix, this one is "
     "7 uint8"),
    ("dat", np.zeros((7, 2, 32, 32), np.uint8), "a smallNORB -dat file holds an Nx2x96x96 uint8 "
     "matrix, this one is 7x2x32x32 uint8"),
])
def test_bad_source_files_name_the_file_and_the_problem(tmp_path, kind, array, message):
  manual = copy_sources(tmp_path / "manual")
  bad = manual / f"{PREFIXES['test']}-{kind}.mat.gz"
  write_gz(bad, array)
  with pytest.raises(SourceFormatError) as e:
    build(tmp_path / "data", "stereo", manual_dir=manual)
  assert str(e.value).startswith(str(bad) + ": ")
  assert message in str(e.value)


def test_images_missing_from_the_dat_file_are_reported_while_streaming(tmp_path):
  manual = copy_sources(tmp_path / "manual")
  bad = manual / f"{PREFIXES['train']}-dat.mat.gz"
  dat, _, _ = source_arrays("train")
  # A well-formed gzip stream whose header promises 8 pairs but holds 7 and a half: only the
  # streaming read (in the encoding thread) can notice.
  bad.write_bytes(gzip.compress(norb_bytes(dat)[:-96 * 96 - 100]))
  with pytest.raises(SourceFormatError) as e:
    build(tmp_path / "data", "mono", manual_dir=manual)
  assert str(e.value) == (f"{bad}: truncated: expected 147456 bytes of 8x2x96x96 uint8 elements "
                          "at offset 24, found only 138140")
