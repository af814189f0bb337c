"""The shared builder of IDX image-classification datasets; each dataset is a table on top."""

from __future__ import annotations

from typing import ClassVar, Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders.download import SourceFile
from tfds_builders.formats import idx
from tfds_builders.formats.png import PngEncoder

_BATCH = 4096


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
  IMAGE_SHAPE: ClassVar[Tuple[int, int, int]] = (28, 28, 1)
  DESCRIPTION: ClassVar[str] = ""
  HOMEPAGE: ClassVar[str] = ""
  CITATION: ClassVar[str] = ""

  def _info(self) -> tfds.core.DatasetInfo:
    if self.CLASS_NAMES is not None:
      label = tfds.features.ClassLabel(names=list(self.CLASS_NAMES))
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

  def _split_generators(self, dl_manager):
    fetcher = self.fetcher(dl_manager)
    sources = self.source_files()
    splits = {}
    for split, (images_name, labels_name) in self.SPLIT_FILES.items():
      splits[split] = self._generate_examples(
          images_path=fetcher.get(sources[images_name]),
          labels_path=fetcher.get(sources[labels_name]))
    return splits

  def _generate_examples(self, images_path, labels_path):
    images, labels = idx.read_idx_pair(
        images_path, labels_path, num_classes=self.info.features["label"].num_classes,
        image_shape=self.IMAGE_SHAPE[:2])
    # PNG bytes are built here (same decoded pixels as the Image feature's own encoder, without a
    # TensorFlow call per image); the Image feature stores them as they are.
    encoder = PngEncoder(*self.IMAGE_SHAPE)
    for start in range(0, len(images), _BATCH):
      batch = images[start:start + _BATCH]
      for offset, png in enumerate(encoder.encode_batch(batch)):
        index = start + offset
        yield index, {"image": png, "label": int(labels[index])}
