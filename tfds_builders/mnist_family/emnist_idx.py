"""`emnist_idx`: EMNIST's six configs from the one `gzip.zip`, with the real class names.

EMNIST stores every image transposed relative to MNIST (rows are the glyph's columns). The six
configs keep that layout, like the official `emnist`; each `<config>_upright` config transposes at
generation time, so the stored images read upright.

Labels: letters numbers a..z from 1 in the source files; here `a` is label 0 (label = source - 1),
so its ClassLabel has exactly the 26 letters. Every other config keeps the source labels.
"""

from __future__ import annotations

import string
from typing import Any, Dict, Tuple

import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders.sources import SourceFile
from tfds_builders.formats.zip_member import ZipMember
from tfds_builders.mnist_family.idx_base import IdxImageClassification

ZIP_NAME = "gzip.zip"
_DIGITS = tuple(string.digits)
_UPPER = tuple(string.ascii_uppercase)
# bymerge and balanced merge the 15 lower-case letters that look like their capitals; these 11
# keep their own class.
_MERGED_LOWER = tuple("abdefghnqrt")
CLASS_NAMES = {
    "byclass": _DIGITS + _UPPER + tuple(string.ascii_lowercase),
    "bymerge": _DIGITS + _UPPER + _MERGED_LOWER,
    "balanced": _DIGITS + _UPPER + _MERGED_LOWER,
    "letters": tuple(string.ascii_lowercase),
    "digits": _DIGITS,
    "mnist": _DIGITS,
}
_FIRST_LABEL = {"letters": 1}


def member_name(subset: str, split: str, kind: str) -> str:
  """`kind` is `images-idx3` or `labels-idx1`."""
  return f"gzip/emnist-{subset}-{split}-{kind}-ubyte.gz"


class EmnistConfig(tfds.core.BuilderConfig):
  """One EMNIST subset, stored as in the files or upright.

  Attributes:
    subset: the EMNIST split name in the file names (byclass, ..., mnist).
    upright: transpose every image at generation time.
  """

  def __init__(self, *, subset: str, upright: bool = False, **kwargs):
    super().__init__(**kwargs)
    self.subset = subset
    self.upright = upright


def _configs():
  configs = []
  for upright in (False, True):
    for subset in CLASS_NAMES:
      name = f"{subset}_upright" if upright else subset
      how = ("images transposed to read upright" if upright else
             "images as stored (transposed, like the official emnist)")
      configs.append(EmnistConfig(name=name, subset=subset, upright=upright,
                                  description=f"EMNIST {subset}, {how}."))
  return configs


class EmnistIdx(IdxImageClassification):
  """EMNIST: NIST SD19 characters in MNIST's 28×28 format, six subsets."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: counts from the file headers, real class names, "
                            "upright configs."}
  BUILDER_CONFIGS = _configs()
  MIRRORS = (
      "https://biometrics.nist.gov/cs_links/EMNIST/",
      # The older location; not confirmed to serve the same bytes, so it is checked against the
      # registered sha256 like any mirror and skipped if it differs.
      "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/",
  )
  MANUAL_DOWNLOAD_INSTRUCTIONS = builder_base.local_sources_instructions(
      "emnist_idx", [ZIP_NAME]) + (
          "Instead of gzip.zip, the config's four files from its gzip/ folder may be put in the "
          "manual directory (e.g. emnist-letters-train-images-idx3-ubyte.gz).\n")
  DESCRIPTION = (
      "EMNIST: handwritten characters from NIST Special Database 19 in MNIST's 28x28 format. "
      "Configs byclass (62 classes), bymerge and balanced (47), letters (26, a..z; source labels "
      "1..26 are stored as 0..25), digits and mnist (10). Images are stored transposed like the "
      "original files; the `<config>_upright` configs store them upright. Counts come from the "
      "file headers.")
  HOMEPAGE = "https://www.nist.gov/itl/products-and-services/emnist-dataset"
  CITATION = """\
@inproceedings{cohen2017emnist,
  title={EMNIST: Extending MNIST to handwritten letters},
  author={Cohen, Gregory and Afshar, Saeed and Tapson, Jonathan and van Schaik, Andr{\\'e}},
  booktitle={2017 International Joint Conference on Neural Networks (IJCNN)},
  pages={2921--2926},
  year={2017},
  doi={10.1109/ijcnn.2017.7966217}
}
"""

  @property
  def FIRST_LABEL(self) -> int:  # noqa: N802  (the base class's table name)
    return _FIRST_LABEL.get(self.builder_config.subset, 0)

  def _class_names(self):
    return CLASS_NAMES[self.builder_config.subset]

  def _transpose(self) -> bool:
    return self.builder_config.upright

  def _member_files(self) -> Dict[str, SourceFile]:
    """The config's four files of the zip's gzip/ folder, which may stand in for the zip."""
    return {member: SourceFile(member.split("/")[-1], optional=True)
            for member in (member_name(self.builder_config.subset, split, kind)
                           for split in ("train", "test")
                           for kind in ("images-idx3", "labels-idx1"))}

  def _split_paths(self, dl_manager) -> Dict[str, Tuple[Any, Any]]:
    resolver = self.resolver(dl_manager)
    found = resolver.resolve(self._member_files())
    if not all(found.values()):
      archive = resolver.resolve({ZIP_NAME: SourceFile(ZIP_NAME, self.MIRRORS)})[ZIP_NAME]
      found = {member: path or ZipMember(archive, member) for member, path in found.items()}
    subset = self.builder_config.subset
    return {split: tuple(found[member_name(subset, split, kind)]
                         for kind in ("images-idx3", "labels-idx1"))
            for split in ("train", "test")}

  def _open_source(self, source):
    if isinstance(source, ZipMember):
      return source.open()
    return super()._open_source(source)
