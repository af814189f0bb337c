"""PoseIndex on the dummy data, whose poses are known: each query returns exactly its examples."""

import numpy as np
import pytest

from tfds_builders.smallnorb.lookup import PoseIndex

from ._shared import POSES, build, source_arrays


@pytest.fixture(scope="module")
def stereo_index(stereo):
  return {split: PoseIndex(stereo, split) for split in ("train", "test")}


def ids(examples):
  return [ex["id"].decode() for ex in examples]


def test_every_pose_finds_exactly_its_pair(stereo_index):
  for split, poses in POSES.items():
    dat, _, _ = source_arrays(split)
    index = stereo_index[split]
    assert index.num_examples == len(poses)
    for row, (category, instance, elevation, azimuth, lighting) in enumerate(poses):
      [example] = index.find(category, instance, elevation, azimuth // 2, lighting)
      assert example["id"].decode() == f"{split}_{row:05d}"
      np.testing.assert_array_equal(example["image"][:, :, 0], dat[row, 0])
      np.testing.assert_array_equal(example["image2"][:, :, 0], dat[row, 1])


def test_degrees_and_category_names(stereo_index):
  index = stereo_index["train"]
  [example] = index.find("airplanes", 6, 30, 340, 5, degrees=True)
  assert example["id"] == b"train_00001"
  assert (example["elevation_degrees"], example["azimuth_degrees"]) == (30, 340)
  assert ids(index.find("four-legged animals", 4, 40, 20, 1, degrees=True)) == ["train_00006"]


def test_absent_pose_finds_nothing(stereo_index):
  assert stereo_index["train"].find(0, 4, 2, 4, 2) == []  # lighting 2 was not photographed
  assert stereo_index["test"].find(0, 4, 2, 0, 1) == []  # a training pose


def test_turntable_strip_in_azimuth_order(stereo_index):
  strip = stereo_index["train"].turntable(0, 4, 2, 1)
  # File rows 2, 6, 0, 4 hold azimuths 0, 2, 4, 6 (tens of degrees).
  assert ids(strip) == ["train_00002", "train_00006", "train_00000", "train_00004"]
  assert [int(ex["azimuth_degrees"]) for ex in strip] == [0, 20, 40, 60]
  assert ids(stereo_index["test"].turntable("cars", 5, 60, 0, degrees=True)) == [
      "test_00005", "test_00002", "test_00006"]


def test_queries_use_the_index_not_the_dataset(stereo_index, monkeypatch):
  index = stereo_index["train"]

  def no_scan(*args, **kwargs):
    raise AssertionError("a query read the dataset")

  monkeypatch.setattr(index.builder, "as_dataset", no_scan)
  assert index.positions(0, 4, 2, 3, 1) == [index.positions(0, 4, 2, 3, 1)[0]]
  assert len({p for pose in POSES["train"] for p in index.positions(
      pose[0], pose[1], pose[2], pose[3] // 2, pose[4])}) == 8


def test_mono_index_has_both_cameras(mono):
  index = PoseIndex(mono, "train")
  assert index.num_examples == 16
  pair = index.find(0, 4, 2, 0, 1)
  assert ids(pair) == ["train_00002"] * 2
  assert sorted(int(ex["camera"]) for ex in pair) == [0, 1]
  dat, _, _ = source_arrays("train")
  [right] = index.find(0, 4, 2, 0, 1, camera=1)
  np.testing.assert_array_equal(right["image"][:, :, 0], dat[2, 1])
  assert ids(index.turntable(0, 4, 2, 1, camera=0)) == [
      "train_00002", "train_00006", "train_00000", "train_00004"]


def test_array_record_datasets_are_read_by_random_access(tmp_path):
  builder = build(tmp_path, "stereo", file_format="array_record")
  index = PoseIndex(builder, "test")
  [example] = index.find(3, 3, 7, 15, 5)
  assert example["id"] == b"test_00004"
  dat, _, _ = source_arrays("test")
  np.testing.assert_array_equal(example["image"][:, :, 0], dat[4, 0])


def test_bad_queries_say_what_is_wrong(stereo_index):
  index = stereo_index["train"]
  with pytest.raises(ValueError, match=r"45 is not a smallNORB azimuth in degrees \(one of "
                     r"\[0, 20, 40"):
    index.find(0, 4, 40, 45, 1, degrees=True)
  with pytest.raises(ValueError, match="unknown category 'boats'"):
    index.find("boats", 4, 2, 0, 1)
  with pytest.raises(ValueError, match="has no `camera` feature; use the mono config"):
    index.find(0, 4, 2, 0, 1, camera=0)


def test_load_by_name(stereo, norb_data_dir):
  index = PoseIndex.load("norb_small/stereo", "test", data_dir=norb_data_dir)
  assert ids(index.find("human figures", 1, 3, 4, 4)) == ["test_00001"]
