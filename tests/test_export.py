"""Export of a built dataset: every format holds exactly the examples of the split."""

import gzip
import json
import struct

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

import tfds_builders  # noqa: F401
from tfds_builders.__main__ import main
from tfds_builders.export import ExportError, export
from tfds_builders.formats.idx import read_idx
from conftest import DUMMY_DATA

SOURCES = DUMMY_DATA / "mnist_idx"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  data_dir = tmp_path_factory.mktemp("data")
  tfds.builder("mnist_idx", data_dir=data_dir).download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=SOURCES))
  return data_dir


def source_pairs(prefix):
  images = read_idx(SOURCES / f"{prefix}-images-idx3-ubyte.gz")
  labels = read_idx(SOURCES / f"{prefix}-labels-idx1-ubyte.gz")
  return sorted((int(l), im.tobytes()) for im, l in zip(images, labels))


def test_npz(tmp_path, data_dir):
  result = export("mnist_idx", "test", "npz", tmp_path / "out", data_dir=data_dir, progress=False)
  assert result["examples"] == 12
  arrays = np.load(tmp_path / "out" / "mnist_idx_test.npz")
  assert arrays["images"].shape == (12, 28, 28, 1) and arrays["images"].dtype == np.uint8
  assert arrays["label_names"].tolist() == [str(i) for i in range(10)]
  got = sorted((int(l), im[..., 0].tobytes()) for im, l in zip(arrays["images"], arrays["labels"]))
  assert got == source_pairs("t10k")


def test_png_folders_per_class(tmp_path, data_dir):
  out = tmp_path / "out"
  export("mnist_idx", "train", "png", out, data_dir=data_dir, progress=False)
  rows = (out / "labels.csv").read_text().splitlines()
  assert rows[0] == "file,label,label_name" and len(rows) == 25
  got = []
  for row in rows[1:]:
    path, label, label_name = row.split(",")
    assert path.startswith(f"train/{label_name}/") and label == label_name
    got.append((int(label), np.asarray(Image.open(out / path)).tobytes()))
  assert sorted(got) == source_pairs("train")
  assert sorted(p.name for p in (out / "train").iterdir()) == [str(i) for i in range(10)]


def test_idx_in_datumaro_layout(tmp_path, data_dir):
  out = tmp_path / "out"
  result = export("mnist_idx", "train", "idx", out, data_dir=data_dir, progress=False)
  assert [p.name for p in result["files"]] == [
      "train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "labels.txt",
      "dataset_meta.json"]
  assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in result["files"])
  # 28x28 images with their indices as ids: no meta file. One size: IDX's own header
  # [N, 28, 28], which Datumaro's importer reads as well as its own pixel count.
  images_file = gzip.decompress((out / "train-images-idx3-ubyte.gz").read_bytes())
  assert struct.unpack(">4i", images_file[:16]) == (0x803, 24, 28, 28)
  labels_file = gzip.decompress((out / "train-labels-idx1-ubyte.gz").read_bytes())
  assert struct.unpack(">2i", labels_file[:8]) == (0x801, 24)
  images = read_idx(out / "train-images-idx3-ubyte.gz")
  labels = read_idx(out / "train-labels-idx1-ubyte.gz")
  assert sorted((int(l), im.tobytes()) for im, l in zip(images, labels)) == source_pairs("train")
  assert (out / "labels.txt").read_text() == "".join(f"{i}\n" for i in range(10))
  # Datumaro's dataset_meta.json: indented by 2, no final newline.
  assert (out / "dataset_meta.json").read_text() == (
      '{\n  "labels": [\n' + ",\n".join(f'    "{i}"' for i in range(10)) + "\n  ]\n}")


def test_idx_test_split_is_written_as_t10k(tmp_path, data_dir):
  result = export("mnist_idx", "test", "idx", tmp_path / "out", data_dir=data_dir,
                  progress=False)
  assert [p.name for p in result["files"][:2]] == ["t10k-labels-idx1-ubyte.gz",
                                                   "t10k-images-idx3-ubyte.gz"]
  back = tfds_builders.IdxFolder(tmp_path / "out")
  assert list(back.info.splits) == ["test"]


def test_csv_in_datumaro_layout(tmp_path, data_dir):
  out = tmp_path / "out"
  result = export("mnist_idx", "test", "csv", out, data_dir=data_dir, progress=False)
  assert [p.name for p in result["files"]] == ["mnist_test.csv", "labels.txt",
                                               "dataset_meta.json"]
  table = np.loadtxt(out / "mnist_test.csv", delimiter=",", dtype=np.int64)
  assert table.shape == (12, 785)
  got = sorted((int(r[0]), r[1:].astype(np.uint8).tobytes()) for r in table)
  assert got == source_pairs("t10k")
  assert json.loads((out / "dataset_meta.json").read_text()) == {
      "labels": [str(i) for i in range(10)]}


def test_existing_output_is_not_overwritten_without_the_flag(tmp_path, data_dir, capsys):
  out = tmp_path / "out"
  out.mkdir()
  (out / "keep.txt").write_text("mine")
  args = ["export", "mnist_idx", "--split", "test", "--format", "npz", "--out", str(out),
          "--data_dir", str(data_dir)]
  assert main(args) == 2
  assert capsys.readouterr().err == (
      f"error: {out} already exists and is not empty; choose another --out or pass --overwrite to "
      "replace it\n")
  assert (out / "keep.txt").read_text() == "mine"
  assert main(args + ["--overwrite"]) == 0
  assert sorted(p.name for p in out.iterdir()) == ["mnist_idx_test.npz"]


def test_unknown_split_and_unbuilt_dataset(tmp_path, data_dir):
  with pytest.raises(ExportError, match="mnist_idx has no split 'validation'; it has "):
    export("mnist_idx", "validation", "npz", tmp_path / "a", data_dir=data_dir)
  with pytest.raises(ExportError, match=r"mnist_idx is not built in .*; build it first"):
    export("mnist_idx", "test", "npz", tmp_path / "b", data_dir=tmp_path / "empty")


@pytest.mark.parametrize("fmt", ["idx", "csv"])
def test_round_trip_through_the_folder_builders(tmp_path, data_dir, fmt):
  """Export to IDX/CSV, read back with IdxFolder/CsvFolder: the same examples and class names."""
  out = tmp_path / "out"
  for split in ("train", "test"):
    export("mnist_idx", split, fmt, out / split, data_dir=data_dir, progress=False)
    folder_cls = tfds_builders.IdxFolder if fmt == "idx" else tfds_builders.CsvFolder
    folder = folder_cls(out / split)
    assert list(folder.info.splits) == [split]
    assert folder.info.features["label"].names == [str(i) for i in range(10)]
    original = tfds.as_numpy(tfds.load("mnist_idx", split=split, data_dir=data_dir))
    back = tfds.as_numpy(folder.as_dataset(split=split))
    assert sorted((int(e["label"]), e["image"].tobytes()) for e in back) == sorted(
        (int(e["label"]), e["image"].tobytes()) for e in original)

