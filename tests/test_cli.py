"""`tfds build --imports tfds_builders ...` in a subprocess, with networking disabled."""

import os
import pathlib
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401
from tfds_builders.formats.idx import read_idx
from conftest import DUMMY_DATA

TFDS_CLI = pathlib.Path(sys.executable).parent / "tfds"

NO_NETWORK = '''
import socket
def _refuse(*args, **kwargs):
  raise OSError("network disabled for this test")
socket.socket.connect = _refuse
socket.create_connection = _refuse
'''


def run_tfds_build(tmp_path, *args):
  block = tmp_path / "no_network"
  block.mkdir(exist_ok=True)
  (block / "sitecustomize.py").write_text(NO_NETWORK)
  env = dict(os.environ, PYTHONPATH=str(block), TF_CPP_MIN_LOG_LEVEL="2")
  return subprocess.run([str(TFDS_CLI), "build", "--imports", "tfds_builders", *args],
                        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("file_format", ["tfrecord", "array_record"])
def test_tfds_build_from_manual_dir_without_network(tmp_path, file_format):
  data_dir = tmp_path / "data"
  result = run_tfds_build(tmp_path, "mnist_idx", "--manual_dir", str(DUMMY_DATA / "mnist_idx"),
                          "--data_dir", str(data_dir), "--file_format", file_format)
  assert result.returncode == 0, result.stderr[-3000:]
  built = data_dir / "mnist_idx" / "1.0.0"
  assert sorted(p.name for p in built.iterdir() if "-of-" in p.name) == [
      f"mnist_idx-test.{file_format}-00000-of-00001",
      f"mnist_idx-train.{file_format}-00000-of-00001"]
  builder = tfds.builder("mnist_idx", data_dir=data_dir)
  assert builder.info.splits["train"].num_examples == 24
  assert builder.info.splits["test"].num_examples == 12
  labels = read_idx(DUMMY_DATA / "mnist_idx" / "t10k-labels-idx1-ubyte.gz")
  if file_format == "array_record":
    source = builder.as_data_source(split="test")
    got = sorted(int(source[i]["label"]) for i in range(len(source)))
  else:
    got = sorted(int(ex["label"]) for ex in tfds.as_numpy(builder.as_dataset(split="test")))
  assert got == sorted(labels.tolist())


def test_tfds_build_without_sources_or_network_names_every_url(tmp_path):
  result = run_tfds_build(tmp_path, "mnist_idx", "--data_dir", str(tmp_path / "data"),
                          "--manual_dir", str(tmp_path / "empty"))
  assert result.returncode != 0
  assert "Could not download train-images-idx3-ubyte.gz: every mirror failed." in result.stderr
  for url in ("https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz",
              "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
              "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz"):
    assert f"  - {url}: " in result.stderr
  # Nothing that tfds.load would accept was left behind.
  assert not (tmp_path / "data" / "mnist_idx" / "1.0.0" / "dataset_info.json").exists()
