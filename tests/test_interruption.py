"""A build killed half-way leaves nothing tfds.load accepts; the rerun completes and equals a
clean build. A source that fails its checks stops the build the same way."""

import gzip
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats.idx import idx_bytes

# The build to kill. It pauses (and says so) when the second split starts: by then the first
# split's shard is written inside TFDS's incomplete.* folder, so the kill lands on a half-built
# dataset every time, on any machine, without racing a build of thousands of examples.
PAUSING_BUILD = """
import pathlib, sys, time
import tensorflow_datasets as tfds, tfds_builders
data_dir = pathlib.Path(sys.argv[1])
cls = tfds.builder_cls("mnist_idx")
generate = cls._generate_examples
def generate_or_pause(self, *args, **kwargs):
  if list((data_dir / "mnist_idx").glob("incomplete.*/*.tfrecord*")):
    print("paused with a shard written", flush=True)
    time.sleep(600)
  yield from generate(self, *args, **kwargs)
cls._generate_examples = generate_or_pause
builder = tfds.builder("mnist_idx", data_dir=data_dir)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=sys.argv[2]))
"""


def write_sources(folder: pathlib.Path, n_train: int, n_test: int):
  folder.mkdir(parents=True, exist_ok=True)
  rng = np.random.default_rng(7)
  for prefix, n in (("train", n_train), ("t10k", n_test)):
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(images), compresslevel=1))
    (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))


def build(data_dir, sources):
  builder = tfds.builder("mnist_idx", data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=sources))
  return builder


def assert_not_loadable(data_dir):
  with pytest.raises(AssertionError, match="Dataset mnist_idx: could not find data in"):
    tfds.load("mnist_idx", data_dir=data_dir, download=False)


def test_killed_build_leaves_no_dataset_and_the_rerun_equals_a_clean_build(tmp_path):
  sources = tmp_path / "sources"
  write_sources(sources, 300, 100)
  data_dir = tmp_path / "data"
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  log = tmp_path / "stderr.txt"  # TFDS's progress bars, kept apart from the one line awaited
  with open(log, "w") as stderr:
    process = subprocess.Popen([sys.executable, "-c", PAUSING_BUILD, str(data_dir), str(sources)],
                               env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
  try:
    said = []
    for line in process.stdout:  # TFDS prints to stdout too; ends early only if it never pauses
      said.append(line)
      if line == "paused with a shard written\n":
        break
    assert said[-1:] == ["paused with a shard written\n"], "".join(said) + log.read_text()[-3000:]
  finally:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
  incomplete, = (data_dir / "mnist_idx").glob("incomplete.*")
  assert len(list(incomplete.glob("*.tfrecord*"))) == 1
  assert_not_loadable(data_dir)

  # The rerun and the reference build need no fresh process: TensorFlow is loaded already.
  rerun = build(data_dir, sources)
  clean = build(tmp_path / "clean", sources)
  assert {s: i.num_examples for s, i in rerun.info.splits.items()} == {"train": 300, "test": 100}
  shards = sorted(p.name for p in pathlib.Path(clean.data_dir).glob("*.tfrecord*"))
  assert shards == ["mnist_idx-test.tfrecord-00000-of-00001",
                    "mnist_idx-train.tfrecord-00000-of-00001"]
  assert sorted(p.name for p in pathlib.Path(rerun.data_dir).glob("*.tfrecord*")) == shards
  for shard in shards:  # byte for byte: same examples, same order, same encoding
    assert (pathlib.Path(rerun.data_dir) / shard).read_bytes() == (
        pathlib.Path(clean.data_dir) / shard).read_bytes()
  labels = [int(ex["label"]) for ex in tfds.as_numpy(
      tfds.load("mnist_idx", data_dir=data_dir, split="test", download=False))]
  assert sorted(labels) == sorted(np.arange(100) % 10)


def test_bad_source_stops_the_build_naming_the_file_and_leaves_no_dataset(tmp_path):
  sources = tmp_path / "sources"
  write_sources(sources, 30, 10)
  bad = sources / "t10k-images-idx3-ubyte.gz"
  data = gzip.decompress(bad.read_bytes())
  bad.write_bytes(gzip.compress(data[:-100]))  # a short copy: header promises 100 more bytes
  data_dir = tmp_path / "data"
  with pytest.raises(SourceFormatError) as raised:
    build(data_dir, sources)
  assert str(raised.value) == (f"{bad}: truncated: expected 7840 bytes of 10x28x28 uint8 elements "
                               "at offset 16, found only 7740")
  assert_not_loadable(data_dir)
