"""`mnist_csv`: MNIST in CSV (`label,784 pixels` per row), as pjreddie and Datumaro lay it out.

Every `mnist_<subset>.csv` in the manual directory becomes the split `<subset>` (Datumaro's
layout); without a manual directory, `mnist_train.csv` and `mnist_test.csv` are downloaded. A
header row is detected and skipped. Label -1 (Datumaro: no label) is stored as `label` -1, which
TFDS's ClassLabel keeps as "no label"; filter with `ds.filter(lambda ex: ex["label"] >= 0)`.

The class names are "0".."9". A folder whose `dataset_meta.json`/`labels.txt` declares other names
is a different dataset: read it with `tfds_builders.mnist_family.CsvFolder`, which takes its names.
"""

from __future__ import annotations

import logging
import re

import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders.download import SourceFile
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import dataset_meta, idx, mnist_csv
from tfds_builders.mnist_family.idx_base import encode_pngs

log = logging.getLogger("tfds_builders.mnist_csv")

MIRRORS = ("https://pjreddie.com/media/files/",)
DEFAULT_FILES = ("mnist_train.csv", "mnist_test.csv")
FILE_PATTERN = re.compile(r"^mnist_(?P<subset>[A-Za-z0-9_-]+)\.csv$")


def csv_splits(folder) -> dict:
  """subset -> path for every `mnist_<subset>.csv` in a folder (Datumaro's layout)."""
  found = {}
  for path in sorted(folder.iterdir()):
    match = FILE_PATTERN.match(path.name)
    if match and path.is_file():
      found[match.group("subset")] = path
  return found


def generate_csv_examples(path, class_names, image_shape=(28, 28)):
  """(row index, example) for each row; label -1 stays -1 (no label)."""
  row = 0
  for images, labels in mnist_csv.iter_mnist_csv(path, image_shape):
    idx.check_labels(labels, str(path), len(class_names), unlabeled=(mnist_csv.UNLABELED,))
    for offset, png in enumerate(encode_pngs(images)):
      yield row + offset, {"image": png, "label": int(labels[offset])}
    row += len(images)


class MnistCsv(builder_base.SourceFilesMixin, tfds.core.GeneratorBasedBuilder):
  """MNIST read from CSV files (60,000 train, 10,000 test for pjreddie's copy)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: header detection, -1 labels, any mnist_<subset>.csv."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = builder_base.local_sources_instructions(
      "mnist_csv", list(DEFAULT_FILES)) + (
          "Any other mnist_<subset>.csv in the manual directory becomes the split <subset>.\n")

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description=(
            "MNIST in CSV: one row per image, the label then 784 pixel values, optionally after a "
            "header row. Each mnist_<subset>.csv is a split. Label -1 (unlabeled) is stored as "
            "-1."),
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(28, 28, 1)),
            "label": tfds.features.ClassLabel(names=list(dataset_meta.DEFAULT_NAMES)),
        }),
        supervised_keys=("image", "label"),
        homepage="https://pjreddie.com/projects/mnist-in-csv/",
    )

  def _split_generators(self, dl_manager):
    manual_dir = builder_base.manual_dir_of(dl_manager)
    files = csv_splits(manual_dir) if manual_dir and manual_dir.is_dir() else {}
    if files:
      declared = dataset_meta.read_class_names(manual_dir)
      if declared != list(dataset_meta.DEFAULT_NAMES):
        raise SourceFormatError(
            manual_dir, f"declares the classes {declared} (dataset_meta.json or labels.txt), not "
            "MNIST's 0..9; read this folder with tfds_builders.mnist_family.CsvFolder")
    else:
      fetcher = self.fetcher(dl_manager)
      for name in DEFAULT_FILES:
        if name not in fetcher.checksums:
          log.warning("%s has no published size or sha256; it is used unverified", name)
      files = {FILE_PATTERN.match(n).group("subset"): fetcher.get(SourceFile(n, MIRRORS))
               for n in DEFAULT_FILES}
    return {subset: self._generate_examples(path) for subset, path in files.items()}

  def _generate_examples(self, path):
    yield from generate_csv_examples(path, list(dataset_meta.DEFAULT_NAMES))
