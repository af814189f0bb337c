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
import re
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import paths

META_JSON = "dataset_meta.json"
LABELS_TXT = "labels.txt"
DEFAULT_NAMES = tuple(str(i) for i in range(10))
# The image size Datumaro's MNIST exporters assume; only items of other sizes make them list sizes.
DATUMARO_IMAGE_SIZE = (28, 28)


# TFDS's rule for split names (`tfds.load(split="name[:10%]")` parses them): letters, digits, '_'
# and '-', where a letter or digit is what regex `\w` matches (non-ASCII ones included).
_SPLIT_NAME = re.compile(r"[\w-]+")


def is_split_name(text: str) -> bool:
  """Whether `text` is, as a whole, a TFDS split name (a Datumaro subset becomes a split)."""
  return _SPLIT_NAME.fullmatch(text) is not None


# The most bytes a class list is read from: a million names of 16 characters. A bigger file is not
# a list of class names, and reading it whole could take any amount of memory.
MAX_NAMES_BYTES = 16 << 20


def _read_text(path) -> str:
  with paths.open_binary(path) as f:  # a file this process may not read is named there
    data = f.read(MAX_NAMES_BYTES + 1)
  if len(data) > MAX_NAMES_BYTES:
    raise SourceFormatError(path, f"is larger than {MAX_NAMES_BYTES} bytes, more than any list "
                            "of class names: not a class list")
  try:
    return data.decode("utf-8")
  except UnicodeDecodeError as e:
    raise SourceFormatError(path, f"is not UTF-8 text (byte {e.start}: {e.reason})") from e


def _names_from_json(path: pathlib.Path) -> Optional[List[str]]:
  text = _read_text(path)
  try:
    meta = json.loads(text)
  except json.JSONDecodeError as e:
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
    names = [line.strip() for line in _read_text(source).splitlines() if line.strip()]
  if names is None:
    return None if default is None else list(default)
  if not names:
    raise SourceFormatError(source, "declares no class names")
  seen = set()
  for name in names:
    if name in seen:
      raise SourceFormatError(source, f"class name {name!r} appears more than once")
    if "\n" in name or "\r" in name:
      # TFDS keeps class names one per line (label.labels.txt), and so do labels.txt files.
      raise SourceFormatError(source, f"class name {name!r} holds a line break; a class name is "
                              "one line of text")
    if not name or name != name.strip():
      # TFDS reads label.labels.txt back with strip() and drops blank lines: the stored dataset
      # would have other class names (or fewer) than this file.
      raise SourceFormatError(
          source, f"class name {name!r} is blank or begins or ends with whitespace, which TFDS "
          "strips when it reads class names back: write it without that whitespace")
    seen.add(name)
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


# (item index, its id or None) of the first items a message names, and how many there are.
Named = Sequence[Tuple[int, Optional[str]]]
_NAMED_MOST = 5


def _item_names(first: Named, count: int) -> str:
  shown = [f"{i} ({item_id!r})" if item_id is not None else str(i)
           for i, item_id in first[:_NAMED_MOST]]
  more = f" and {count - _NAMED_MOST} more" if count > _NAMED_MOST else ""
  return ", ".join(shown) + more


def no_image_error(path, first: Named, count: int, num_items: int,
                   how: str) -> SourceFormatError:
  """The refusal of `count` items Datumaro wrote without image data (`first`: the first few of
  them, as (index, id or None); `how` says how it marked them)."""
  which = (f"none of its {num_items} items has an image" if count == num_items else
           f"{'item' if count == 1 else 'items'} {_item_names(first, count)} of "
           f"{num_items} {'has' if count == 1 else 'have'} no image")
  return SourceFormatError(
      path, f"{which}: {how}, which is how Datumaro writes an item without image data; a "
      "dataset of images needs an image for every item")


# A meta row as a reader yields it: (its line number, or None where rows have none, its cells).
MetaRow = Tuple[Optional[int], Sequence[str]]


def _meta_size(path, where: str, row: Sequence[str]) -> Tuple[int, int]:
  size = []
  for what, text in zip(("rows", "cols"), row[-2:]):
    text = text.strip()
    if not text.isascii() or not text.isdigit():
      raise SourceFormatError(path, f"{where}: {what} {text!r} is not a whole number")
    size.append(int(text))
  return size[0], size[1]


def item_meta_from_rows(path, rows: Callable[[], Iterable[MetaRow]],
                        num_items: Optional[int]) -> ItemMeta:
  """Interprets a meta file's rows (one per item, 1 to 3 text cells each) for `num_items` items
  (None: as many as the file has).

  `rows()` is called twice: the first pass checks every row and keeps none, so that a file that
  is refused costs no memory however many rows it has; the second keeps the ids and sizes.
  Messages name a row's line when the reader gives one, else the item.
  """
  width, first_where, count = None, None, 0
  empty: List[Tuple[int, Optional[str]]] = []
  num_empty, all_0x0 = 0, True
  for i, (line_no, row) in enumerate(rows()):
    where = f"line {line_no}" if line_no is not None else f"item {i}"
    if width is None:
      width, first_where = len(row), where
      if width not in (1, 2, 3):
        raise SourceFormatError(path, f"{where} has {width} fields; a meta row is [id], "
                                "[rows, cols] or [id, rows, cols]")
    elif len(row) != width:
      raise SourceFormatError(
          path, f"{where} has {len(row)} fields, but {first_where} has {width}; every row of a "
          "meta file has the same columns (an id containing ',' cannot be stored)")
    if width >= 2:
      rows_cols = _meta_size(path, where, row)
      if rows_cols[0] * rows_cols[1] == 0:
        num_empty += 1
        all_0x0 &= rows_cols == (0, 0)
        if len(empty) < _NAMED_MOST:
          empty.append((i, row[0] if width == 3 else None))
    count += 1
  if num_items is not None and count != num_items:
    raise SourceFormatError(path, f"has {count} rows, but the subset has {num_items} items; "
                            "the meta file describes one row per item")
  if num_empty:
    size = "the size 0x0" if all_0x0 else "no pixels"
    raise no_image_error(path, empty, num_empty, count, f"the meta file gives "
                         f"{'it' if num_empty == 1 else 'them'} {size}")
  if not count:
    return ItemMeta(None, None)
  kept = [(row[0] if width != 2 else None, _meta_size(path, "", row) if width >= 2 else None)
          for _, row in rows()]
  if len(kept) != count:  # the file changed between the two passes
    raise SourceFormatError(path, f"changed while it was read ({count} rows, then {len(kept)})")
  ids = tuple(item_id for item_id, _ in kept) if width != 2 else None
  sizes = tuple(size for _, size in kept) if width >= 2 else None
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
