"""Datumaro class names: dataset_meta.json over labels.txt over "0".."9"."""

import json

import pytest

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats.dataset_meta import is_split_name, read_class_names


def test_default_names(tmp_path):
  assert read_class_names(tmp_path) == [str(i) for i in range(10)]
  assert read_class_names(tmp_path, default=None) is None


def test_labels_txt(tmp_path):
  (tmp_path / "labels.txt").write_text("cat\ndog\n\nbird\n")
  assert read_class_names(tmp_path) == ["cat", "dog", "bird"]


def test_dataset_meta_json_wins_over_labels_txt(tmp_path):
  (tmp_path / "labels.txt").write_text("cat\ndog\n")
  (tmp_path / "dataset_meta.json").write_text(json.dumps({"label_map": {"1": "b", "0": "a"}}))
  assert read_class_names(tmp_path) == ["a", "b"]
  (tmp_path / "dataset_meta.json").write_text(json.dumps({"labels": ["x", "y", "z"]}))
  assert read_class_names(tmp_path) == ["x", "y", "z"]


def test_json_without_names_falls_back_to_labels_txt(tmp_path):
  (tmp_path / "labels.txt").write_text("cat\ndog\n")
  (tmp_path / "dataset_meta.json").write_text(json.dumps({"segmentation_colors": []}))
  assert read_class_names(tmp_path) == ["cat", "dog"]


@pytest.mark.parametrize("meta,problem", [
    ({"label_map": {"0": "a", "2": "c"}}, "`label_map` indices are [0, 2]; expected 0..1 without "
     "gaps"),
    ({"labels": ["a", "b"], "label_map": {"0": "a", "1": "c"}},
     "`labels` and `label_map` name different classes"),
    ({"labels": "abc"}, "`labels` must be a list of names"),
    ({"labels": ["a", "a"]}, "class name 'a' appears more than once"),
    ({"labels": []}, "declares no class names"),
    # TFDS reads label.labels.txt back stripped, without blank lines: these would change.
    ({"labels": ["cat", " dog"]}, "class name ' dog' is blank or begins or ends with whitespace, "
     "which TFDS strips when it reads class names back: write it without that whitespace"),
    ({"labels": ["cat\t", "dog"]}, "class name 'cat\\t' is blank or begins or ends with "
     "whitespace, which TFDS strips when it reads class names back: write it without that "
     "whitespace"),
    ({"label_map": {"0": "cat", "1": ""}}, "class name '' is blank or begins or ends with "
     "whitespace, which TFDS strips when it reads class names back: write it without that "
     "whitespace"),
    ({"labels": ["cat", "\u00a0"]}, "class name '\\xa0' is blank or begins or ends with "
     "whitespace, which TFDS strips when it reads class names back: write it without that "
     "whitespace"),
])
def test_bad_dataset_meta(tmp_path, meta, problem):
  path = tmp_path / "dataset_meta.json"
  path.write_text(json.dumps(meta))
  with pytest.raises(SourceFormatError) as e:
    read_class_names(tmp_path)
  assert str(e.value) == f"{path}: {problem}"


def test_invalid_json(tmp_path):
  path = tmp_path / "dataset_meta.json"
  path.write_text("{labels: [")
  with pytest.raises(SourceFormatError, match="dataset_meta.json: not valid JSON"):
    read_class_names(tmp_path)


def test_names_with_inner_spaces_are_kept(tmp_path):
  (tmp_path / "dataset_meta.json").write_text(json.dumps({"labels": ["red car", "a  b"]}))
  assert read_class_names(tmp_path) == ["red car", "a  b"]


@pytest.mark.parametrize("text,is_name", [
    ("train", True), ("my-split_2", True), ("тест", True),
    # `$` would match before the final line break: the whole text must be a name.
    ("a\n", False), ("\na", False), ("a b", False), ("", False), ("a.b", False),
    ("../t", False),
])
def test_is_split_name_judges_the_whole_text(text, is_name):
  assert is_split_name(text) is is_name
