"""`mnist_csv`: MNIST in CSV (`label,784 pixels` per row), as pjreddie and Datumaro lay it out.

Every `mnist_<subset>.csv` in the manual directory becomes the split `<subset>` (Datumaro's
layout); without a manual directory, `mnist_train.csv` and `mnist_test.csv` are downloaded. A
header row is detected and skipped. Label -1 (Datumaro: no label) is stored as `label` -1, which
TFDS's ClassLabel keeps as "no label"; filter with `ds.filter(lambda ex: ex["label"] >= 0)`.

The class names are "0".."9". A folder whose `dataset_meta.json`/`labels.txt` declares other names
is a different dataset: read it with `tfds_builders.mnist_family.CsvFolder`, which takes its names.
"""

from __future__ import annotations

import functools

import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import dataset_meta, idx, mnist_csv
from tfds_builders.mnist_family.idx_base import encode_pngs
from tfds_builders.sources import SourceFile, SourceGlob

MIRRORS = ("https://pjreddie.com/media/files/",)
# pjreddie publishes no digest of its CSVs, so a download is verified by a full parse and the
# row count of the official files.
OFFICIAL_ROWS = {"mnist_train.csv": 60_000, "mnist_test.csv": 10_000}
# The widest legal row is "255," for 784 pixels and a label: about 3.2 KB, so 60,000 rows are
# under 200 MB; a longer body is not this file.
_MAX_CSV_BYTES = 200 << 20


def check_official_csv(path, name: str) -> None:
  """Raises SourceFormatError unless `path` parses completely with the official row count."""
  rows = 0
  for images, _ in mnist_csv.iter_mnist_csv(path, (28, 28)):
    rows += len(images)
  if rows != OFFICIAL_ROWS[name]:
    raise SourceFormatError(path, f"has {rows} rows; the official {name} has "
                            f"{OFFICIAL_ROWS[name]}")


def _official_file(name: str) -> SourceFile:
  return SourceFile(name, MIRRORS, check=functools.partial(check_official_csv, name=name),
                    max_size=_MAX_CSV_BYTES)


# `\Z`, not `$`: `$` matches before a final line break too, and would read `mnist_a.csv\n` as
# the split `a` (it is a near miss instead, named in the warning).
SPLIT_FILES = SourceGlob(
    pattern=r"^mnist_(?P<subset>[A-Za-z0-9_-]+)\.csv\Z", layout="mnist_<subset>.csv",
    near=r"(?s)^mnist_.*\.csv\Z",
    defaults=tuple(_official_file(name) for name in OFFICIAL_ROWS))


def generate_csv_examples(path, class_names, image_shape=(28, 28)):
  """(row index, example) for each row; label -1 stays -1 (no label)."""
  row = 0
  for images, labels in mnist_csv.iter_mnist_csv(path, image_shape):
    idx.check_labels(labels, str(path), len(class_names), unlabeled=(mnist_csv.UNLABELED,),
                     first_item=row)
    for offset, png in enumerate(encode_pngs(images)):
      yield row + offset, {"image": png, "label": int(labels[offset])}
    row += len(images)


class MnistCsv(builder_base.SourceFilesMixin, tfds.core.GeneratorBasedBuilder):
  """MNIST read from CSV files (60,000 train, 10,000 test for pjreddie's copy)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: header detection, -1 labels, any mnist_<subset>.csv."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = builder_base.local_sources_instructions(
      "mnist_csv", list(OFFICIAL_ROWS)) + (
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
    files = self.resolve(dl_manager, {"splits": SPLIT_FILES})["splits"]
    folders = {path.parent for path in files.values()}
    for folder in folders:
      declared = dataset_meta.read_class_names(folder)
      if declared != list(dataset_meta.DEFAULT_NAMES):
        raise SourceFormatError(
            folder, f"declares the classes {declared} (dataset_meta.json or labels.txt), not "
            "MNIST's 0..9; read this folder with tfds_builders.mnist_family.CsvFolder")
    return {subset: self._generate_examples(path) for subset, path in files.items()}

  def _generate_examples(self, path):
    yield from generate_csv_examples(path, list(dataset_meta.DEFAULT_NAMES))
