"""Class names of a Datumaro export: `dataset_meta.json` over `labels.txt` over "0".."9".

Datumaro writes `dataset_meta.json` with a `label_map` ({"0": "name", ...}) and/or a `labels`
list; older exports and hand-made folders have `labels.txt`, one name per line. The JSON file is
the newer, richer one, so when both exist it wins.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import List, Optional, Sequence

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import paths

META_JSON = "dataset_meta.json"
LABELS_TXT = "labels.txt"
DEFAULT_NAMES = tuple(str(i) for i in range(10))


def _names_from_json(path: pathlib.Path) -> Optional[List[str]]:
  try:
    meta = json.loads(path.read_text(encoding="utf-8"))
  except (UnicodeDecodeError, json.JSONDecodeError) as e:
    raise SourceFormatError(path, f"not valid JSON ({e})") from e
  if not isinstance(meta, dict):
    raise SourceFormatError(path, "expected a JSON object with `labels` or `label_map`")
  names = None
  if "label_map" in meta:
    label_map = meta["label_map"]
    try:
      indexed = {int(k): str(v) for k, v in label_map.items()}
    except (AttributeError, ValueError) as e:
      raise SourceFormatError(path, "`label_map` must map integer indices to names") from e
    if sorted(indexed) != list(range(len(indexed))):
      raise SourceFormatError(
          path, f"`label_map` indices are {sorted(indexed)}; expected 0..{len(indexed) - 1} "
          "without gaps")
    names = [indexed[i] for i in range(len(indexed))]
  if "labels" in meta:
    labels = meta["labels"]
    if not isinstance(labels, list) or not all(isinstance(n, str) for n in labels):
      raise SourceFormatError(path, "`labels` must be a list of names")
    if names is not None and names != labels:
      raise SourceFormatError(path, "`labels` and `label_map` name different classes")
    names = labels
  return names


def read_class_names(folder: os.PathLike,
                     default: Optional[Sequence[str]] = DEFAULT_NAMES) -> Optional[List[str]]:
  """The class names a Datumaro folder declares, or `default` when it declares none."""
  folder = paths.as_path(folder)  # a bucket folder too (gs://...)
  names = None
  if (folder / META_JSON).is_file():
    names = _names_from_json(folder / META_JSON)
    source = folder / META_JSON
  if names is None and (folder / LABELS_TXT).is_file():
    source = folder / LABELS_TXT
    names = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()
             if line.strip()]
  if names is None:
    return None if default is None else list(default)
  if not names:
    raise SourceFormatError(source, "declares no class names")
  if len(set(names)) != len(names):
    duplicate = next(n for n in names if names.count(n) > 1)
    raise SourceFormatError(source, f"class name {duplicate!r} appears more than once")
  return names
