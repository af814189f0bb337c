"""A build killed half-way leaves nothing tfds.load accepts; the rerun completes and equals a
clean build. A source that fails its checks stops the build the same way."""

import gzip
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401
from tfds_builders.formats.idx import idx_bytes

BUILD = """
import sys, tensorflow_datasets as tfds, tfds_builders
builder = tfds.builder("mnist_idx", data_dir=sys.argv[1])
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


def start_build(data_dir, sources):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  return subprocess.Popen([sys.executable, "-c", BUILD, str(data_dir), str(sources)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def assert_not_loadable(data_dir):
  with pytest.raises(AssertionError, match="Dataset mnist_idx: could not find data in"):
    tfds.load("mnist_idx", data_dir=data_dir, download=False)


def test_killed_build_leaves_no_dataset_and_the_rerun_equals_a_clean_build(tmp_path):
  sources = tmp_path / "sources"
  write_sources(sources, 20000, 200)
  data_dir = tmp_path / "data"
  process = start_build(data_dir, sources)
  deadline = time.monotonic() + 240
  # Kill it once it is writing examples: an incomplete folder with a shard in it.
  while time.monotonic() < deadline and process.poll() is None:
    shards = list((data_dir / "mnist_idx").glob("incomplete.*/*.tfrecord*"))
    if shards:
      break
    time.sleep(0.05)
  assert process.poll() is None, "the build finished before it could be interrupted"
  process.send_signal(signal.SIGKILL)
  process.wait(timeout=30)
  assert list((data_dir / "mnist_idx").glob("incomplete.*"))
  assert_not_loadable(data_dir)

  rerun = start_build(data_dir, sources)
  out, _ = rerun.communicate(timeout=600)
  assert rerun.returncode == 0, out[-3000:]
  clean = start_build(tmp_path / "clean", sources)
  out, _ = clean.communicate(timeout=600)
  assert clean.returncode == 0, out[-3000:]
  for split, n in (("train", 20000), ("test", 200)):
    a = tfds.as_numpy(tfds.load("mnist_idx", data_dir=data_dir, split=split, download=False))
    b = tfds.as_numpy(tfds.load("mnist_idx", data_dir=tmp_path / "clean", split=split,
                                download=False))
    count = 0
    for x, y in zip(a, b):
      assert np.array_equal(x["image"], y["image"]) and x["label"] == y["label"]
      count += 1
    assert count == n


def test_bad_source_stops_the_build_naming_the_file_and_leaves_no_dataset(tmp_path):
  sources = tmp_path / "sources"
  write_sources(sources, 30, 10)
  bad = sources / "t10k-images-idx3-ubyte.gz"
  data = gzip.decompress(bad.read_bytes())
  bad.write_bytes(gzip.compress(data[:-100]))  # a short copy: header promises 100 more bytes
  data_dir = tmp_path / "data"
  build = start_build(data_dir, sources)
  out, _ = build.communicate(timeout=600)
  assert build.returncode != 0
  assert (f"SourceFormatError: {bad}: truncated: expected 7840 bytes of 10x28x28 uint8 elements "
          "at offset 16, found only 7740") in out
  assert_not_loadable(data_dir)
