"""What a bare `tfds build NAME` builds: TFDS's command line builds every config of a name given
without one, so a config that needs inputs the others lack, or that copies a large dataset, would
make the plain command fail or write a dataset twice. ImageNet's and QMNIST's variants are builders
of their own; the builders with configs read one set of inputs for all of them."""

import shutil

import tensorflow_datasets as tfds

import tfds_builders
from conftest import DUMMY_DATA
from test_cli import run_tfds_build

# Every builder of ours that has configs, and why a bare build of it is fine: all its configs read
# the same files. A new config (or a new builder with configs) fails here until it is reviewed for
# what `tfds build NAME` then does, and docs/datasets.md's "What a bare `tfds build NAME` builds"
# says it.
CONFIGS = {
    "emnist_idx": ["byclass", "bymerge", "balanced", "letters", "digits", "mnist",
                   "byclass_upright", "bymerge_upright", "balanced_upright", "letters_upright",
                   "digits_upright", "mnist_upright"],  # all from the one gzip.zip
    "norb_small": ["stereo", "mono"],  # the same six .mat.gz files
}


def test_only_the_reviewed_builders_have_configs():
  configs = {name: [c.name for c in tfds.builder_cls(name).BUILDER_CONFIGS]
             for name in tfds_builders.builder_names()}
  assert {name: names for name, names in configs.items() if names} == CONFIGS
  assert tfds_builders.builder_names() == [
      "emnist_idx", "fashion_mnist_idx", "ilsvrc2012", "ilsvrc2012_localization",
      "ilsvrc2012_raw256", "kmnist_idx", "mnist_csv", "mnist_idx", "norb_small", "qmnist",
      "qmnist_nist"]


def test_the_default_config_is_the_first_one():
  # tfds.load("norb_small") reads stereo; DEFAULT_BUILDER_CONFIG_NAME is the attribute TFDS reads.
  assert tfds.builder_cls("norb_small").DEFAULT_BUILDER_CONFIG_NAME == "stereo"
  assert tfds.builder("norb_small").builder_config.name == "stereo"
  assert tfds.builder("emnist_idx").builder_config.name == "byclass"


def test_bare_ilsvrc2012_build_writes_imagenet_once_without_box_archives(tmp_path):
  # The README's command with what most users have: the two image archives and the devkit.
  manual = tmp_path / "imagenet"
  manual.mkdir()
  for name in ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar",
               "ILSVRC2012_devkit_t12.tar.gz"):
    shutil.copy(DUMMY_DATA / "ilsvrc2012" / name, manual / name)
  data_dir = tmp_path / "data"
  result = run_tfds_build(tmp_path, "ilsvrc2012", "--manual_dir", str(manual),
                          "--data_dir", str(data_dir))
  assert result.returncode == 0, result.stderr[-3000:]
  assert sorted(p.name for p in data_dir.iterdir() if p.name != "downloads") == ["ilsvrc2012"]
  # One version folder (beside it, the build lock's file).
  assert sorted(p.name for p in (data_dir / "ilsvrc2012").iterdir()) == [".1.0.0.lock", "1.0.0"]
  built = data_dir / "ilsvrc2012" / "1.0.0"
  assert sorted(p.name for p in built.iterdir() if "-of-" in p.name) == [
      "ilsvrc2012-train.tfrecord-00000-of-00001",
      "ilsvrc2012-validation.tfrecord-00000-of-00001"]
  builder = tfds.builder("ilsvrc2012", data_dir=data_dir)
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == {
      "train": 21, "validation": 7}
  assert list(builder.info.features) == ["image", "label", "file_name"]


def test_bare_qmnist_build_reads_only_the_qmnist_files(tmp_path):
  # Without the large xnist files: qmnist never asks for them (qmnist_nist does).
  manual = tmp_path / "qmnist"
  shutil.copytree(DUMMY_DATA / "qmnist", manual,
                  ignore=shutil.ignore_patterns("generate.py", "xnist-*"))
  data_dir = tmp_path / "data"
  result = run_tfds_build(tmp_path, "qmnist", "--manual_dir", str(manual),
                          "--data_dir", str(data_dir))
  assert result.returncode == 0, result.stderr[-3000:]
  assert sorted(p.name for p in data_dir.iterdir() if p.name != "downloads") == ["qmnist"]
  builder = tfds.builder("qmnist", data_dir=data_dir)
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == {
      "train": 24, "test": 10_010, "test10k": 10_000, "test50k": 10}
