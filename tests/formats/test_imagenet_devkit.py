"""The devkit reader: meta.mat's ID -> WNID table (leaf classes only) and the ground truth, from a
tar.gz, an un-gzipped tar or an extracted folder."""

import gzip
import importlib.util
import io

import pytest

from conftest import DUMMY_DATA
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import imagenet_devkit

SOURCES = DUMMY_DATA / "ilsvrc2012"
_spec = importlib.util.spec_from_file_location("ilsvrc2012_generate", SOURCES / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

EXPECTED_IDS = {1: "n09193705", 2: "n02105855", 3: "n01751748", 4: "n04263257", 5: "n01735189",
                6: "n03125729", 7: "n01739381"}


def test_dummy_devkit_table_and_ground_truth():
  devkit = imagenet_devkit.read_devkit(SOURCES / "ILSVRC2012_devkit_t12.tar.gz")
  assert {i: s.wnid for i, s in devkit.classes.items()} == EXPECTED_IDS  # root node left out
  assert sorted(EXPECTED_IDS.values()) != [EXPECTED_IDS[i] for i in sorted(EXPECTED_IDS)]
  vine_snake = devkit.classes[7]
  assert (vine_snake.words, vine_snake.gloss, vine_snake.num_train_images) == (
      "vine snake", "(dummy gloss of n01739381)", 3)
  assert len(devkit.validation_ids) == 1108
  assert [devkit.validation_wnid(i) for i in (1, 2, 3, 1108)] == [
      "n01751748", "n09193705", "n02105855", "n01739381"]
  assert devkit.validation_wnid(1109) is None


def test_ungzipped_tar_and_extracted_folder_read_the_same(tmp_path):
  gz = imagenet_devkit.read_devkit(SOURCES / "ILSVRC2012_devkit_t12.tar.gz")
  plain_path = tmp_path / "ILSVRC2012_devkit_t12.tar"  # what a browser that un-gzips leaves
  plain_path.write_bytes(gzip.decompress((SOURCES / "ILSVRC2012_devkit_t12.tar.gz").read_bytes()))
  plain = imagenet_devkit.read_devkit(plain_path)
  folder = imagenet_devkit.read_devkit(SOURCES / "ILSVRC2012_devkit_t12")
  assert gz.classes == plain.classes == folder.classes
  assert gz.validation_ids == plain.validation_ids == folder.validation_ids


def test_unknown_id_in_ground_truth_names_the_line(tmp_path):
  path = tmp_path / "devkit.tar"
  generate.write_devkit(path, ground_truth=[1, 2, 999], gzipped=False)
  with pytest.raises(SourceFormatError) as e:
    imagenet_devkit.read_devkit(path)
  assert str(e.value) == (f"{path}:data/ILSVRC2012_validation_ground_truth.txt: line 3: '999' is "
                          "not an ILSVRC2012_ID of meta.mat's classes")


def test_tar_without_meta_mat_is_named(tmp_path):
  path = tmp_path / "ILSVRC2012_devkit_t12.tar"
  path.write_bytes(generate.tar_bytes([("ILSVRC2012_devkit_t12/readme.txt", b"hi")]))
  with pytest.raises(SourceFormatError) as e:
    imagenet_devkit.read_devkit(path)
  assert str(e.value) == (f"{path}: has no data/meta.mat or data/ILSVRC2012_validation_ground_"
                          "truth.txt: is this the ILSVRC2012 devkit (ILSVRC2012_devkit_t12)?")


def test_damaged_meta_mat(tmp_path):
  with pytest.raises(SourceFormatError, match=r"^m.mat: is not a readable MATLAB file"):
    imagenet_devkit.read_meta_mat(b"MATLAB 5.0 garbage" * 3, "m.mat")
  buf = io.BytesIO()
  import scipy.io
  scipy.io.savemat(buf, {"other": 1})
  with pytest.raises(SourceFormatError, match=r"^m.mat: has no 'synsets' variable"):
    imagenet_devkit.read_meta_mat(buf.getvalue(), "m.mat")
