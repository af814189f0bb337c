"""Export of a built dataset: every format holds exactly the examples of the split."""

import csv
import gzip
import json
import shutil
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



# ---------------------------------------------------------------- nothing escapes --out

def edited_copy(tmp_path, data_dir, names):
  """A copy of the built dataset whose class names were edited (TFDS reads them from
  label.labels.txt beside the data)."""
  copy = tmp_path / "data"
  shutil.copytree(data_dir, copy)
  (copy / "mnist_idx" / "1.0.0" / "label.labels.txt").write_text("".join(f"{n}\n" for n in names))
  assert tfds.builder("mnist_idx", data_dir=copy).info.features["label"].names == names
  return copy


def files_under(folder):
  return {p for p in folder.rglob("*")}


def test_class_names_edited_to_leave_out_cannot_write_outside_it(tmp_path, data_dir):
  names = ["0", "../../../x", "2", "A", "a", "..", "a/b", ".", "8", "/etc/x"]
  copy = edited_copy(tmp_path, data_dir, names)
  out = tmp_path / "deep" / "er" / "out"
  before = files_under(tmp_path)
  export("mnist_idx", "train", "png", out, data_dir=copy, progress=False)
  # Every new path is the output folder, inside it, or a folder leading to it.
  assert all(p == out or out in p.parents or p in out.parents
             for p in files_under(tmp_path) - before)
  assert not (tmp_path / "x").exists() and not (tmp_path / "deep" / "x").exists()
  # Unsafe names become safe folder names; `A` and `a` (one folder where case is ignored) each
  # get their label; every label keeps its own folder.
  folders = {1: ".._.._.._x", 3: "A_3", 4: "a_4", 5: "_..", 6: "a_b", 7: "_.", 9: "_etc_x"}
  with open(out / "labels.csv", newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
  assert rows[0] == ["file", "label", "label_name"] and len(rows) == 25
  got = []
  for path, label, label_name in rows[1:]:
    label = int(label)
    assert label_name == names[label]  # the table keeps the real name
    assert path.startswith(f"train/{folders.get(label, names[label])}/")
    assert (out / path).parent.parent == out / "train"
    got.append((label, np.asarray(Image.open(out / path)).tobytes()))
  assert sorted(got) == source_pairs("train")


@pytest.mark.parametrize("names,folders", [
    (["a", "A", "b"], {0: "a_0", 1: "A_1", 2: "b"}),
    (["", "x\ty", "x\x00y"], {0: "_", 1: "x_y_1", 2: "x_y_2"}),
    (["-1", "q"], {0: "-1_0", 1: "q", -1: "-1_-1"}),
    (["a", "A", "a_1"], {0: "0_a_0", 1: "1_A_1", 2: "2_a_1", -1: "-1_-1"}),
    (["é" * 150], {0: "é" * 100 + "_0"}),
])
def test_class_folders_are_safe_and_distinct(names, folders):
  from tfds_builders.export import class_folders
  got = class_folders(names)
  assert {label: got[label] for label in folders} == folders
  assert len({folder.casefold() for folder in got.values()}) == len(names) + 1


@pytest.mark.parametrize("where", ["data dir", "dataset folder", "version folder", "inside",
                                   "symlink to the version folder"])
def test_out_that_holds_or_is_inside_the_dataset_is_refused_and_nothing_is_deleted(
    tmp_path, data_dir, where):
  copy = tmp_path / "data"
  shutil.copytree(data_dir, copy)
  version = copy / "mnist_idx" / "1.0.0"
  out = {"data dir": copy, "dataset folder": copy / "mnist_idx", "version folder": version,
         "inside": version / "export", "symlink to the version folder": tmp_path / "link"}[where]
  if where.startswith("symlink"):
    out.symlink_to(version)
  before = {p: p.stat().st_size for p in copy.rglob("*") if p.is_file()}
  with pytest.raises(ExportError) as e:
    export("mnist_idx", "test", "npz", out, data_dir=copy, overwrite=True, progress=False)
  how = ("is inside the dataset being exported" if where == "inside" else
         "holds the dataset being exported")
  assert str(e.value).startswith(f"{out} {how} ({version.resolve()}); ")
  assert {p: p.stat().st_size for p in copy.rglob("*") if p.is_file()} == before
  assert tfds.builder("mnist_idx", data_dir=copy).is_prepared()


def test_the_cli_refuses_to_export_over_the_dataset_it_reads(tmp_path, data_dir, capsys):
  copy = tmp_path / "data"
  shutil.copytree(data_dir, copy)
  args = ["export", "mnist_idx", "--split", "test", "--format", "png", "--out", str(copy),
          "--data_dir", str(copy), "--overwrite"]
  assert main(args) == 2
  version = (copy / "mnist_idx" / "1.0.0").resolve()
  assert capsys.readouterr().err == (
      f"error: {copy} holds the dataset being exported ({version}); writing there would delete "
      "or change it: choose an --out outside it\n")
  assert len(list(tfds.load("mnist_idx", split="test", data_dir=copy))) == 12


def test_a_split_name_that_is_not_a_tfds_split_name_is_refused(tmp_path, data_dir):
  copy = tmp_path / "data"
  shutil.copytree(data_dir, copy)
  info = copy / "mnist_idx" / "1.0.0" / "dataset_info.json"
  info.write_text(info.read_text().replace('"name": "test"', '"name": "../../t"'))
  assert "../../t" in tfds.builder("mnist_idx", data_dir=copy).info.splits
  with pytest.raises(ExportError) as e:
    export("mnist_idx", "../../t", "idx", tmp_path / "out", data_dir=copy, progress=False)
  assert str(e.value) == ("mnist_idx: the split name '../../t' is not a TFDS split name (letters, "
                          "digits, '_' and '-')")
  assert not (tmp_path / "out").exists() and not (tmp_path / "t-labels-idx1-ubyte.gz").exists()
