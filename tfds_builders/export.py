"""Export a built dataset to the formats people use: npz, PNG folders, IDX and CSV (Datumaro's
MNIST layouts, which Datumaro and our own folder builders read back).

    python -m tfds_builders export mnist_idx --split train --format idx --out exported/

IDX and CSV are written as Datumaro's `mnist` and `mnist_csv` exporters write them (`t10k-...`
for the split `test`, `labels.txt`, `dataset_meta.json`, and a meta file when the examples have
ids other than their indices or images other than 28x28), with one difference: IDX images of one
size get the format's own header, `[N, rows, cols]`, which every IDX reader understands, where
Datumaro writes its pixel count (its importer reads either). Images of different sizes can only
be stored Datumaro's way. An `id` feature, when the dataset has one, becomes the items' ids.
"""

from __future__ import annotations

import csv
import io
import os
import pathlib
import re
import shutil
from typing import Dict, List, Optional

import numpy as np

from tfds_builders.errors import TfdsBuildersError
from tfds_builders.formats import dataset_meta, idx, mnist_csv

FORMATS = ("npz", "png", "idx", "csv")


class ExportError(TfdsBuildersError):
  """The export cannot be done as asked (and nothing was written)."""


def check_out_is_outside(out: pathlib.Path, dataset_dir) -> None:
  """Refuses an --out that is, contains or lies inside the dataset folder being read: writing
  there (or --overwrite's deletion) would destroy the dataset it is exporting."""
  if "://" in os.fspath(dataset_dir):
    return  # a dataset in a bucket cannot overlap a local folder
  dataset = pathlib.Path(os.path.realpath(os.fspath(dataset_dir)))
  target = pathlib.Path(os.path.realpath(os.fspath(out)))
  if target == dataset or target in dataset.parents:
    raise ExportError(f"{out} holds the dataset being exported ({dataset}); writing there would "
                      "delete or change it: choose an --out outside it")
  if dataset in target.parents:
    raise ExportError(f"{out} is inside the dataset being exported ({dataset}); choose an --out "
                      "outside it")


# Characters no folder name may hold: path separators, and control characters (NUL among them).
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")
_MAX_NAME_BYTES = 200  # file systems allow 255 bytes a name; room is left for a suffix


def class_folders(names: List[str]) -> Dict[int, str]:
  """label -> the folder its PNGs go to, for every class and for -1 (no label).

  A class name is a folder name only when it is safe: separators and control characters become
  `_`, and `.`, `..` and the empty name are prefixed with `_`, so that no name, whatever a
  dataset_info says, can lead outside the export. Names that would share a folder (equal, or
  equal but for case, as `A` and `a` on macOS and Windows) get their label appended.
  """
  table = dict(enumerate(names))
  table[-1] = "-1"
  safe = {}
  for label, name in table.items():
    folder = _UNSAFE.sub("_", name)
    if folder in ("", ".", ".."):
      folder = "_" + folder
    if len(folder.encode("utf-8")) > _MAX_NAME_BYTES:
      folder = folder.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", "ignore") + f"_{label}"
    safe[label] = folder
  groups: Dict[str, List[int]] = {}
  for label, folder in safe.items():
    groups.setdefault(folder.casefold(), []).append(label)
  for labels in groups.values():
    if len(labels) > 1:
      for label in labels:
        safe[label] = f"{safe[label]}_{label}"
  if len({folder.casefold() for folder in safe.values()}) != len(safe):
    # Still shared (a class named `a_36` beside `a` and `A`): the label first is unique.
    safe = {label: f"{label}_{folder}" for label, folder in safe.items()}
  return safe


def prepare_out_dir(out: pathlib.Path, overwrite: bool) -> None:
  if out.exists() and (not out.is_dir() or any(out.iterdir())):
    if not overwrite:
      raise ExportError(f"{out} already exists and is not empty; choose another --out or pass "
                        "--overwrite to replace it")
    if out.is_dir():
      shutil.rmtree(out)
    else:
      out.unlink()
  out.mkdir(parents=True, exist_ok=True)


def _progress(iterable, total: Optional[int], desc: str):
  try:
    from tqdm import auto as tqdm_auto
  except ImportError:  # pragma: no cover - tqdm comes with tensorflow-datasets
    return iterable
  return tqdm_auto.tqdm(iterable, total=total, desc=desc, unit=" examples")


def _image_and_label(builder):
  keys = builder.info.supervised_keys
  if not keys or len(keys) != 2:
    raise ExportError(f"{builder.name} has no (image, label) supervised keys to export")
  image_key, label_key = keys
  return image_key, label_key, builder.info.features[label_key]


def _write_labels_txt(out: pathlib.Path, names: List[str]) -> None:
  (out / "labels.txt").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")


def _mnist_like(builder, image_key: str) -> None:
  shape = builder.info.features[image_key].shape
  if len(shape) != 3 or shape[-1] != 1:
    raise ExportError(
        f"{builder.name}: the idx and csv formats hold single-channel images; its '{image_key}' "
        f"images are {shape}. Use --format png or npz")


def _ids(builder, other: Dict[str, list]) -> Optional[List[str]]:
  """The examples' ids when the dataset has a scalar text feature `id`, else None."""
  features = builder.info.features
  if "id" not in features or features["id"].shape != () or features["id"].np_dtype != object:
    return None
  return [value.decode("utf-8") for value in other.get("id", [])]


def export(name: str, split: str, fmt: str, out: os.PathLike, data_dir: Optional[str] = None,
           overwrite: bool = False, progress: bool = True) -> Dict[str, object]:
  """Writes `split` of the built dataset `name` to `out` in `fmt`; returns what was written."""
  import tensorflow_datasets as tfds
  import tfds_builders  # noqa: F401  (registers the builders)

  if fmt not in FORMATS:
    raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
  builder = tfds.builder(name, data_dir=data_dir)
  if not builder.is_prepared():
    raise ExportError(f"{name} is not built in {builder.data_dir_root}; build it first "
                      f"(tfds build --imports tfds_builders {name.split('/')[0]})")
  if split not in builder.info.splits:
    raise ExportError(f"{name} has no split {split!r}; it has {', '.join(builder.info.splits)}")
  if not dataset_meta.is_split_name(split):
    # A split name becomes a folder or a file name prefix; TFDS's own names are always safe.
    raise ExportError(f"{name}: the split name {split!r} is not a TFDS split name (letters, "
                      "digits, '_' and '-')")
  image_key, label_key, label_feature = _image_and_label(builder)
  if fmt in ("idx", "csv"):
    _mnist_like(builder, image_key)
  out = pathlib.Path(out)
  check_out_is_outside(out, builder.data_dir)
  prepare_out_dir(out, overwrite)
  total = builder.info.splits[split].num_examples
  names = list(getattr(label_feature, "names", []) or [])

  if fmt == "png":
    # Stored image bytes are written as they are: no decode, no re-encode.
    ds = builder.as_dataset(split=split, shuffle_files=False,
                            decoders={image_key: tfds.decode.SkipDecoding()})
    encoding = getattr(builder.info.features[image_key], "encoding_format", None) or "png"
    folders = class_folders(names)
    table = io.StringIO()
    rows = csv.writer(table, lineterminator="\n")  # quotes a name holding ',' or '"'
    rows.writerow(["file", "label", "label_name"])
    count = 0
    for index, example in enumerate(_progress(tfds.as_numpy(ds), total, f"{name} {split}")
                                    if progress else tfds.as_numpy(ds)):
      label = int(example[label_key])
      label_name = names[label] if 0 <= label < len(names) else str(label)
      relative = (f"{split}/{folders.get(label, str(label))}/{index:08d}."
                  f"{'jpg' if encoding == 'jpeg' else encoding}")
      (out / relative).parent.mkdir(parents=True, exist_ok=True)
      (out / relative).write_bytes(example[image_key])
      rows.writerow([relative, label, label_name])
      count += 1
    (out / "labels.csv").write_text(table.getvalue(), encoding="utf-8")
    _write_labels_txt(out, names)
    return {"examples": count, "files": [out / "labels.csv", out / "labels.txt"]}

  ds = builder.as_dataset(split=split, shuffle_files=False)
  examples = tfds.as_numpy(ds)
  if progress:
    examples = _progress(examples, total, f"{name} {split}")
  images, labels, other = [], [], {}
  for example in examples:
    images.append(example[image_key])
    labels.append(int(example[label_key]))
    for key, value in example.items():
      if key not in (image_key, label_key):
        other.setdefault(key, []).append(value)
  labels_array = np.asarray(labels, dtype=np.int64)

  if fmt == "npz":
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
      raise ExportError(f"{name} {split}: images have {len(shapes)} different shapes, which one "
                        "npz array cannot hold; use --format png")
    arrays = {"images": np.stack(images) if images else np.zeros((0,), np.uint8),
              "labels": labels_array, "label_names": np.asarray(names, dtype=str)}
    for key, values in other.items():
      arrays[key] = np.stack(values) if values and isinstance(values[0], np.ndarray) \
          else np.asarray(values)
    path = out / f"{name.replace('/', '_')}_{split}.npz"
    np.savez_compressed(path, **arrays)
    return {"examples": len(labels), "files": [path]}

  images = [image[..., 0].astype(np.uint8) for image in images]
  ids = _ids(builder, other)
  try:
    if fmt == "idx":
      if len(names) > 255:
        raise ExportError(f"{name}: {len(names)} classes do not fit IDX's uint8 labels")
      idx_labels = np.where(labels_array < 0, 255, labels_array)  # IDX's "no label" is 255
      files = idx.write_datumaro_subset(out, split, images, idx_labels, ids, count_pixels=False)
    else:
      files = mnist_csv.write_datumaro_subset(out, split, images, labels_array, ids)
  except ValueError as e:
    raise ExportError(f"{name} {split}: {e}") from e
  files += dataset_meta.write_class_names(out, names)
  return {"examples": len(labels), "files": files}
