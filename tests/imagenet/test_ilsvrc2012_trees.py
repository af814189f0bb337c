"""Extracted ImageNet trees as other tools leave them: torchvision's `train/<wnid>/<wnid>/*.JPEG`
(untarring each inner class tar into a folder of its own name), its `val/<wnid>/` folders, and the
stray files real folders hold. Nothing is dropped silently."""

import logging
import os
import shutil

import pytest

from tfds_builders.errors import SourceFormatError
from imagenet.test_ilsvrc2012 import NAMES, SOURCES, build, examples


@pytest.fixture(scope="module")
def from_archives(tmp_path_factory):
  return build(SOURCES, tmp_path_factory.mktemp("archives"))


def torchvision_train_tree(root):
  """train/<wnid>/<wnid>/*.JPEG: each inner class tar extracted into a folder of its own name."""
  for wnid_dir in sorted((SOURCES / "train").iterdir()):
    nested = root / "train" / wnid_dir.name / wnid_dir.name
    nested.mkdir(parents=True)
    for image in sorted(wnid_dir.iterdir()):
      shutil.copy(image, nested / image.name)
  return root


def test_nested_train_tree_as_torchvision_leaves_it_equals_the_archive(from_archives, tmp_path,
                                                                      caplog):
  manual = torchvision_train_tree(tmp_path / "manual")
  os.symlink(SOURCES / "val", manual / "val")
  with caplog.at_level(logging.WARNING, logger="tfds_builders"):
    from_tree = build(manual, tmp_path / "data")
  assert {s: i.num_examples for s, i in from_tree.info.splits.items()} == {
      "train": 21, "validation": 7}
  assert examples(from_tree, "train") == examples(from_archives, "train")
  assert [m for m in caplog.messages if "not read" in m] == []


def test_stray_files_and_deep_folders_are_counted_in_one_line(from_archives, tmp_path, caplog):
  manual = torchvision_train_tree(tmp_path / "manual")
  first = sorted((manual / "train").iterdir())[0]
  (first / "README.txt").write_text("notes")
  (manual / "train" / ".DS_Store").write_bytes(b"\0")
  deep = first / first.name / "thumbnails"
  deep.mkdir()
  shutil.copy(next(iter(sorted((first / first.name).iterdir()))), deep / "thumb.JPEG")
  with caplog.at_level(logging.WARNING, logger="tfds_builders"):
    from_tree = build(manual, tmp_path / "data")
  assert examples(from_tree, "train") == examples(from_archives, "train")
  root = manual / "train"
  assert [m for m in caplog.messages if "not read" in m] == [
      f"ilsvrc2012: {root}: read 21 images; not read: 1 files outside the <wnid>/ folders (e.g. "
      f"{root / '.DS_Store'}); 1 files that are not .JPEG images (e.g. {first / 'README.txt'}); "
      f"1 folders nested deeper than <wnid>/<folder>/ (e.g. {deep})"]


def test_validation_in_wnid_folders_keeps_the_labels(from_archives, tmp_path):
  manual = tmp_path / "manual"
  labels = {name: label for name, (label, _) in examples(from_archives, "validation").items()}
  for image in sorted((SOURCES / "val").rglob("*.JPEG")):
    folder = manual / "val" / NAMES.int2str(labels[image.name])
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(image, folder / image.name)
  from_tree = build(manual, tmp_path / "data")
  assert examples(from_tree, "validation") == examples(from_archives, "validation")


def test_the_same_file_name_twice_in_a_class_names_both_places(tmp_path):
  manual = torchvision_train_tree(tmp_path / "manual")
  first = sorted((manual / "train").iterdir())[0]
  image = sorted((first / first.name).iterdir())[0]
  shutil.copy(image, first / image.name)
  with pytest.raises(SourceFormatError) as e:
    build(manual, tmp_path / "data")
  assert str(e.value) == (
      f"{manual / 'train'}: holds 1 file name(s) more than once, e.g. {image.name} at "
      f"{image} and {first / image.name}; each image must have its own name")


def test_a_class_folder_inside_another_class_is_refused(tmp_path):
  manual = torchvision_train_tree(tmp_path / "manual")
  first, second = sorted((manual / "train").iterdir())[:2]
  shutil.move(second / second.name, first / second.name)
  with pytest.raises(SourceFormatError) as e:
    build(manual, tmp_path / "data")
  assert str(e.value) == (
      f"{first / second.name}: is a folder of class {second.name} inside the folder of class "
      f"{first.name}: which label its images have is ambiguous")
