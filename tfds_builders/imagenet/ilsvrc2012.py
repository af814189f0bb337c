"""`ilsvrc2012`: ImageNet ILSVRC2012 from the archives the user downloaded, a drop-in for
`imagenet2012` (same features, labels and keys) that streams, checks and names its inputs;
`ilsvrc2012_raw256` (the same images resized) and `ilsvrc2012_localization` (plus boxes).

The three are builders, not configs of one: `tfds build NAME` builds every config of a bare name,
so configs would make `tfds build ilsvrc2012` write ImageNet three times and then stop at the box
archives most users do not have. TFDS's own variants of ImageNet are separate builders too
(`imagenet2012_real`, `imagenet_resized`).

The builder is a table of inputs plus `_info`, `_split_generators` and `_generate_examples`; the
work is planned as picklable units (`planning`), run in this process or, when the user passes
Beam options, on Beam workers (`beam_generation`), with the same examples, keys included.

`ilsvrc2012_localization` adds each image's bounding boxes (`objects`) from the two box archives
(`BOX_INPUTS`), which only that builder reads.
"""

from __future__ import annotations

import logging
from typing import ClassVar, List, Optional

import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders.errors import ManualDirError
from tfds_builders.formats.imagenet_devkit import read_devkit
from tfds_builders.imagenet import classes, planning
from tfds_builders.sources import ManualInput, Resolver

log = logging.getLogger("tfds_builders.ilsvrc2012")

HOMEPAGE = "https://image-net.org/"
DOWNLOAD_PAGE = "https://image-net.org/download-images"
# What the user may have, per input: the archives (published md5s: SOURCES.md, torchvision's
# table), or the folder an extracted tree stands in.
INPUTS = {
    "train": ManualInput(("ILSVRC2012_img_train.tar",), "train", "train/<wnid>/*.JPEG",
                         md5=(("ILSVRC2012_img_train.tar", "1d675b47d978889d74fa0da5fadfb00e"),)),
    "validation": ManualInput(("ILSVRC2012_img_val.tar",), "val",
                              "val/ (flat, or in <wnid>/ folders)",
                              md5=(("ILSVRC2012_img_val.tar",
                                    "29b22e2961454d5413ddabcf34fc5622"),)),
    "test": ManualInput(("ILSVRC2012_img_test_v10102019.tar", "ILSVRC2012_img_test.tar"), "test",
                        "test/*.JPEG"),
    # A few MB: its md5 is compared, so a damaged devkit is named before it is parsed.
    "devkit": ManualInput(("ILSVRC2012_devkit_t12.tar.gz", "ILSVRC2012_devkit_t12.tar"),
                          "ILSVRC2012_devkit_t12", "ILSVRC2012_devkit_t12/data/",
                          md5=(("ILSVRC2012_devkit_t12.tar.gz",
                                "fa75699e90414af021442c21a62c3abf"),), hash_check=True),
}
# The bounding boxes (same download page), read by the localization config only; each is needed
# when its split is built. Extracted, each goes in a folder of its archive's name, as the devkit
# does (the val archive unpacks to val/, which is where the validation images go).
BOX_INPUTS = {
    "train_boxes": ManualInput(
        ("ILSVRC2012_bbox_train_v2.tar.gz", "ILSVRC2012_bbox_train_v2.tgz",
         "ILSVRC2012_bbox_train_v2.tar"), "ILSVRC2012_bbox_train_v2",
        "ILSVRC2012_bbox_train_v2/<wnid>/*.xml"),
    "validation_boxes": ManualInput(
        ("ILSVRC2012_bbox_val_v3.tgz", "ILSVRC2012_bbox_val_v3.tar.gz",
         "ILSVRC2012_bbox_val_v3.tar"), "ILSVRC2012_bbox_val_v3",
        "ILSVRC2012_bbox_val_v3/val/*.xml"),
}
BOXES_OF = {"train": "train_boxes", "validation": "validation_boxes"}
SPLITS = ("train", "validation", "test")
HOW_TO_FIX = (
    f"download the archives from {DOWNLOAD_PAGE} (registration needed) and put them, with "
    "exactly the names above, in the manual directory (--manual_dir, or "
    "DownloadConfig(manual_dir=...)); an extracted tree in the folders above works too. Each "
    "split is optional, at least one is needed; the devkit is optional.")
RAW256_QUALITY = planning.RAW256_QUALITY


def how_to_fix_boxes(missing) -> str:
  needed = ", ".join(f"{BOX_INPUTS[BOXES_OF[split]].names[0]} for {split}" for split in missing)
  return (f"ilsvrc2012_localization needs the box archive of every split it builds: {needed} "
          f"(from {DOWNLOAD_PAGE}, beside the images, with exactly the names above; extracted "
          "into a folder of the archive's name works too). Build ilsvrc2012 for the images "
          "without boxes.")


def describe_manual_dir(manual_dir) -> str:
  """What a build would read from `manual_dir`, or the error it would stop with (for notebooks)."""
  resolver = Resolver("ilsvrc2012", manual_dir)
  table = {**INPUTS, **BOX_INPUTS}
  found = resolver.resolve(table, at_least_one_of=SPLITS, how_to_fix=HOW_TO_FIX)
  return "\n".join(f"{key}: {found[key].name if found[key] else 'not found'}" for key in table)


class _Ilsvrc2012Base(builder_base.SourceFilesMixin, tfds.core.GeneratorBasedBuilder,
                     skip_registration=True):
  """ImageNet ILSVRC2012 classification from the manually downloaded archives.

  Subclasses set how images are stored (`SHORTER_SIDE`: resize so the shorter side has this many
  pixels, None keeps the originals) and whether `objects` (bounding boxes and their labels) are
  added from the box archives (`WITH_BOXES`).
  """

  SOURCES_NAME = "ilsvrc2012"
  SHORTER_SIDE: ClassVar[Optional[int]] = None
  JPEG_QUALITY: ClassVar[int] = RAW256_QUALITY
  WITH_BOXES: ClassVar[bool] = False
  STORED: ClassVar[str] = ""  # how the images are stored, for the description
  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Register at {DOWNLOAD_PAGE} and put in the manual directory any of (each split is optional, at
least one is needed):
  ILSVRC2012_img_train.tar            or an extracted tree train/<wnid>/*.JPEG
  ILSVRC2012_img_val.tar              or val/ (flat, or in <wnid>/ folders)
  ILSVRC2012_img_test_v10102019.tar   (or ILSVRC2012_img_test.tar) or test/
  ILSVRC2012_devkit_t12.tar.gz        (or un-gzipped .tar): validation labels and class names;
                                      without it the labels tensorflow_datasets ships are used.
For ilsvrc2012_localization, also the bounding boxes of each split it builds:
  ILSVRC2012_bbox_train_v2.tar.gz     or ILSVRC2012_bbox_train_v2/<wnid>/*.xml
  ILSVRC2012_bbox_val_v3.tgz          or ILSVRC2012_bbox_val_v3/val/*.xml
Nothing is extracted or copied; the archives are read in place.
"""

  def _info(self) -> tfds.core.DatasetInfo:
    features = {
        "image": tfds.features.Image(encoding_format="jpeg"),
        "label": tfds.features.ClassLabel(names_file=classes.labels_file()),
        "file_name": tfds.features.Text(),
    }
    if self.WITH_BOXES:
      features["objects"] = tfds.features.Sequence({
          "bbox": tfds.features.BBoxFeature(),
          "label": tfds.features.ClassLabel(names_file=classes.labels_file()),
      })
    return self.dataset_info_from_configs(
        description=(
            "ILSVRC2012 (ImageNet-1k) image classification: 1,281,167 train, 50,000 validation "
            "and 100,000 unlabelled test images of 1000 classes, read from the archives the user "
            "downloaded. Features, labels and keys as in TFDS's `imagenet2012`. The class table "
            "(WNID, words, gloss per label) is in `info.metadata['classes']`. " + self.STORED),
        features=tfds.features.FeaturesDict(features),
        supervised_keys=("image", "label"),
        homepage=HOMEPAGE,
        citation=CITATION,
        metadata=tfds.core.MetadataDict(),
    )

  def _split_generators(self, dl_manager):
    with_boxes = self.WITH_BOXES
    table = {**INPUTS, **BOX_INPUTS} if with_boxes else INPUTS
    resolver = self.resolver(dl_manager)
    found = resolver.resolve(table, at_least_one_of=SPLITS, how_to_fix=HOW_TO_FIX)
    missing = [s for s, key in BOXES_OF.items() if with_boxes and found[s] and not found[key]]
    if missing:
      raise ManualDirError(resolver.missing_message(table, found, [], how_to_fix_boxes(missing)))
    for split in SPLITS:
      if found[split] is None:
        log.warning("ilsvrc2012: no %s input in the manual directory; that split is left out",
                    split)
    devkit = read_devkit(found["devkit"]) if found["devkit"] else None
    self.info.metadata["classes"] = classes.class_table(devkit)
    plans = {
        "train": planning.train_units,
        "validation": lambda source: planning.flat_units(source, devkit, labelled=True),
        "test": lambda source: planning.flat_units(source, devkit, labelled=False),
    }
    units = {split: plans[split](found[split]) for split in SPLITS if found[split] is not None}
    box_plans = {}
    for split in units if with_boxes else ():
      # The test split has no boxes: its units get empty ones (and no summary).
      box_source = found[BOXES_OF[split]] if split in BOXES_OF else None
      units[split], box_plans[split] = planning.with_boxes(
          units[split], split, box_source, classes.wnids(), self.info.metadata["classes"]["words"])
    return {split: self._generate_examples(units[split], box_plans.get(split))
            for split in units}

  def _generate_examples(self, units: List[planning.Unit],
                         box_plan: Optional[planning.BoxPlan] = None):
    side, quality = self.SHORTER_SIDE, self.JPEG_QUALITY
    if self.uses_beam():
      from tfds_builders.imagenet import beam_generation
      return beam_generation.examples_transform(units, side, quality, box_plan)
    return planning.generate_in_process(units, side, quality, box_plan)


class Ilsvrc2012(_Ilsvrc2012Base):
  """ImageNet as distributed: the JPEG bytes kept, with the CMYK and PNG fixes."""

  RELEASE_NOTES = {"1.0.0": "First release: archives or extracted trees, devkit labels, class "
                            "names, fixes found by bytes, streamed, Beam."}
  STORED = "The images as distributed (JPEG bytes kept), with the CMYK and PNG fixes."


class Ilsvrc2012Raw256(_Ilsvrc2012Base):
  """`ilsvrc2012` with every image resized so its shorter side is 256 pixels."""

  SHORTER_SIDE = 256
  RELEASE_NOTES = {"1.0.0": "First release (was the raw256 config of ilsvrc2012)."}
  STORED = (f"Every image resized so its shorter side is 256 pixels (Lanczos, aspect kept) and "
            f"re-encoded as RGB JPEG at quality {RAW256_QUALITY}.")


class Ilsvrc2012Localization(_Ilsvrc2012Base):
  """`ilsvrc2012` plus each image's bounding boxes from the box archives."""

  WITH_BOXES = True
  RELEASE_NOTES = {"1.0.0": "First release (was the localization config of ilsvrc2012)."}
  STORED = ("The images of `ilsvrc2012` plus `objects`: each image's bounding boxes (normalised "
            "ymin, xmin, ymax, xmax) and their labels, from the box archives; empty for train "
            "images without a box XML and for test.")


CITATION = """\
@article{ILSVRC15,
  Author = {Olga Russakovsky and Jia Deng and Hao Su and Jonathan Krause and Sanjeev Satheesh and Sean Ma and Zhiheng Huang and Andrej Karpathy and Aditya Khosla and Michael Bernstein and Alexander C. Berg and Li Fei-Fei},
  Title = {{ImageNet Large Scale Visual Recognition Challenge}},
  Year = {2015},
  journal   = {International Journal of Computer Vision (IJCV)},
  doi = {10.1007/s11263-015-0816-y},
  volume={115},
  number={3},
  pages={211-252}
}
"""
