"""`qmnist` and `qmnist_nist`: QMNIST, MNIST's reconstruction with every digit's NIST provenance.

Each labels file is IDX `idx2-int` (N×8 int32), read by the same IDX reader as every other file
of the family. The eight columns: class 0–9, NIST HSF series, writer id, digit index for that
writer, NIST class code, global NIST index, duplicate, and a last column the authors leave unused
(always 0), which is not stored. `duplicate` is 0 except for the three NIST digits QMNIST found
twice in SD19: there it is the global NIST index of the digit this one repeats. QMNIST removed
duplicates from its train and test files, so only the `nist` split has any.

Two builders of one set of sources: `qmnist` (train, test, test10k, test50k; about 20 MB of
downloads) and `qmnist_nist` (the one split `nist`, 402,953 digits from the large `.xz` files).
They are builders rather than configs of one because `tfds build qmnist` builds every config of a
bare name: a `nist` config would download the NIST files for everyone who asked for QMNIST.
"""

from __future__ import annotations

import functools
from typing import ClassVar, Tuple

import numpy as np
import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import idx
from tfds_builders.formats.compression import source_name
from tfds_builders.mnist_family.idx_base import (MAX_SPLIT_ITEMS, MAX_SPLIT_ITEMS_WHY, encode_pngs,
                                                 split_files_instructions)
from tfds_builders.sources import SourceFile


MIRRORS = ("https://raw.githubusercontent.com/facebookresearch/qmnist/master/",)
FILES = {
    "train": ("qmnist-train-images-idx3-ubyte.gz", "qmnist-train-labels-idx2-int.gz"),
    "test": ("qmnist-test-images-idx3-ubyte.gz", "qmnist-test-labels-idx2-int.gz"),
    "nist": ("xnist-images-idx3-ubyte.xz", "xnist-labels-idx2-int.xz"),
}
# The xnist files are published with an md5 only (no size, no sha256), so they cannot be in the
# checksums table; the download helper checks the md5 instead.
MD5 = {
    "xnist-images-idx3-ubyte.xz": "7f124b3b8ab81486c9d8c2749c17f834",
    "xnist-labels-idx2-int.xz": "5ed0e788978e45d4a8bd4b7caec3d79d",
}
# split -> (source files, first row, end row or None). The QMNIST test file's first 10,000 rows
# are MNIST's test set (test10k); the other 50,000 are the lost MNIST test digits (test50k).
SPLIT_ROWS = {
    "train": ("train", 0, None),
    "test": ("test", 0, None),
    "test10k": ("test", 0, 10_000),
    "test50k": ("test", 10_000, None),
    "nist": ("nist", 0, None),
}
# Extended label columns 1..6, by feature name.
COLUMNS = {
    "hsf_series": 1,
    "writer_id": 2,
    "writer_digit_index": 3,
    "nist_class_code": 4,
    "nist_index": 5,
    "duplicate": 6,
}
_BATCH = 4096
# QMNIST's label table: N rows of 8 int32 (idx2-int), nothing else.
LABEL_ROWS = idx.IdxKind("label rows", (0x0C,), (8,))


class _QmnistBase(builder_base.SourceFilesMixin, tfds.core.GeneratorBasedBuilder,
                 skip_registration=True):
  """QMNIST: 28×28 digits with MNIST-compatible labels and their NIST provenance.

  Subclasses name the splits they build (`SPLITS`, keys of SPLIT_ROWS).
  """

  SOURCES_NAME = "qmnist"
  SPLITS: ClassVar[Tuple[str, ...]] = ()
  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = split_files_instructions("qmnist", FILES)

  def _info(self) -> tfds.core.DatasetInfo:
    features = {"image": tfds.features.Image(shape=(28, 28, 1)),
                "label": tfds.features.ClassLabel(num_classes=10)}
    features.update({name: tfds.features.Scalar(dtype=np.int64) for name in COLUMNS})
    return self.dataset_info_from_configs(
        description=(
            "QMNIST: the MNIST digits rebuilt from NIST Special Database 19, with each digit's "
            "provenance. `label` is the MNIST class; the other integer features are QMNIST's "
            "extended label columns: hsf_series (NIST HSF series 0, 1 or 4), writer_id, "
            "writer_digit_index (index of the digit among its writer's), nist_class_code (NIST "
            "SD19's class code: 30-39 for the digits 0-9), nist_index (global NIST index) and "
            "duplicate (0, or for the three NIST digits that repeat another, that digit's "
            "nist_index; only in the nist split). test10k is MNIST's test set, test50k the "
            "50,000 lost test digits."),
        features=tfds.features.FeaturesDict(features),
        supervised_keys=("image", "label"),
        homepage="https://github.com/facebookresearch/qmnist",
        citation="""\
@incollection{qmnist-2019,
  title = {Cold Case: The Lost MNIST Digits},
  author = {Chhavi Yadav and L\\'{e}on Bottou},
  booktitle = {Advances in Neural Information Processing Systems 32},
  year = {2019},
}
""",
    )

  def _split_generators(self, dl_manager):
    needed = {SPLIT_ROWS[split][0] for split in self.SPLITS}
    found = self.resolve(dl_manager, {name: SourceFile(name, MIRRORS, md5=MD5.get(name))
                                      for files in sorted(needed) for name in FILES[files]})
    generators = {}
    for split in self.SPLITS:
      files, start, end = SPLIT_ROWS[split]
      images, labels = (found[name] for name in FILES[files])
      generators[split] = self._generate_examples(images, labels, start=start, end=end)
    return generators

  def _generate_examples(self, images_path, labels_path, start, end):
    def check_rows(header):
      if end is not None and header.num_items < end:
        raise SourceFormatError(images_path, f"has {header.num_items} images; this split needs "
                                f"rows {start}..{end - 1}")
      if end is None and header.num_items <= start:
        raise SourceFormatError(images_path, f"has {header.num_items} images; this split takes "
                                f"the rows after the first {start}, so it would be empty")

    row = 0
    for images, labels in idx.iter_idx_pair(
        images_path, labels_path, idx.MNIST_IMAGES, LABEL_ROWS, max_items=MAX_SPLIT_ITEMS,
        max_items_why=MAX_SPLIT_ITEMS_WHY, check_headers=check_rows,
        # Column 0 (the class) of the whole N×8 table, read before any image.
        check_labels=functools.partial(idx.check_labels, source_name=source_name(labels_path),
                                       num_classes=self.info.features["label"].num_classes),
        batch_items=_BATCH):
      lo = max(start - row, 0)
      hi = len(images) if end is None else min(end - row, len(images))
      for offset, png in enumerate(encode_pngs(images[lo:hi]) if lo < hi else ()):
        i = lo + offset
        example = {"image": png, "label": int(labels[i, 0])}
        example.update({name: int(labels[i, column]) for name, column in COLUMNS.items()})
        yield row + i, example
      row += len(images)


class Qmnist(_QmnistBase):
  """QMNIST's train (60,000) and test (60,000) files, and test10k / test50k cut from test."""

  SPLITS = ("train", "test", "test10k", "test50k")
  RELEASE_NOTES = {"1.0.0": "First release: every extended label column, md5 checks of the "
                            "xnist files (in qmnist_nist)."}


class QmnistNist(_QmnistBase):
  """The 402,953 NIST digits of QMNIST (split `nist`), from the xnist .xz files."""

  SPLITS = ("nist",)
  RELEASE_NOTES = {"1.0.0": "First release (was the nist config of qmnist)."}
