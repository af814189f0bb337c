"""mnist_idx on the generated dummy data: TFDS's builder test, exact pixels and labels."""

import numpy as np
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from tfds_builders.formats.idx import read_idx
from tfds_builders.mnist_family.mnist_idx import MnistIdx
from conftest import DUMMY_DATA
from support import builder_testing

SOURCES = DUMMY_DATA / "mnist_idx"


class MnistIdxTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = MnistIdx
  EXAMPLE_DIR = str(SOURCES)
  SPLITS = {"train": 24, "test": 12}
  SKIP_CHECKSUMS = True  # checksums are checked by tests/test_checksums.py, per mirror URL


def build(tmp_path, **kwargs):
  builder = tfds.builder("mnist_idx", data_dir=tmp_path / "data", **kwargs)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=SOURCES, download_mode=tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS))
  return builder


def test_pixels_and_labels_equal_the_source_arrays(tmp_path, no_network):
  builder = build(tmp_path)
  for split, prefix, count in (("train", "train", 24), ("test", "t10k", 12)):
    images = read_idx(SOURCES / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(SOURCES / f"{prefix}-labels-idx1-ubyte.gz")
    examples = list(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)))
    assert len(examples) == count
    # Keys are the row index in the source file; the stored order is TFDS's shuffle of them, so
    # match each example to its source row through its pixels and label.
    remaining = {i for i in range(count)}
    for ex in examples:
      assert ex["image"].shape == (28, 28, 1) and ex["image"].dtype == np.uint8
      matches = [i for i in remaining
                 if np.array_equal(images[i], ex["image"][:, :, 0]) and labels[i] == ex["label"]]
      assert matches, "an example does not equal any source row"
      remaining.remove(matches[0])
    assert not remaining


def test_features_match_the_official_mnist():
  ours = tfds.builder("mnist_idx").info
  official = tfds.builder("mnist").info
  assert repr(ours.features) == repr(official.features)
  assert ours.features["label"].names == [str(i) for i in range(10)]
  assert ours.supervised_keys == official.supervised_keys == ("image", "label")


def test_label_counts_per_class(tmp_path):
  builder = build(tmp_path)
  labels = [int(ex["label"]) for ex in tfds.as_numpy(builder.as_dataset(split="train"))]
  assert np.bincount(labels, minlength=10).tolist() == [3, 3, 3, 3, 2, 2, 2, 2, 2, 2]


def test_identical_to_the_official_mnist_builder_on_the_same_files(tmp_path):
  """TFDS's own `mnist` builder, fed the same local files, yields the same examples."""
  import gzip
  from tensorflow_datasets.image_classification import mnist as official_mnist

  # The official reader expects gunzipped files and hard-codes the counts; give it both.
  plain = tmp_path / "plain"
  plain.mkdir()
  for path in SOURCES.glob("*.gz"):
    (plain / path.name[:-3]).write_bytes(gzip.decompress(path.read_bytes()))

  class LocalMnist(official_mnist.MNIST, skip_registration=True):
    name = "mnist"

    def _split_generators(self, dl_manager):
      return [tfds.core.SplitGenerator(name=split, gen_kwargs=dict(
          num_examples=count, data_path=str(plain / f"{prefix}-images-idx3-ubyte"),
          label_path=str(plain / f"{prefix}-labels-idx1-ubyte")))
              for split, prefix, count in (("train", "train", 24), ("test", "t10k", 12))]

  official = LocalMnist(data_dir=tmp_path / "official")
  official.download_and_prepare()
  ours = build(tmp_path)
  for split in ("train", "test"):
    # Both builders key examples by row index; read both back in the same (TFDS) order.
    theirs = list(tfds.as_numpy(official.as_dataset(split=split)))
    mine = list(tfds.as_numpy(ours.as_dataset(split=split)))
    assert len(theirs) == len(mine) == {"train": 24, "test": 12}[split]
    for a, b in zip(theirs, mine):
      np.testing.assert_array_equal(a["image"], b["image"])
      assert a["label"] == b["label"]
