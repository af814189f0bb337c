"""What a Datumaro MNIST export says besides pixels and labels: class names, item ids and sizes.

Class names: `dataset_meta.json` over `labels.txt` over "0".."9". Datumaro writes
`dataset_meta.json` with a `labels` list (and a `label_map` {"0": "name", ...} for masks);
`labels.txt`, one name per line, it always writes, and hand-made folders have only that. The JSON
file is the newer, richer one, so when both exist it wins.

Item ids and sizes: Datumaro's MNIST exporters assume 28x28 images whose ids are their indices.
When a subset has other ids or other sizes, they add a meta file (`<subset>-meta.gz` beside IDX,
`meta_<subset>.csv` beside CSV) with one row per item: `[id]`, `[rows, cols]` or
`[id, rows, cols]` -- every item listed, the defaults included. The two files differ only in
how they store the rows; what the rows mean is read here once.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import paths

META_JSON = "dataset_meta.json"
LABELS_TXT = "labels.txt"
DEFAULT_NAMES = tuple(str(i) for i in range(10))
# The image size Datumaro's MNIST exporters assume; only items of other sizes make them list sizes.
DATUMARO_IMAGE_SIZE = (28, 28)


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


def class_names_json(names: Sequence[str]) -> bytes:
  """`dataset_meta.json` as Datumaro writes it: a `labels` list, indented by 2, no final newline."""
  return json.dumps({"labels": list(names)}, indent=2, ensure_ascii=False).encode("utf-8")


def write_class_names(folder: os.PathLike, names: Sequence[str]) -> List[pathlib.Path]:
  """Writes `labels.txt` and `dataset_meta.json` the way Datumaro's MNIST exporters do."""
  folder = pathlib.Path(folder)
  (folder / LABELS_TXT).write_bytes("".join(f"{n}\n" for n in names).encode("utf-8"))
  (folder / META_JSON).write_bytes(class_names_json(names))
  return [folder / LABELS_TXT, folder / META_JSON]


@dataclasses.dataclass(frozen=True)
class ItemMeta:
  """A subset's meta file, read: per item, its id and/or its (rows, cols).

  Attributes:
    ids: the items' ids, or None when the file has no id column.
    sizes: the items' (rows, cols), or None when the file has no size columns (every image has
      the size of the format's default then).
  """
  ids: Optional[Tuple[str, ...]]
  sizes: Optional[Tuple[Tuple[int, int], ...]]


def _item_names(indices: Sequence[int], ids: Optional[Sequence[str]], most: int = 5) -> str:
  shown = [f"{i} ({ids[i]!r})" if ids is not None else str(i) for i in indices[:most]]
  more = f" and {len(indices) - most} more" if len(indices) > most else ""
  return ", ".join(shown) + more


def no_image_error(path, indices: Sequence[int], num_items: int, how: str,
                   ids: Optional[Sequence[str]] = None) -> SourceFormatError:
  """The refusal of items Datumaro wrote without image data (`how` says how it marked them)."""
  which = (f"none of its {num_items} items has an image" if len(indices) == num_items else
           f"{'item' if len(indices) == 1 else 'items'} {_item_names(indices, ids)} of "
           f"{num_items} {'has' if len(indices) == 1 else 'have'} no image")
  return SourceFormatError(
      path, f"{which}: {how}, which is how Datumaro writes an item without image data; a "
      "dataset of images needs an image for every item")


def item_meta_from_rows(path, rows: Sequence[Sequence[str]], num_items: int,
                        line_numbers: Optional[Sequence[int]] = None) -> ItemMeta:
  """Interprets a meta file's rows (one per item, 1 to 3 text cells each) for `num_items` items.

  `line_numbers` (CSV) lets messages name the line of a bad row; without it they name the item.
  """
  if len(rows) != num_items:
    raise SourceFormatError(path, f"has {len(rows)} rows, but the subset has {num_items} items; "
                            "the meta file describes one row per item")
  if not rows:
    return ItemMeta(None, None)

  def where(i):
    return f"line {line_numbers[i]}" if line_numbers is not None else f"item {i}"

  width = len(rows[0])
  if width not in (1, 2, 3):
    raise SourceFormatError(path, f"{where(0)} has {width} fields; a meta row is [id], "
                            "[rows, cols] or [id, rows, cols]")
  for i, row in enumerate(rows):
    if len(row) != width:
      raise SourceFormatError(
          path, f"{where(i)} has {len(row)} fields, but {where(0)} has {width}; every row of a "
          "meta file has the same columns (an id containing ',' cannot be stored)")
  ids = tuple(row[0] for row in rows) if width != 2 else None
  sizes = None
  if width >= 2:
    sizes = []
    for i, row in enumerate(rows):
      size = []
      for what, text in zip(("rows", "cols"), row[-2:]):
        text = text.strip()
        if not text.isascii() or not text.isdigit():
          raise SourceFormatError(path, f"{where(i)}: {what} {text!r} is not a whole number")
        size.append(int(text))
      sizes.append(tuple(size))
    sizes = tuple(sizes)
    empty = [i for i, (r, c) in enumerate(sizes) if r * c == 0]
    if empty:
      size = "the size 0x0" if all(sizes[i] == (0, 0) for i in empty) else "no pixels"
      raise no_image_error(path, empty, num_items, f"the meta file gives "
                           f"{'it' if len(empty) == 1 else 'them'} {size}", ids)
  return ItemMeta(ids, sizes)


def item_meta_rows(num_items: int, ids: Optional[Sequence[str]],
                   sizes: Sequence[Tuple[int, int]]) -> Optional[List[List[str]]]:
  """The rows Datumaro's exporters write for these items, or None when they write no meta file.

  Ids are written when any differs from its index, sizes when any differs from 28x28; each
  row then holds every item's value, defaults included.
  """
  with_ids = ids is not None and any(str(i) != item_id for i, item_id in enumerate(ids))
  with_sizes = any(tuple(size) != DATUMARO_IMAGE_SIZE for size in sizes)
  if not (with_ids or with_sizes):
    return None
  rows = []
  for i in range(num_items):
    row = [ids[i] if with_ids else None] + ([str(s) for s in sizes[i]] if with_sizes else [])
    rows.append(row if with_ids else row[1:])
  return rows


def subset_to_write(images, labels: Sequence[int], ids: Optional[Sequence[str]]
                    ) -> Tuple[List[np.ndarray], Optional[List[List[str]]]]:
  """Checks a subset before an exporter writes it; returns its images and its meta rows.

  images: N x rows x cols uint8, or N arrays of rows x cols uint8; one label and (if given) one
  id each.
  """
  images = [np.asarray(image) for image in images]
  if len(labels) != len(images) or (ids is not None and len(ids) != len(images)):
    raise ValueError(f"{len(images)} images, {len(labels)} labels and "
                     f"{'no' if ids is None else len(ids)} ids do not match")
  for image in images:
    if image.ndim != 2 or image.dtype != np.uint8:
      raise ValueError(f"images must be 2-D uint8 arrays, got {image.shape} {image.dtype}")
  return images, item_meta_rows(len(images), ids, [image.shape for image in images])
