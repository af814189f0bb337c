"""norb_small against TFDS's own `smallnorb` on the same dummy files: every shared feature equal,
example by example (matched by `id`), in both configs, and the same feature definitions."""

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.datasets.smallnorb import smallnorb_dataset_builder as official

from tfds_builders.smallnorb.lookup import PoseIndex

from ._shared import PREFIXES, by_id, copy_sources

OFFICIAL_VERSION = "2.1.0"  # the official version with the `id` feature


class _OfficialOnLocalFiles(official.Builder, skip_registration=True):
  """The official builder, reading already decompressed local files instead of downloading."""

  local_dir = None

  def _split_generators(self, dl_manager):
    generators = []
    for split, prefix in PREFIXES.items():
      generators.append(tfds.core.SplitGenerator(
          name=split, gen_kwargs=dict(
              split_prefix=f"{split}_",
              **{f"{kind}_path": str(self.local_dir / f"{prefix}-{kind}.mat")
                 for kind in ("dat", "cat", "info")})))
    return generators


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  root = tmp_path_factory.mktemp("official_smallnorb")
  _OfficialOnLocalFiles.local_dir = copy_sources(root / "sources", gunzip=True)
  builder = _OfficialOnLocalFiles(data_dir=root / "data", version=OFFICIAL_VERSION)
  builder.download_and_prepare()
  return builder


def test_feature_definitions_match(reference, stereo, mono):
  theirs = reference.info.features
  for ours, extra, dropped in ((stereo, {"elevation_degrees", "azimuth_degrees"}, set()),
                               (mono, {"elevation_degrees", "azimuth_degrees", "camera"},
                                {"image2"})):
    assert set(ours.info.features) == (set(theirs) | extra) - dropped
    for name in set(theirs) - dropped:
      assert repr(ours.info.features[name]) == repr(theirs[name]), name
      if hasattr(theirs[name], "names"):
        assert ours.info.features[name].names == theirs[name].names
    assert ours.info.supervised_keys == reference.info.supervised_keys


@pytest.mark.parametrize("split", ["train", "test"])
def test_stereo_equals_official_example_by_example(reference, stereo, split):
  theirs = by_id(reference, split)
  ours = by_id(stereo, split)
  assert sorted(ours) == sorted(theirs) and len(ours) > 0
  for id_, [expected] in theirs.items():
    [example] = ours[id_]
    assert set(expected) <= set(example)
    for name, value in expected.items():
      np.testing.assert_array_equal(example[name], value, err_msg=f"{id_} {name}")


@pytest.mark.parametrize("split", ["train", "test"])
def test_mono_cameras_equal_official_image_and_image2(reference, mono, split):
  theirs = by_id(reference, split)
  ours = by_id(mono, split)
  assert sorted(ours) == sorted(theirs)
  for id_, [expected] in theirs.items():
    by_camera = {int(ex["camera"]): ex for ex in ours[id_]}
    assert sorted(by_camera) == [0, 1]
    np.testing.assert_array_equal(by_camera[0]["image"], expected["image"])
    np.testing.assert_array_equal(by_camera[1]["image"], expected["image2"])
    for example in by_camera.values():
      for name, value in expected.items():
        if name not in ("image", "image2"):
          np.testing.assert_array_equal(example[name], value, err_msg=f"{id_} {name}")


def test_pose_index_works_on_the_official_dataset(reference):
  index = PoseIndex(reference, "train")
  assert [ex["id"] for ex in index.turntable(0, 4, 2, 1)] == [
      b"train_00002", b"train_00006", b"train_00000", b"train_00004"]
