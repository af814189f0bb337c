"""ilsvrc2012, ilsvrc2012_raw256 and ilsvrc2012_localization through TFDS's builder test, from the
archives and from the extracted tree (the generated dummy data)."""

import atexit
import os
import shutil
import tempfile

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import DUMMY_DATA
from support import builder_testing
from tfds_builders.imagenet.ilsvrc2012 import (Ilsvrc2012, Ilsvrc2012Localization,
                                                 Ilsvrc2012Raw256)

SOURCES = DUMMY_DATA / "ilsvrc2012"
SPLITS = {"train": 21, "validation": 7, "test": 4}
# The dummy folder holds the archives and the same data as an extracted tree; the builder prefers
# the archives, so the tree gets a manual_dir of its own holding links to it.
TREE_DIR = tempfile.mkdtemp(prefix="ilsvrc2012_tree_")
atexit.register(shutil.rmtree, TREE_DIR, True)
for _name in ("train", "val", "test", "ILSVRC2012_devkit_t12", "ILSVRC2012_bbox_train_v2",
              "ILSVRC2012_bbox_val_v3"):
  os.symlink(SOURCES / _name, os.path.join(TREE_DIR, _name))


class Ilsvrc2012ArchivesTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = Ilsvrc2012
  EXAMPLE_DIR = str(SOURCES)
  SPLITS = SPLITS
  SKIP_CHECKSUMS = True  # manual files only; sizes are checked against checksums/ilsvrc2012.tsv


class Ilsvrc2012Raw256ArchivesTest(Ilsvrc2012ArchivesTest):
  DATASET_CLASS = Ilsvrc2012Raw256


class Ilsvrc2012LocalizationArchivesTest(Ilsvrc2012ArchivesTest):
  DATASET_CLASS = Ilsvrc2012Localization


class Ilsvrc2012ExtractedTreeTest(builder_testing.BuilderTestCase):
  DATASET_CLASS = Ilsvrc2012
  EXAMPLE_DIR = TREE_DIR
  SPLITS = SPLITS
  SKIP_CHECKSUMS = True


class Ilsvrc2012LocalizationExtractedTreeTest(Ilsvrc2012ExtractedTreeTest):
  DATASET_CLASS = Ilsvrc2012Localization
