"""Users' own MNIST-style datasets as TFDS datasets, the way `tfds.ImageFolder` reads image folders.

    from tfds_builders.mnist_family import IdxFolder, CsvFolder
    builder = IdxFolder("path/to/datumaro_export")
    print(builder.info)   # splits, counts, class names and image size come from the files
    ds = builder.as_dataset(split="train", as_supervised=True)

IdxFolder reads Datumaro's MNIST export: `<subset>-images-idx3-ubyte.gz` with
`<subset>-labels-idx1-ubyte.gz` (gzipped or not) per subset, any image size the IDX header says;
`t10k` is Datumaro's name for the subset `test`. CsvFolder reads `mnist_<subset>.csv` files. Class
names come from `dataset_meta.json` over `labels.txt` over "0".."9". An unlabeled image (IDX label
255, CSV label -1) has `label` -1, TFDS's ClassLabel value for "no label".

Like ImageFolder, nothing is written: each `as_dataset` reads the split's files (headers only at
construction), so there is nothing to prepare and no name to register. To get a prepared TFDS
dataset that `tfds.load` reads by name (slicing such as `train[:10%]` included), write it once:

    IdxFolder("path/to/export").write_tfds_dataset("my_digits", data_dir="~/tensorflow_datasets")
    ds = tfds.load("my_digits", split="train[:10%]", data_dir="~/tensorflow_datasets")
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Dict, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfds_builders.errors import ManualDirError, SourceFormatError
from tfds_builders.formats import dataset_meta, idx, mnist_csv
from tfds_builders.mnist_family.idx_base import encode_pngs
from tfds_builders.mnist_family.mnist_csv import csv_splits

IDX_UNLABELED = 255
_IDX_PATTERN = re.compile(r"^(?P<subset>.+)-(?P<kind>images-idx3|labels-idx1)-ubyte(\.gz)?$")
# Datumaro writes its `test` subset under MNIST's own prefix.
_SUBSET_OF_PREFIX = {"t10k": "test"}


class _ArrayFolder(tfds.core.DatasetBuilder, skip_registration=True):
  """A folder of array files whose splits and shapes are known from the files themselves."""

  VERSION = tfds.core.Version("1.0.0")

  def __init__(self, root_dir: os.PathLike, *, image_shape: Optional[Tuple[int, int]] = None):
    root_dir = pathlib.Path(os.path.expanduser(os.fspath(root_dir)))
    if not root_dir.is_dir():
      raise ManualDirError(f"{root_dir}: not a directory")
    self._root_dir = root_dir
    self._sources = self._find_sources(root_dir)
    if not self._sources:
      raise ManualDirError(f"{root_dir}: {self._NOTHING_FOUND}")
    self._class_names = dataset_meta.read_class_names(root_dir)
    self._counts, self._image_shape = {}, None
    for split, source in self._sources.items():
      count, shape = self._count_and_shape(source, image_shape)
      if self._image_shape is not None and shape != self._image_shape:
        raise SourceFormatError(self._describe(source), f"images are {shape[0]}x{shape[1]}, "
                                f"other subsets' are {self._image_shape[0]}x"
                                f"{self._image_shape[1]}")
      self._counts[split], self._image_shape = count, shape
    super().__init__(data_dir=os.fspath(root_dir))
    self._data_dir = os.fspath(root_dir)  # nothing is written; the folder is the data
    self.info.set_splits(tfds.core.SplitDict([
        tfds.core.SplitInfo(name=split, shard_lengths=[count], num_bytes=0)
        for split, count in self._counts.items()]))

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description=f"{type(self).__name__} of {self._root_dir}.",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=self._image_shape + (1,)),
            "label": tfds.features.ClassLabel(names=self._class_names),
        }),
        supervised_keys=("image", "label"),
    )

  def download_and_prepare(self, **kwargs):
    del kwargs  # nothing to prepare: as_dataset reads the files

  def _download_and_prepare(self, dl_manager, download_config=None):
    raise NotImplementedError(f"{type(self).__name__} reads its folder; nothing to prepare")

  def _as_dataset(self, split, shuffle_files=False, decoders=None, read_config=None):
    del read_config
    if decoders:
      raise ValueError(f"{type(self).__name__} yields decoded images; decoders are not supported")
    split = str(split)
    if split not in self._sources:
      raise ValueError(f"Unknown split {split!r}; {self._root_dir} has "
                       f"{sorted(self._sources)} (slicing such as 'train[:10]' is not supported)")
    images, labels = self._read(self._sources[split])
    ds = tf.data.Dataset.from_tensor_slices({
        "image": images[..., np.newaxis], "label": labels.astype(np.int64)})
    return ds.shuffle(len(labels)) if shuffle_files else ds

  def write_tfds_dataset(self, name: str, data_dir: os.PathLike,
                         version: str = "1.0.0") -> tfds.core.DatasetBuilder:
    """Stores every split as a prepared TFDS dataset `name` in `data_dir`.

    Afterwards `tfds.load(name, data_dir=data_dir)` reads it from its files, with no code and no
    registration, like any TFDS dataset (shuffling, slicing, caching included).
    """
    def split_examples(split):
      images, labels = self._read(self._sources[split])
      for index, png in enumerate(encode_pngs(images)):
        yield index, {"image": png, "label": int(labels[index])}

    return tfds.dataset_builders.store_as_tfds_dataset(
        name=name, version=version, features=self.info.features, data_dir=os.fspath(data_dir),
        split_datasets={split: split_examples(split) for split in self._sources},
        description=f"Written by tfds_builders {type(self).__name__} from {self._root_dir}.")

  def _describe(self, source) -> str:
    return str(source if not isinstance(source, tuple) else source[0])


class IdxFolder(_ArrayFolder, skip_registration=True):
  """A folder of IDX files in Datumaro's MNIST layout (see the module docstring)."""

  _NOTHING_FOUND = ("no <subset>-images-idx3-ubyte[.gz] with <subset>-labels-idx1-ubyte[.gz] "
                    "files")

  @staticmethod
  def _find_sources(root_dir) -> Dict[str, Tuple[pathlib.Path, pathlib.Path]]:
    found: Dict[str, Dict[str, pathlib.Path]] = {}
    for path in sorted(root_dir.iterdir()):
      match = _IDX_PATTERN.match(path.name)
      if match and path.is_file():
        subset = _SUBSET_OF_PREFIX.get(match.group("subset"), match.group("subset"))
        kinds = found.setdefault(subset, {})
        if match.group("kind") in kinds:
          raise ManualDirError(f"{root_dir}: both {kinds[match.group('kind')].name} and "
                               f"{path.name} exist; keep one")
        kinds[match.group("kind")] = path
    sources = {}
    for subset, kinds in found.items():
      if len(kinds) != 2:
        (kind, path), = kinds.items()
        other = "labels-idx1" if kind == "images-idx3" else "images-idx3"
        raise ManualDirError(f"{path}: found no matching {other} file for subset {subset!r}")
      sources[subset] = (kinds["images-idx3"], kinds["labels-idx1"])
    return sources

  def _count_and_shape(self, source, image_shape):
    images, labels = (idx.read_idx_header(p) for p in source)
    if len(images.shape) != 3:
      raise SourceFormatError(source[0], f"expected N×H×W images, the header says "
                              f"{'x'.join(map(str, images.shape))}")
    if labels.num_items != images.num_items:
      raise SourceFormatError(source[1], f"has {labels.num_items} labels but {source[0]} has "
                              f"{images.num_items} images; the two files do not belong together")
    if image_shape is not None and tuple(image_shape) != images.item_shape:
      raise SourceFormatError(source[0], f"images are {'x'.join(map(str, images.item_shape))}, "
                              f"expected {'x'.join(map(str, image_shape))}")
    return images.num_items, images.item_shape

  def _read(self, source):
    images, labels = idx.read_idx_pair(*source, num_classes=len(self._class_names),
                                       unlabeled=(IDX_UNLABELED,))
    labels = labels.astype(np.int64)
    labels[labels == IDX_UNLABELED] = -1
    return images, labels


class CsvFolder(_ArrayFolder, skip_registration=True):
  """A folder of `mnist_<subset>.csv` files (see the module docstring)."""

  _NOTHING_FOUND = "no mnist_<subset>.csv files"

  @staticmethod
  def _find_sources(root_dir):
    return csv_splits(root_dir)

  def _count_and_shape(self, source, image_shape):
    layout = mnist_csv.read_layout(source, image_shape)
    return layout.num_rows, layout.image_shape

  def _read(self, source):
    images, labels = mnist_csv.read_mnist_csv(source, self._image_shape)
    idx.check_labels(labels, str(source), len(self._class_names),
                     unlabeled=(mnist_csv.UNLABELED,))
    return images, labels
