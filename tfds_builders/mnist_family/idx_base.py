"""The shared builder of IDX image-classification datasets; each dataset is a table on top."""

from __future__ import annotations

import contextlib
import functools
from typing import Any, ClassVar, Dict, Iterator, Optional, Sequence, Tuple

import numpy as np
import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders.sources import SourceFile
from tfds_builders.formats import idx
from tfds_builders.formats.compression import source_name
from tfds_builders.formats.png import PngEncoder

_BATCH = 4096
# No split of the family holds more images than EMNIST byclass train (697,932; QMNIST's nist has
# 402,953, MNIST's train 60,000). A header claiming more is not one of these datasets' files, and
# is refused before anything is read: an xz file of a few kilobytes can honestly hold gigabytes.
MAX_SPLIT_ITEMS = 700_000
MAX_SPLIT_ITEMS_WHY = (f"no split of the MNIST family has more than {MAX_SPLIT_ITEMS} (EMNIST "
                       "byclass train, the largest, has 697932): this is not one of its files "
                       "(a dataset of another size is read with IdxFolder)")

# MNIST's four file names, which Fashion-MNIST and KMNIST reuse so as to be drop-in replacements.
MNIST_LAYOUT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def split_files_instructions(builder_name: str, split_files: Dict[str, Tuple[str, str]]) -> str:
  """MANUAL_DOWNLOAD_INSTRUCTIONS listing every file of a SPLIT_FILES table."""
  return builder_base.local_sources_instructions(
      builder_name, [n for pair in split_files.values() for n in pair])


def encode_pngs(images: np.ndarray) -> Iterator[bytes]:
  """PNG bytes of each N×H×W[×C] uint8 image, a batch at a time to bound the row buffer.

  The same decoded pixels as the Image feature's own encoder, without a TensorFlow call per image;
  the Image feature stores the bytes as they are.
  """
  shape = images.shape[1:] + (1,) * (4 - images.ndim)
  # Unfiltered rows at zlib level 1, chosen for reading (benchmarks/png_study.py, png_study.md):
  # TFDS's decode of one image, CPU, medians of 7 rounds on synthetic digits and letters calibrated
  # to MNIST's and EMNIST's files, took 15-21 µs (digits) and 20-27 µs (letters) at every level 1-9,
  # in no measurable order, against 26 and 30 µs for TensorFlow's own PNGs (what the official
  # builders store); rows filtered by Up, Sub, Average or Paeth were no faster. Level 1 encodes
  # fastest (29 µs a digit against 33 at level 6) at 278 bytes (TensorFlow's: 297). Stored rows
  # (level 0) decode in 14-17 µs but take 880 bytes. Decoding is about a quarter of a read through
  # TFDS (~27 of ~100 µs an example in benchmarks/RESULTS.md, the same for the official PNGs), so
  # no encoding moves MNIST reads much.
  encoder = PngEncoder(*shape, level=1, row_filter="none")
  for start in range(0, len(images), _BATCH):
    yield from encoder.encode_batch(images[start:start + _BATCH])


class IdxImageClassification(builder_base.SourceFilesMixin, tfds.core.GeneratorBasedBuilder,
                             skip_registration=True):
  """An IDX images file and an IDX labels file per split.

  Subclasses set the tables below; the code here is the same for every dataset of the family.
  """

  MIRRORS: ClassVar[Tuple[str, ...]] = ()
  # split name -> (images file, labels file), official names.
  SPLIT_FILES: ClassVar[Dict[str, Tuple[str, str]]] = {}
  CLASS_NAMES: ClassVar[Optional[Sequence[str]]] = None
  NUM_CLASSES: ClassVar[int] = 10
  # The source label of the first class (EMNIST letters numbers a..z from 1).
  FIRST_LABEL: ClassVar[int] = 0
  IMAGE_SHAPE: ClassVar[Tuple[int, int, int]] = (28, 28, 1)
  DESCRIPTION: ClassVar[str] = ""
  HOMEPAGE: ClassVar[str] = ""
  CITATION: ClassVar[str] = ""

  def _class_names(self) -> Optional[Sequence[str]]:
    return self.CLASS_NAMES

  def _transpose(self) -> bool:
    """Whether images are transposed at generation time (EMNIST's upright configs)."""
    return False

  def _info(self) -> tfds.core.DatasetInfo:
    if self._class_names() is not None:
      label = tfds.features.ClassLabel(names=list(self._class_names()))
    else:
      label = tfds.features.ClassLabel(num_classes=self.NUM_CLASSES)
    return self.dataset_info_from_configs(
        description=self.DESCRIPTION,
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=self.IMAGE_SHAPE),
            "label": label,
        }),
        supervised_keys=("image", "label"),
        homepage=self.HOMEPAGE,
        citation=self.CITATION,
    )

  @classmethod
  def source_files(cls) -> Dict[str, SourceFile]:
    names = [n for pair in cls.SPLIT_FILES.values() for n in pair]
    return {n: SourceFile(n, cls.MIRRORS) for n in names}

  def _split_paths(self, dl_manager) -> Dict[str, Tuple[Any, Any]]:
    """split -> (images source, labels source): paths, or whatever `_open_source` opens."""
    found = self.resolve(dl_manager, self.source_files())
    return {split: (found[images], found[labels])
            for split, (images, labels) in self.SPLIT_FILES.items()}

  def _split_generators(self, dl_manager):
    return {split: self._generate_examples(images_path=images, labels_path=labels)
            for split, (images, labels) in self._split_paths(dl_manager).items()}

  def _open_source(self, source):
    """A context giving a path or binary file `idx.read_idx` accepts (EMNIST: a zip member)."""
    return contextlib.nullcontext(source)

  def _generate_examples(self, images_path, labels_path):
    with self._open_source(images_path) as images_file, \
        self._open_source(labels_path) as labels_file:
      index = 0
      for images, labels in idx.iter_idx_pair(
          images_file, labels_file, idx.IdxKind("images", (0x08,), self.IMAGE_SHAPE[:2]),
          idx.MNIST_LABELS, max_items=MAX_SPLIT_ITEMS, max_items_why=MAX_SPLIT_ITEMS_WHY,
          check_labels=functools.partial(
              idx.check_labels, source_name=source_name(labels_file),
              num_classes=self.info.features["label"].num_classes,
              first_label=self.FIRST_LABEL),
          batch_items=_BATCH):
        if self._transpose():
          images = images.transpose(0, 2, 1)
        for png, label in zip(encode_pngs(images), labels):
          yield index, {"image": png, "label": int(label) - self.FIRST_LABEL}
          index += 1
