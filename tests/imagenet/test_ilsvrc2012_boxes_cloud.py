"""ilsvrc2012_localization from `gs://`: the box archives are found by the same resolver and
streamed from the bucket like the images, and the dataset equals the build from a local folder
(on the local GCS emulator of tests/test_cloud_paths.py)."""

import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import DUMMY_DATA
from test_cloud_paths import bucket, build, no_outside_network  # noqa: F401  (fixtures)


def examples(builder):
  """split -> [(file name, label, image bytes, box bytes, box labels)] in the stored order."""
  out = {}
  for split in sorted(builder.info.splits):
    ds = builder.as_dataset(split=split, shuffle_files=False,
                            decoders={"image": tfds.decode.SkipDecoding()})
    out[split] = [(ex["file_name"], int(ex["label"]), ex["image"],
                   ex["objects"]["bbox"].tobytes(), ex["objects"]["label"].tolist())
                  for ex in tfds.as_numpy(ds)]
  return out


def test_localization_from_a_bucket_equals_the_local_build(bucket, tmp_path,  # noqa: F811
                                                           no_outside_network):  # noqa: F811
  local = build("ilsvrc2012_localization", tmp_path / "local", DUMMY_DATA / "ilsvrc2012")
  remote = build("ilsvrc2012_localization", tmp_path / "remote", f"{bucket}/ilsvrc2012")
  assert {s: i.num_examples for s, i in remote.info.splits.items()} == {
      "train": 21, "validation": 7, "test": 4}
  ours = examples(remote)
  assert ours == examples(local)
  # The boxes came along: 11 train and all 7 validation images have some.
  assert {split: sum(1 for ex in ours[split] if ex[4]) for split in ours} == {
      "train": 11, "validation": 7, "test": 0}
