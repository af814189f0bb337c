"""The cases of the bad-input catalogue that other test files do not already cover (see the
audit in the issue): each bad source stops the build with the package's own error naming the file,
and leaves no dataset that `tfds.load` would accept; each failing mirror is skipped for a good one.

Builders are driven through TFDS on modified copies of the dummy data, never the dummy data itself.
"""

import gzip
import hashlib
import io
import os
import shutil
import struct

import numpy as np
import pytest
import scipy.io
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import DUMMY_DATA
from imagenet.test_ilsvrc2012 import generate, manual_dir_with
from tfds_builders import download
from tfds_builders.download import Checksum, Limits
from tfds_builders.sources import Resolver, SourceFile
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import idx
from tfds_builders.formats.idx import idx_bytes
from tfds_builders.formats.mnist_csv import mnist_csv_bytes
from tfds_builders.formats.norb import norb_bytes


def build(name, manual_dir, data_dir):
  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=os.fspath(manual_dir)))
  return builder


def refused(name, manual_dir, data_dir) -> str:
  """Builds, expecting SourceFormatError; checks nothing loadable is left; returns the message."""
  with pytest.raises(SourceFormatError) as e:
    build(name, manual_dir, data_dir)
  assert not tfds.builder(name, data_dir=data_dir).is_prepared()
  with pytest.raises(AssertionError, match=f"Dataset {name.split('/')[0]}: could not find data"):
    tfds.load(name, data_dir=data_dir, download=False)
  return str(e.value)


def copy_of(source_dir, dest):
  shutil.copytree(source_dir, dest, symlinks=False,
                  ignore=shutil.ignore_patterns("generate.py", "__pycache__"))
  return dest


# ---------------------------------------------------------------- downloads

GOOD = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\x03", mtime=0)
NAME = "train-labels-idx1-ubyte.gz"


@pytest.fixture
def toy_table(monkeypatch):
  monkeypatch.setattr(download, "checksums_for", lambda name, checksums_dir=None: {
      NAME: Checksum(len(GOOD), hashlib.sha256(GOOD).hexdigest())} if name == "toy" else {})
  monkeypatch.delenv("TFDS_BUILDERS_MIRROR", raising=False)
  monkeypatch.delenv("TFDS_BUILDERS_MIRROR_TOY", raising=False)


BAD_MIRRORS = {
    "403": dict(status=403),
    "404": dict(status=404),
    "500": dict(status=500),
    "reset": dict(body=GOOD, behaviour="reset"),
    "never answers": dict(behaviour="hang", hang_seconds=10),
    "truncated body": dict(body=GOOD, behaviour="truncate"),
    "wrong bytes, right length": dict(body=b"W" * len(GOOD)),
}


@pytest.mark.parametrize("fault", sorted(BAD_MIRRORS))
def test_each_failing_mirror_falls_back_to_a_good_one_and_keeps_no_bad_bytes(
    tmp_path, http_server, toy_table, fault):
  http_server.route(f"/bad/{NAME}", **BAD_MIRRORS[fault])
  http_server.route(f"/good/{NAME}", body=GOOD)
  source = SourceFile(NAME, (http_server.url("/bad/"), http_server.url("/good/")))
  fetcher = Resolver("toy", tmp_path / "manual", tmp_path / "downloads", manual_dir_given=False,
                     limits=Limits(timeout=1))
  path = fetcher.get(source)
  assert path == tmp_path / "downloads" / "toy" / NAME and path.read_bytes() == GOOD
  assert http_server.requests == [f"/bad/{NAME}", f"/good/{NAME}"]
  # Nothing of the bad attempt is left beside the verified file.
  assert [p.name for p in (tmp_path / "downloads").rglob("*")] == ["toy", NAME]


# ---------------------------------------------------------------- NORB through norb_small

NORB = DUMMY_DATA / "norb_small"
NORB_TEST = "smallnorb-5x01235x9x18x6x2x96x96-testing"
TEST_INFO = np.array([[0, 1, 12, 2], [1, 3, 8, 4], [5, 6, 2, 0], [2, 5, 20, 1], [3, 7, 30, 5],
                      [5, 6, 0, 0], [5, 6, 4, 0]], np.int32)  # the dummy test split's -info


def test_the_dummy_test_info_is_the_one_modified_below():
  from tfds_builders.formats.norb import read_norb
  np.testing.assert_array_equal(read_norb(NORB / f"{NORB_TEST}-info.mat.gz"), TEST_INFO)


def with_value(column, value, row=3):
  info = TEST_INFO.copy()
  info[row, column] = value
  return info


@pytest.mark.parametrize("kind,array,problem", [
    ("info", with_value(1, 9), "elevation 9 of item 3 is not one of 0...8 (1 such values)"),
    ("info", with_value(2, 7), "azimuth 7 of item 3 is not one of 0...34 in steps of 2 "
     "(1 such values)"),
    ("info", with_value(3, 6), "lighting 6 of item 3 is not one of 0...5 (1 such values)"),
    ("info", with_value(0, -1), "instance -1 of item 3 is not one of 0...9 (1 such values)"),
    ("info", np.zeros((7, 5), np.int32), "a smallNORB -info file holds an Nx4 int32 matrix, this "
     "one is 7x5 int32"),
    ("cat", np.zeros((7, 2), np.int32), "a smallNORB -cat file holds an N int32 matrix, this one "
     "is 7x2 int32"),
    ("dat", np.zeros((7, 96, 96), np.uint8), "a smallNORB -dat file holds an Nx2x96x96 uint8 "
     "matrix, this one is 7x96x96 uint8"),
])
@pytest.mark.parametrize("config", ["stereo", "mono"])
def test_norb_values_and_shapes_out_of_range_stop_the_build(tmp_path, kind, array, problem,
                                                            config):
  manual = copy_of(NORB, tmp_path / "manual")
  bad = manual / f"{NORB_TEST}-{kind}.mat.gz"
  bad.write_bytes(gzip.compress(norb_bytes(array)))
  assert refused(f"norb_small/{config}", manual, tmp_path / "data") == f"{bad}: {problem}"


def test_norb_header_claiming_2_31_pairs_in_a_small_file_stops_before_allocating(tmp_path):
  manual = copy_of(NORB, tmp_path / "manual")
  bad = manual / f"{NORB_TEST}-dat.mat.gz"
  header = struct.pack("<Ii4i", 0x1E3D4C55, 4, 2**31 - 1, 2, 96, 96)
  bad.write_bytes(gzip.compress(header + bytes(1000)))
  message = refused("norb_small/stereo", manual, tmp_path / "data")
  assert message.startswith(f"{bad}: the header claims {(2**31 - 1) * 2 * 96 * 96} bytes of data "
                            "after a 24 byte header, but a ")


# ---------------------------------------------------------------- IDX / CSV through MNIST builders

MNIST = DUMMY_DATA / "mnist_idx"


def test_mnist_label_outside_the_class_range_stops_the_build(tmp_path):
  manual = copy_of(MNIST, tmp_path / "manual")
  labels = manual / "t10k-labels-idx1-ubyte.gz"
  values = idx.read_idx(labels)
  values[5] = 10
  labels.write_bytes(gzip.compress(idx_bytes(values)))
  assert refused("mnist_idx", manual, tmp_path / "data") == (
      f"{labels}: label 10 of item 5 is outside the class range 0..9 (1 such labels)")


def test_mnist_images_and_labels_of_different_counts_stop_the_build(tmp_path):
  manual = copy_of(MNIST, tmp_path / "manual")
  labels = manual / "train-labels-idx1-ubyte.gz"
  labels.write_bytes(gzip.compress(idx_bytes(idx.read_idx(labels)[:-1])))
  assert refused("mnist_idx", manual, tmp_path / "data") == (
      f"{labels}: has 23 labels but {manual / 'train-images-idx3-ubyte.gz'} has 24 images; the "
      "two files do not belong together")


def test_mnist_file_that_is_not_gzip_nor_idx_stops_the_build(tmp_path):
  manual = copy_of(MNIST, tmp_path / "manual")
  bad = manual / "t10k-images-idx3-ubyte.gz"
  bad.write_bytes(b"<html><body>Please log in</body></html>")
  assert refused("mnist_idx", manual, tmp_path / "data") == (
      f"{bad}: not an IDX file: magic number 3c68746d does not start with two zero bytes (it is "
      "neither gzip nor xz compressed)")


def test_idx_many_items_of_zero_bytes_are_read_at_once():
  # 2^32-1 items of 0 bytes in a 12-byte file: one empty batch, not a million of them.
  data = b"\x00\x00\x08\x02" + struct.pack(">II", 2**32 - 1, 0)
  assert [b.shape for b in idx.iter_idx(io.BytesIO(data), batch_items=4096)] == [(2**32 - 1, 0)]


@pytest.mark.parametrize("line,problem", [
    ("3," + ",".join(["0"] * 783), "line 3 has 784 fields, expected 785 (a label and 784 pixel "
     "values, as on the first line)"),
    ("3," + ",".join(["0"] * 700 + ["x"] + ["0"] * 83), "line 3, field 702 (pixel 701): 'x' is "
     "not an integer"),
    ("3," + ",".join(["0"] * 10 + ["300"] + ["0"] * 773), "line 3, field 12 (pixel 11): value 300 "
     "is outside 0..255"),
    ("12," + ",".join(["0"] * 784), "label 12 of item 2 is outside the class range 0..9 (1 such "
     "labels)"),
])
def test_csv_faults_stop_the_build_naming_file_and_line(tmp_path, line, problem):
  manual = tmp_path / "manual"
  manual.mkdir()
  path = manual / "mnist_train.csv"
  good = mnist_csv_bytes(np.zeros((2, 28, 28), np.uint8), [1, 2]).decode()
  path.write_text(good + line + "\n")
  assert refused("mnist_csv", manual, tmp_path / "data") == f"{path}: {problem}"


@pytest.mark.parametrize("text,problem", [
    ("", "the file is empty: no header and no data rows"),
    ("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n", "has a header row but no data "
     "rows"),
])
def test_csv_empty_or_header_only_stops_the_build(tmp_path, text, problem):
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / "mnist_train.csv").write_text(text)
  assert refused("mnist_csv", manual, tmp_path / "data") == (
      f"{manual / 'mnist_train.csv'}: {problem}")


# ---------------------------------------------------------------- ImageNet through ilsvrc2012

IMAGENET = DUMMY_DATA / "ilsvrc2012"
GOOD_JPEG = (IMAGENET / "train/n01735189/n01735189_1.JPEG").read_bytes()
DEVKIT_MAT = "ILSVRC2012_devkit_t12/data/meta.mat"
DEVKIT_TRUTH = "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt"


def files_under(folder):
  return {p for p in folder.rglob("*")}


def test_inner_tar_that_is_not_a_tar_stops_the_build(tmp_path):
  manual = manual_dir_with(tmp_path)
  train = manual / "ILSVRC2012_img_train.tar"
  train.write_bytes(generate.tar_bytes([("n01440764.tar", b"\x89PNG\r\n\x1a\n" + bytes(600))]))
  message = refused("ilsvrc2012", manual, tmp_path / "data")
  assert message.startswith(f"{train}:n01440764.tar: is not a readable tar archive (")


@pytest.mark.parametrize("member", ["../../evil.JPEG", "/tmp/evil.JPEG",
                                    "val/../../../evil.JPEG"])
@pytest.mark.parametrize("where", ["val", "inner train"])
def test_member_escaping_the_archive_stops_the_build_and_nothing_is_written_outside(
    tmp_path, member, where):
  manual = manual_dir_with(tmp_path)
  images = [("ILSVRC2012_val_00000001.JPEG" if where == "val" else "n01440764_1.JPEG", GOOD_JPEG),
            (member, GOOD_JPEG)]
  if where == "val":
    archive = manual / "ILSVRC2012_img_val.tar"
    archive.write_bytes(generate.tar_bytes(images))
    named = f"{archive}: member {member!r}"
  else:
    archive = manual / "ILSVRC2012_img_train.tar"
    archive.write_bytes(generate.tar_bytes([("n01440764.tar", generate.tar_bytes(images))]))
    named = f"{archive}:n01440764.tar: member {member!r}"
  data_dir = tmp_path / "deep" / "data"
  before = files_under(tmp_path)
  message = refused("ilsvrc2012", manual, data_dir)
  assert message == (f"{named} has an absolute path or '..' in it; refusing to read this archive "
                     "(it is not an ILSVRC2012 archive as distributed)")
  assert not any(p.name == "evil.JPEG" for p in files_under(tmp_path))
  assert not os.path.exists("/tmp/evil.JPEG")
  # Every new file or folder is data_dir, inside it, or one of the folders leading to it.
  assert all(p == data_dir or data_dir in p.parents or p in data_dir.parents
             for p in files_under(tmp_path) - before)


def test_corrupt_jpeg_in_the_val_tar_stops_the_build(tmp_path):
  manual = manual_dir_with(tmp_path)
  archive = manual / "ILSVRC2012_img_val.tar"
  archive.write_bytes(generate.tar_bytes([
      ("ILSVRC2012_val_00000001.JPEG", GOOD_JPEG),
      ("ILSVRC2012_val_00000002.JPEG", GOOD_JPEG[:20] + b"\x00" * 40 + GOOD_JPEG[60:])]))
  assert refused("ilsvrc2012", manual, tmp_path / "data") == (
      f"{archive}:ILSVRC2012_val_00000002.JPEG: corrupt JPEG: expected a marker at byte 20; the "
      "file is damaged or truncated")


def test_truncated_val_tar_stops_the_build(tmp_path):
  manual = manual_dir_with(tmp_path)
  archive = manual / "ILSVRC2012_img_val.tar"
  data = (IMAGENET / "ILSVRC2012_img_val.tar").read_bytes()
  archive.write_bytes(data[:2000])
  message = refused("ilsvrc2012", manual, tmp_path / "data")
  assert message.startswith(f"{archive}: truncated: member ILSVRC2012_val_00000001.JPEG needs "
                            "bytes up to ")
  assert message.endswith(" but the file has 2000; copy or download it again")


def devkit_with(path, meta_mat: bytes, truth: bytes):
  path.write_bytes(gzip.compress(generate.tar_bytes([(DEVKIT_MAT, meta_mat),
                                                     (DEVKIT_TRUTH, truth)]), mtime=0))


def meta_mat_of(**variables):
  out = io.BytesIO()
  scipy.io.savemat(out, variables)
  return out.getvalue()


def synsets(rows):
  fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children"]
  array = np.zeros((len(rows), 1), dtype=[(f, object) for f in fields])
  for i, row in enumerate(rows):
    for f, value in zip(fields, row):
      array[i, 0][f] = value
  return array


@pytest.mark.parametrize("meta_mat,problem", [
    (meta_mat_of(classes=np.arange(3.0)), ":data/meta.mat: has no 'synsets' variable (found "
     "['__globals__', '__header__', '__version__', 'classes'])"),
    (meta_mat_of(synsets=synsets([(1.0, "n99999999", "no such", "", 0.0)])),
     ": meta.mat has classes that are not ILSVRC2012 classes: ['n99999999']"),
])
def test_devkit_meta_mat_without_synsets_or_with_foreign_classes_stops_the_build(
    tmp_path, meta_mat, problem):
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_val.tar")
  devkit = manual / "ILSVRC2012_devkit_t12.tar.gz"
  devkit_with(devkit, meta_mat, b"1\n")
  assert refused("ilsvrc2012", manual, tmp_path / "data") == f"{devkit}{problem}"


def test_devkit_ground_truth_outside_the_class_ids_stops_the_build(tmp_path):
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_val.tar")
  devkit = manual / "ILSVRC2012_devkit_t12.tar.gz"
  generate.write_devkit(devkit, ground_truth=generate.ground_truth_ids()[:-1] + [1001])
  assert refused("ilsvrc2012", manual, tmp_path / "data") == (
      f"{devkit}:data/ILSVRC2012_validation_ground_truth.txt: line 1108: '1001' is not an "
      "ILSVRC2012_ID of meta.mat's classes")


def test_devkit_with_a_damaged_meta_mat_stops_the_build_before_scipy_allocates(tmp_path):
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_val.tar")
  devkit = manual / "ILSVRC2012_devkit_t12.tar.gz"
  meta = bytearray((IMAGENET / DEVKIT_MAT).read_bytes())
  meta[160:168] = struct.pack("<2i", 1, 50_000_000)  # `synsets` claims 50 M entries
  devkit_with(devkit, bytes(meta), (IMAGENET / DEVKIT_TRUTH).read_bytes())
  assert refused("ilsvrc2012", manual, tmp_path / "data") == (
      f"{devkit}:data/meta.mat: a 1x50000000 struct array claims 400000000 entries but only 4384 "
      "bytes follow: the file is damaged")
