"""Users' own MNIST-style datasets as TFDS datasets, the way `tfds.ImageFolder` reads image folders.

    from tfds_builders.mnist_family import IdxFolder, CsvFolder
    builder = IdxFolder("path/to/datumaro_export")
    print(builder.info)   # splits, counts, class names and image size come from the files
    ds = builder.as_dataset(split="train", as_supervised=True)

IdxFolder reads Datumaro's MNIST export (`datum export -f mnist`): `<subset>-images-idx3-ubyte.gz`
with `<subset>-labels-idx1-ubyte.gz` (gzipped or not) per subset, `t10k` being Datumaro's name for
the subset `test`. CsvFolder reads its `mnist_csv` export: `mnist_<subset>.csv` files. Both read
what Datumaro adds to the formats: the images header that counts pixels, not images, and the meta
file (`<subset>-meta.gz`, `meta_<subset>.csv`) that gives items other ids or sizes than 28x28.
Plain IDX files of any size, and CSV files with or without a header row, are read too.

- Class names come from `dataset_meta.json` over `labels.txt` over "0".."9".
- An unlabeled image (IDX label 255, CSV label -1) has `label` -1, TFDS's ClassLabel "no label".
- Images of different sizes (in one subset or across subsets) make the `image` feature
  `(None, None, 1)`; one size everywhere makes it `(rows, cols, 1)`.
- When a meta file gives ids, every example has an `id` (string): its id, or its index as text
  in a subset without ids.
- An item Datumaro wrote without image data is refused by name: a dataset of images needs images.
- Nothing is cast: images must be uint8; labels uint8 (255 = no label) or signed integers, kept
  exactly (-1 = no label). A subset whose name is not UTF-8 or not a TFDS split name is refused,
  and so is a split of more than `max_items` items (10 M unless given), before its body is read.

Like ImageFolder, nothing is written: each `as_dataset` reads the split's files (headers and meta
files only at construction), so there is nothing to prepare and no name to register. To get a
prepared TFDS dataset that `tfds.load` reads by name (slicing such as `train[:10%]` and
`as_supervised=True` included), write it once:

    IdxFolder("path/to/export").write_tfds_dataset("my_digits", data_dir="~/tensorflow_datasets")
    ds = tfds.load("my_digits", split="train[:10%]", data_dir="~/tensorflow_datasets")
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import re
from typing import Dict, FrozenSet, Iterator, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfds_builders.errors import ManualDirError, SourceFormatError
from tfds_builders.formats import dataset_meta, idx, mnist_csv, paths
from tfds_builders.formats.dataset_meta import ItemMeta
from tfds_builders.formats.matrix import shape_text
from tfds_builders.mnist_family.idx_base import encode_pngs

log = logging.getLogger("tfds_builders.folder")

IDX_UNLABELED = 255
# Matched against a whole file name (fullmatch); a subset may hold any character here, even a line
# break, so that a name that is no split name is refused by name rather than silently skipped.
_IDX_PATTERN = re.compile(
    r"(?P<subset>.+)-(?P<kind>images-idx3-ubyte|labels-idx1-ubyte|meta)(\.gz)?", re.DOTALL)
_CSV_PATTERN = re.compile(r"mnist_(?P<subset>.+)\.csv", re.DOTALL)
_CSV_META_PATTERN = re.compile(r"meta_(?P<subset>.+)\.csv", re.DOTALL)
# Datumaro writes its `test` subset under MNIST's own prefix (its meta file keeps `test`).
_SUBSET_OF_PREFIX = {"t10k": "test"}

Size = Tuple[int, int]


@dataclasses.dataclass(frozen=True)
class _Subset:
  """A split's files and what their headers and meta file say.

  Attributes:
    files: IDX (images, labels, meta or None); CSV (csv, meta or None).
    num_items: the number of examples.
    sizes: the distinct image sizes.
    meta: the meta file's ids and sizes, or None without one.
  """
  files: Tuple[Optional[pathlib.Path], ...]
  num_items: int
  sizes: FrozenSet[Size]
  meta: Optional[ItemMeta]

  @property
  def item_sizes(self) -> Optional[Tuple[Size, ...]]:
    return None if self.meta is None else self.meta.sizes

  @property
  def ids(self) -> Optional[Tuple[str, ...]]:
    return None if self.meta is None else self.meta.ids


class _StoredFolder(tfds.dataset_builders.AdhocBuilder, skip_registration=True):
  """The builder `store_as_tfds_dataset` uses, keeping the supervised keys it has no argument for.

  Without them the stored dataset refuses `as_supervised=True`, and `export` refuses it.
  """

  def __init__(self, *, supervised_keys: Tuple[str, str], **kwargs):
    self._stored_supervised_keys = supervised_keys
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    info = super()._info()
    return tfds.core.DatasetInfo(
        builder=self, description=info.description, features=info.features,
        supervised_keys=self._stored_supervised_keys, disable_shuffling=info.disable_shuffling)


# What one split may hold: the folder builders hold a split in memory, and a header or a meta file
# claiming more (an xz file of a few kilobytes can honestly decompress to gigabytes) is refused
# before anything is read. `max_items=` raises it.
MAX_ITEMS = 10_000_000


def _is_text(name: str) -> bool:
  """False for a name holding bytes that are not UTF-8 (Python keeps them as surrogates)."""
  try:
    name.encode("utf-8")
  except UnicodeEncodeError:
    return False
  return True


def _files(root_dir: pathlib.Path,
           pattern: re.Pattern) -> Iterator[Tuple[pathlib.Path, re.Match]]:
  """The folder's files whose names match `pattern` (with a `subset` group), in name order.

  A subset becomes a TFDS split: a name that is not UTF-8 text, or not a split name, is refused
  rather than skipped, so that no file of the folder is silently left out.
  """
  try:
    entries = sorted(root_dir.iterdir())
  except PermissionError as e:
    raise SourceFormatError(root_dir, "permission denied: this process may not list this folder "
                            "(check its permissions and owner)") from e
  for path in entries:
    match = pattern.fullmatch(path.name)
    if not match or not path.is_file():
      continue
    if not _is_text(path.name):
      raise SourceFormatError(root_dir, f"holds a file name that is not UTF-8 text "
                              f"({path.name!r}); its subset would be a split name, which must be "
                              "text: rename the file")
    subset = match.group("subset")
    if not dataset_meta.is_split_name(subset):
      raise SourceFormatError(path, f"the subset name {subset!r} cannot be a split name: TFDS "
                              "split names hold only letters, digits, '_' and '-'; rename the "
                              "file")
    yield path, match


class _ArrayFolder(tfds.core.DatasetBuilder, skip_registration=True):
  """A folder of array files whose splits, sizes and ids are known from the files themselves."""

  VERSION = tfds.core.Version("1.0.0")

  def __init__(self, root_dir: os.PathLike, *, image_shape: Optional[Tuple[int, int]] = None,
               max_items: int = MAX_ITEMS):
    root_dir = pathlib.Path(os.path.expanduser(os.fspath(root_dir)))
    if not _is_text(os.fspath(root_dir)):
      raise ManualDirError(f"{os.fspath(root_dir)!r}: the folder's path is not UTF-8 text, which "
                           "TFDS needs for a data dir; rename the folder")
    if not root_dir.is_dir():
      raise ManualDirError(f"{root_dir}: not a directory")
    self._root_dir = root_dir
    self._expected_size = None if image_shape is None else tuple(image_shape)
    self._max_items = max_items
    sources = self._find_sources(root_dir)
    if not sources:
      raise ManualDirError(f"{root_dir}: {self._NOTHING_FOUND}")
    self._class_names = dataset_meta.read_class_names(root_dir)
    self._subsets = {split: self._open(source) for split, source in sources.items()}
    sizes = frozenset().union(*(subset.sizes for subset in self._subsets.values()))
    self._image_size = next(iter(sizes)) if len(sizes) == 1 else None
    self._has_ids = any(subset.ids is not None for subset in self._subsets.values())
    super().__init__(data_dir=os.fspath(root_dir))
    self._data_dir = os.fspath(root_dir)  # nothing is written; the folder is the data
    self.info.set_splits(tfds.core.SplitDict([
        tfds.core.SplitInfo(name=split, shard_lengths=[subset.num_items], num_bytes=0)
        for split, subset in self._subsets.items()]))

  def _info(self) -> tfds.core.DatasetInfo:
    features = {
        "image": tfds.features.Image(shape=(self._image_size or (None, None)) + (1,)),
        "label": tfds.features.ClassLabel(names=self._class_names),
    }
    if self._has_ids:
      features["id"] = tfds.features.Text()
    return tfds.core.DatasetInfo(
        builder=self,
        description=f"{type(self).__name__} of {self._root_dir}.",
        features=tfds.features.FeaturesDict(features),
        supervised_keys=("image", "label"),
    )

  def download_and_prepare(self, **kwargs):
    del kwargs  # nothing to prepare: as_dataset reads the files

  def _download_and_prepare(self, dl_manager, download_config=None):
    raise NotImplementedError(f"{type(self).__name__} reads its folder; nothing to prepare")

  def _check_expected_size(self, path, sizes: FrozenSet[Size]) -> None:
    if self._expected_size is not None and sizes - {self._expected_size}:
      other = sorted(sizes - {self._expected_size})
      raise SourceFormatError(path, f"images are {', '.join(map(shape_text, other))}, expected "
                              f"{shape_text(self._expected_size)}")

  def _examples(self, split: str):
    """(images: N×rows×cols or a list of rows×cols arrays, labels (-1 = none), ids or None)."""
    subset = self._subsets[split]
    images, labels = self._read(subset)
    if len(labels) != subset.num_items:
      raise SourceFormatError(subset.files[0], f"now holds {len(labels)} items; it held "
                              f"{subset.num_items} when {type(self).__name__} was created")
    ids = None
    if self._has_ids:
      ids = list(subset.ids) if subset.ids is not None else [str(i) for i in range(len(labels))]
    return images, labels, ids

  def _as_dataset(self, split, shuffle_files=False, decoders=None, read_config=None):
    del read_config
    if decoders:
      raise ValueError(f"{type(self).__name__} yields decoded images; decoders are not supported")
    split = str(split)
    if split not in self._subsets:
      raise ValueError(f"Unknown split {split!r}; {self._root_dir} has "
                       f"{sorted(self._subsets)} (slicing such as 'train[:10]' is not supported)")
    images, labels, ids = self._examples(split)
    columns = {"label": labels}
    if ids is not None:
      columns["id"] = np.asarray(ids, dtype=object)
    if isinstance(images, np.ndarray):
      ds = tf.data.Dataset.from_tensor_slices({"image": images[..., np.newaxis], **columns})
    else:
      def examples():
        for i, image in enumerate(images):
          yield {"image": image[..., np.newaxis], **{k: v[i] for k, v in columns.items()}}
      signature = {"image": tf.TensorSpec((None, None, 1), tf.uint8),
                   "label": tf.TensorSpec((), tf.int64)}
      if ids is not None:
        signature["id"] = tf.TensorSpec((), tf.string)
      ds = tf.data.Dataset.from_generator(examples, output_signature=signature)
    return ds.shuffle(len(labels)) if shuffle_files else ds

  def write_tfds_dataset(self, name: str, data_dir: os.PathLike,
                         version: str = "1.0.0") -> tfds.core.DatasetBuilder:
    """Stores every split as a prepared TFDS dataset `name` in `data_dir`.

    Afterwards `tfds.load(name, data_dir=data_dir)` reads it from its files, with no code and no
    registration, like any TFDS dataset (shuffling, slicing, caching, `as_supervised=True`
    included). It keeps the splits, class names, ids and the order of the files' examples.
    """
    def split_examples(split) -> Iterator[Tuple[int, dict]]:
      images, labels, ids = self._examples(split)
      if isinstance(images, np.ndarray):
        pngs = encode_pngs(images)
      else:
        pngs = (png for image in images for png in encode_pngs(image[np.newaxis]))
      for index, png in enumerate(pngs):
        example = {"image": png, "label": int(labels[index])}
        if ids is not None:
          example["id"] = ids[index]
        yield index, example

    builder = _StoredFolder(
        name=name, version=version, features=self.info.features,
        data_dir=os.path.expanduser(os.fspath(data_dir)),
        split_datasets={split: split_examples(split) for split in self._subsets},
        description=f"Written by tfds_builders {type(self).__name__} from {self._root_dir}.",
        # The files' order is the user's; a fixed shuffle at write time would only hide it.
        disable_shuffling=True, supervised_keys=("image", "label"))
    if builder.is_prepared():
      raise RuntimeError(f"Dataset '{name}' was already prepared as a TFDS dataset in "
                         f"{builder.data_dir}; choose another name or version")
    builder.download_and_prepare()
    return builder


class IdxFolder(_ArrayFolder, skip_registration=True):
  """A folder of IDX files in Datumaro's MNIST layout (see the module docstring)."""

  _NOTHING_FOUND = ("no <subset>-images-idx3-ubyte[.gz] with <subset>-labels-idx1-ubyte[.gz] "
                    "files")

  @staticmethod
  def _find_sources(root_dir) -> Dict[str, Tuple[pathlib.Path, pathlib.Path,
                                                 Optional[pathlib.Path]]]:
    found: Dict[str, Dict[str, pathlib.Path]] = {}
    for path, match in _files(root_dir, _IDX_PATTERN):
      subset = _SUBSET_OF_PREFIX.get(match.group("subset"), match.group("subset"))
      kinds = found.setdefault(subset, {})
      kind = match.group("kind")
      if kind in kinds:
        raise ManualDirError(f"{root_dir}: both {kinds[kind].name} and {path.name} exist; "
                             "keep one")
      kinds[kind] = path
    sources = {}
    for subset, kinds in found.items():
      images, labels = kinds.get("images-idx3-ubyte"), kinds.get("labels-idx1-ubyte")
      if labels is None and images is None:
        raise ManualDirError(f"{kinds['meta']}: a meta file of subset {subset!r}, which has no "
                             "labels-idx1 and images-idx3 files")
      if labels is None:
        raise ManualDirError(f"{images}: found no matching labels-idx1 file for subset "
                             f"{subset!r}")
      if images is None:
        raise ManualDirError(
            f"{labels}: found no matching images-idx3 file for subset {subset!r}, so none of "
            "its items has an image (Datumaro writes no images file when it exports without "
            "--save-media); a dataset of images needs the images")
      sources[subset] = (images, labels, kinds.get("meta"))
    return sources

  def _open(self, source) -> _Subset:
    images, labels, meta_path = source
    labels_header = idx.read_idx_header(labels)
    idx.check_kind(str(labels), labels_header, idx.FOLDER_LABELS)
    num_items = labels_header.num_items
    idx.check_count(str(labels), num_items, "labels", self._max_items,
                    f"{type(self).__name__} reads at most {self._max_items} items in a split "
                    "(it holds a split in memory); pass max_items= to read more")
    meta = None if meta_path is None else idx.read_meta(meta_path, num_items, labels=str(labels))
    items = idx.read_image_items_header(images, num_items, meta and meta.sizes,
                                        labels=str(labels), meta=str(meta_path))
    if items.counts_pixels:
      log.info("%s: the header's count, %d, is the number of pixels, as Datumaro's exporter "
               "writes it, not of images; read as %d images", images, items.header.shape[0],
               num_items)
    sizes = frozenset(items.sizes)
    self._check_expected_size(images, sizes)
    return _Subset(source, num_items, sizes, meta)

  def _read(self, subset: _Subset):
    images_path, labels_path, meta_path = subset.files
    # The labels first: they are small, and a bad one is refused before the images are read.
    labels = idx.read_idx(labels_path)
    if labels.shape != (subset.num_items,):
      raise SourceFormatError(labels_path, f"now holds {shape_text(labels.shape)} labels; it held "
                              f"{subset.num_items} when {type(self).__name__} was created")
    # Datumaro's uint8 labels mark "no label" with 255; signed labels keep every value, -1 being
    # TFDS's own "no label".
    unlabeled = IDX_UNLABELED if labels.dtype == np.uint8 else -1
    idx.check_labels(labels, str(labels_path), len(self._class_names), unlabeled=(unlabeled,))
    labels = labels.astype(np.int64)
    labels[labels == unlabeled] = -1
    _, images = idx.read_image_items(images_path, subset.num_items, subset.item_sizes,
                                     labels=str(labels_path), meta=str(meta_path))
    return images, labels


class CsvFolder(_ArrayFolder, skip_registration=True):
  """A folder of `mnist_<subset>.csv` files (see the module docstring)."""

  _NOTHING_FOUND = "no mnist_<subset>.csv files"

  @staticmethod
  def _find_sources(root_dir) -> Dict[str, Tuple[pathlib.Path, Optional[pathlib.Path]]]:
    files = {match.group("subset"): path for path, match in _files(root_dir, _CSV_PATTERN)}
    metas = {}
    for path, match in _files(root_dir, _CSV_META_PATTERN):
      if match.group("subset") not in files:
        raise ManualDirError(f"{path}: a meta file of subset {match.group('subset')!r}, which "
                             f"has no mnist_{match.group('subset')}.csv")
      metas[match.group("subset")] = path
    return {subset: (path, metas.get(subset)) for subset, path in files.items()}

  def _open(self, source) -> _Subset:
    csv_path, meta_path = source
    meta = None
    if meta_path is not None:
      meta = mnist_csv.read_meta(meta_path, max_items=self._max_items)
    item_sizes = meta and meta.sizes
    layout = mnist_csv.read_layout(csv_path, None if item_sizes else self._expected_size,
                                   sizes=item_sizes, ids=meta and meta.ids)
    if meta is not None and len(meta.ids or meta.sizes) != layout.num_rows:
      raise SourceFormatError(meta_path, f"has {len(meta.ids or meta.sizes)} rows, but "
                              f"{csv_path} has {layout.num_rows} items; the meta file describes "
                              "one row per item")
    idx.check_count(str(csv_path), layout.num_rows, "rows", self._max_items,
                    f"{type(self).__name__} reads at most {self._max_items} items in a split "
                    "(it holds a split in memory); pass max_items= to read more")
    sizes = frozenset(layout.sizes or (layout.image_shape,))
    self._check_expected_size(csv_path, sizes)
    return _Subset(source, layout.num_rows, sizes, meta)

  def _read(self, subset: _Subset):
    csv_path, _ = subset.files
    image_shape = None if subset.item_sizes else self._expected_size

    def check(batches):
      first_item = 0
      for _, labels in batches:
        idx.check_labels(labels, str(csv_path), len(self._class_names),
                         unlabeled=(mnist_csv.UNLABELED,), first_item=first_item)
        first_item += len(labels)

    if paths.size_of(csv_path) > idx.HELD_UNCHECKED:
      # A large file is parsed once keeping nothing, so that a row refused near its end is
      # refused before the whole file is held in memory.
      check(mnist_csv.iter_mnist_csv(csv_path, image_shape, sizes=subset.item_sizes))
    images, labels = mnist_csv.read_mnist_csv(csv_path, image_shape, sizes=subset.item_sizes)
    check([(images, labels)])
    return images, labels
