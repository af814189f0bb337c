"""`ilsvrc2012`: ImageNet ILSVRC2012 from the archives the user downloaded, a drop-in for
`imagenet2012` (same features, labels and keys) that streams, checks and names its inputs.

The work is described as picklable units (a train class tar, a chunk of val/test members, a chunk
of extracted files), so the same units run in this process or, when the user passes Beam options,
fanned out over Beam workers; both give the same examples, keys included.
"""

from __future__ import annotations

import collections
import dataclasses
import difflib
import logging
import os
import pathlib
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders import download
from tfds_builders.errors import ManualDirError, SourceFormatError
from tfds_builders.formats import imagenet_archive as archive
from tfds_builders.formats import jpeg
from tfds_builders.formats.imagenet_archive import Member
from tfds_builders.formats.imagenet_devkit import Devkit, read_devkit
from tfds_builders.imagenet import classes

log = logging.getLogger("tfds_builders.ilsvrc2012")

HOMEPAGE = "https://image-net.org/"
DOWNLOAD_PAGE = "https://image-net.org/download-images"
# What the user may have, per input: accepted file names, then the extracted folder's name.
INPUTS = {
    "train": (("ILSVRC2012_img_train.tar",), "train"),
    "validation": (("ILSVRC2012_img_val.tar",), "val"),
    "test": (("ILSVRC2012_img_test_v10102019.tar", "ILSVRC2012_img_test.tar"), "test"),
    "devkit": (("ILSVRC2012_devkit_t12.tar.gz", "ILSVRC2012_devkit_t12.tar"),
               "ILSVRC2012_devkit_t12"),
}
FOLDER_LAYOUT = {
    "train": "train/<wnid>/*.JPEG",
    "validation": "val/ (flat, or in <wnid>/ folders)",
    "test": "test/*.JPEG",
    "devkit": "ILSVRC2012_devkit_t12/data/",
}
SPLITS = ("train", "validation", "test")
_PARTIAL_DOWNLOAD = (".part", ".crdownload", ".download", ".partial", ".tmp")
# Members per unit of work for the flat val/test archives and the extracted val/test folders.
CHUNK = 1000
RAW256_QUALITY = 90


@dataclasses.dataclass
class Ilsvrc2012Config(tfds.core.BuilderConfig):
  """`shorter_side`: resize so the shorter side has this many pixels (None keeps the originals)."""
  shorter_side: Optional[int] = None
  jpeg_quality: int = RAW256_QUALITY


# ---------------------------------------------------------------- finding the inputs


@dataclasses.dataclass
class Inputs:
  """What was found in manual_dir: for each of SPLITS and 'devkit', a path or None."""
  found: Dict[str, Optional[pathlib.Path]]
  near_misses: List[Tuple[str, str, str]]  # (what, found name, advice)


def _stem(name: str) -> str:
  name = name.lower()
  for suffix in (*_PARTIAL_DOWNLOAD, ".gz", ".tar", ".zip", ".tgz", ".7z", ".rar"):
    if name.endswith(suffix):
      name = name[:-len(suffix)]
  return name.rstrip(" (0123456789)")


def find_inputs(manual_dir: Optional[pathlib.Path]) -> Inputs:
  found: Dict[str, Optional[pathlib.Path]] = {}
  if manual_dir is None or not manual_dir.is_dir():
    return Inputs({what: None for what in INPUTS}, [])
  entries = sorted(p.name for p in manual_dir.iterdir())
  used = set()
  for what, (names, folder) in INPUTS.items():
    found[what] = None
    for name in names:
      if (manual_dir / name).is_file():
        found[what] = manual_dir / name
        used.add(name)
        if (manual_dir / folder).is_dir():
          log.info("ilsvrc2012: reading %s; the folder %s is not read", name, folder)
          used.add(folder)
        break
    if found[what] is None and (manual_dir / folder).is_dir():
      found[what] = manual_dir / folder
      used.add(folder)
  near_misses = []
  for entry in entries:
    if entry in used:
      continue
    for what, (names, folder) in INPUTS.items():
      if found[what] is not None:
        continue
      expected = [*names, folder]
      if entry.lower().endswith(_PARTIAL_DOWNLOAD) and any(
          _stem(entry) == _stem(n) for n in names):
        near_misses.append((what, entry, "an unfinished download: finish or restart it"))
        break
      if any(_stem(entry) == _stem(n) for n in expected) or difflib.get_close_matches(
          entry.lower(), [n.lower() for n in expected], n=1, cutoff=0.85):
        near_misses.append((what, entry, f"looks like the {what} input under another name: "
                            f"rename it to {names[0]} if it is that file"))
        break
  return Inputs(found, near_misses)


def missing_inputs_message(manual_dir: Optional[pathlib.Path], inputs: Inputs) -> str:
  where = manual_dir if manual_dir is not None else pathlib.Path("<manual_dir not given>")
  lines = [f"ilsvrc2012: the ImageNet files are missing or misnamed in {where}.",
           "Looked for (each split is optional, at least one is needed; the devkit is optional):"]
  for what, (names, folder) in INPUTS.items():
    state = f"found {inputs.found[what].name}" if inputs.found[what] else "not found"
    paths = ", ".join(str(where / n) for n in names)
    lines.append(f"  {what}: {paths} or {where}{os.sep}{FOLDER_LAYOUT[what]} -- {state}")
  lines.append("Found instead:")
  if inputs.near_misses:
    lines += [f"  {name}: {advice}" for _, name, advice in inputs.near_misses]
  elif manual_dir is None or not manual_dir.is_dir():
    lines.append("  nothing: the directory does not exist")
  else:
    lines.append("  nothing that looks like an ILSVRC2012 file")
  lines.append(
      f"How to fix: download the archives from {DOWNLOAD_PAGE} (registration needed) and put "
      "them, with exactly the names above, in the manual directory (--manual_dir, or "
      "DownloadConfig(manual_dir=...)); an extracted tree in the folders above works too.")
  return "\n".join(lines)


# ---------------------------------------------------------------- units of work


@dataclasses.dataclass(frozen=True)
class Unit:
  """A picklable piece of a split: some images and their WNIDs.

  Exactly one of `inner_tar` (a train class tar), `members` (archive members) or `files`
  (extracted images) is set. Labels: `wnid` for a whole train class, else `wnids` (file name ->
  WNID) for validation images; neither for test (label -1).
  """
  inner_tar: Optional[Member] = None
  members: Tuple[Member, ...] = ()
  files: Tuple[str, ...] = ()
  wnid: str = ""
  wnids: Tuple[Tuple[str, str], ...] = ()


def images_of(unit: Unit) -> Iterator[Tuple[str, str, bytes]]:
  """(file name, where it is for messages, bytes) of every image of a unit."""
  if unit.inner_tar is not None:
    for name, data in archive.iter_inner_tar(unit.inner_tar):
      yield name, f"{unit.inner_tar}:{name}", data
  for member, data in archive.read_members(list(unit.members)):
    yield member.name, str(member), data
  for path in unit.files:
    yield os.path.basename(path), path, pathlib.Path(path).read_bytes()


def examples_of(unit: Unit, shorter_side: Optional[int] = None,
                jpeg_quality: int = RAW256_QUALITY) -> Iterator[Tuple[str, dict]]:
  """(key, example) for every image of a unit; module-level so that Beam workers can run it."""
  wnids = dict(unit.wnids)
  for file_name, where, data in images_of(unit):
    image, fix = jpeg.checked_jpeg(data, where)
    if fix:
      log.info("%s: fixed (%s)", where, fix)
    if shorter_side:
      image = jpeg.resize_shorter_side(image, where, shorter_side, jpeg_quality)
    if unit.wnid:
      label = unit.wnid
    elif unit.wnids:
      if file_name not in wnids:
        raise SourceFormatError(where, "has no label: it was not in the archive when the "
                                "split was planned (was the archive changed during the build?)")
      label = wnids[file_name]
    else:
      label = -1
    yield file_name, {"image": image, "label": label, "file_name": file_name}


def _chunks(items: Sequence, size: int = CHUNK):
  return [tuple(items[i:i + size]) for i in range(0, len(items), size)]


def train_units(source: pathlib.Path) -> List[Unit]:
  """One unit per class: an inner `<wnid>.tar` of the archive, or a `train/<wnid>/` folder."""
  if source.is_dir():
    return [Unit(files=tuple(str(p) for p in archive.images_in(folder)), wnid=folder.name)
            for folder in archive.train_tree_classes(source)]
  return [Unit(inner_tar=m, wnid=archive.wnid_of_inner(m))
          for m in archive.train_inner_tars(source)]


def validation_wnids(names: Sequence[str], folder_wnids: Dict[str, str], where: str,
                     devkit: Optional[Devkit]) -> Dict[str, str]:
  """file name -> WNID for the validation images present, from the devkit or the bundled list.

  When both the devkit and the bundled list (or a <wnid>/ folder the image sits in) name a WNID,
  they must agree: one disagreement means one of them is not what it claims, and the build stops.
  """
  bundled = classes.bundled_validation_wnids()
  out, disagreements = {}, []
  for name in names:
    index = archive.validation_index(name, where)
    from_bundle = bundled[index - 1] if index <= len(bundled) else None
    from_devkit = devkit.validation_wnid(index) if devkit else None
    if devkit is not None and from_devkit is None:
      raise SourceFormatError(devkit.path, f"the validation ground truth has no line {index} "
                              f"for {name}")
    wnid = from_devkit or from_bundle
    if wnid is None:
      raise SourceFormatError(where, f"{name}: no label known (the bundled list has "
                              f"{len(bundled)} and no devkit was given)")
    others = [(src, w) for src, w in (("tensorflow_datasets' validation_labels.txt", from_bundle),
                                      ("its folder", folder_wnids.get(name)))
              if w is not None and w != wnid]
    for source, other in others:
      disagreements.append(f"{name}: {'devkit' if from_devkit else 'bundled list'} says "
                           f"{wnid}, {source} says {other}")
    out[name] = wnid
  if disagreements:
    shown = "\n  ".join(disagreements[:10])
    more = f"\n  ... and {len(disagreements) - 10} more" if len(disagreements) > 10 else ""
    raise SourceFormatError(
        where, f"validation labels disagree for {len(disagreements)} image(s):\n  {shown}{more}\n"
        "The devkit's ground truth (mapped through meta.mat's ILSVRC2012_ID -> WNID table) must "
        "give the same WNIDs as the list tensorflow_datasets ships; a devkit from another year, an "
        "edited ground-truth file or val/ folders sorted with the wrong mapping cause this. Use "
        "the original ILSVRC2012_devkit_t12, or remove it to use the bundled labels.")
  return out


def flat_units(source: pathlib.Path, devkit: Optional[Devkit], labelled: bool) -> List[Unit]:
  """Units of the validation (labelled) or test split, from an archive or a folder."""
  if source.is_dir():
    entries = archive.flat_or_by_class(source)
    names = [p.name for _, p in entries]
    paths = [str(p) for _, p in entries]
    folder_wnids = {p.name: w for w, p in entries if w}
  else:
    members = archive.list_members(source)
    names = [m.name for m in members]
    folder_wnids = {}
  duplicates = sorted(n for n, count in collections.Counter(names).items() if count > 1)
  if duplicates:
    raise SourceFormatError(source, f"holds the same file name twice: {duplicates[:5]}")
  wnids = validation_wnids(names, folder_wnids, str(source), devkit) if labelled else {}
  units = []
  for chunk in _chunks(list(range(len(names)))):
    chunk_wnids = tuple((names[i], wnids[names[i]]) for i in chunk) if labelled else ()
    if source.is_dir():
      units.append(Unit(files=tuple(paths[i] for i in chunk), wnids=chunk_wnids))
    else:
      units.append(Unit(members=tuple(members[i] for i in chunk), wnids=chunk_wnids))
  return units


# ---------------------------------------------------------------- the builder


class Ilsvrc2012(builder_base.SourceFilesMixin, tfds.core.GeneratorBasedBuilder):
  """ImageNet ILSVRC2012 classification from the manually downloaded archives."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: archives or extracted trees, devkit labels, class "
                            "names, fixes found by bytes, raw256, streamed, Beam."}
  BUILDER_CONFIGS = [
      Ilsvrc2012Config(
          name="default",
          description="The images as distributed (JPEG bytes kept), with the CMYK and PNG fixes."),
      Ilsvrc2012Config(
          name="raw256", shorter_side=256, jpeg_quality=RAW256_QUALITY,
          description=(f"Every image resized so its shorter side is 256 pixels (Lanczos, aspect "
                       f"kept) and re-encoded as RGB JPEG at quality {RAW256_QUALITY}.")),
  ]
  DEFAULT_CONFIG_NAME = "default"
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Register at {DOWNLOAD_PAGE} and put in the manual directory any of (each split is optional, at
least one is needed):
  ILSVRC2012_img_train.tar            or an extracted tree train/<wnid>/*.JPEG
  ILSVRC2012_img_val.tar              or val/ (flat, or in <wnid>/ folders)
  ILSVRC2012_img_test_v10102019.tar   (or ILSVRC2012_img_test.tar) or test/
  ILSVRC2012_devkit_t12.tar.gz        (or un-gzipped .tar): validation labels and class names;
                                      without it the labels tensorflow_datasets ships are used.
Nothing is extracted or copied; the archives are read in place.
"""

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description=(
            "ILSVRC2012 (ImageNet-1k) image classification: 1,281,167 train, 50,000 validation "
            "and 100,000 unlabelled test images of 1000 classes, read from the archives the user "
            "downloaded. Features, labels and keys as in TFDS's `imagenet2012`. The class table "
            "(WNID, words, gloss per label) is in `info.metadata['classes']`."),
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(encoding_format="jpeg"),
            "label": tfds.features.ClassLabel(names_file=classes.labels_file()),
            "file_name": tfds.features.Text(),
        }),
        supervised_keys=("image", "label"),
        homepage=HOMEPAGE,
        citation=CITATION,
        metadata=tfds.core.MetadataDict(),
    )

  def _generate_splits(self, dl_manager, download_config):
    # The only place TFDS shows whether the user asked for Beam (beam_runner / beam_options).
    self._use_beam = bool(download_config.beam_runner or download_config.beam_options)
    return super()._generate_splits(dl_manager, download_config)

  def _split_generators(self, dl_manager):
    manual_dir = builder_base.manual_dir_of(dl_manager)
    if manual_dir is None and getattr(dl_manager, "_manual_dir", None):
      # TFDS refuses to hand over an empty or missing manual_dir; name it in our message anyway.
      manual_dir = pathlib.Path(os.fspath(dl_manager._manual_dir))  # noqa: SLF001
    inputs = find_inputs(manual_dir)
    if not any(inputs.found[s] for s in SPLITS) or inputs.near_misses:
      raise ManualDirError(missing_inputs_message(manual_dir, inputs))
    for split in SPLITS:
      if inputs.found[split] is None:
        log.warning("ilsvrc2012: no %s input in %s; that split is left out", split, manual_dir)
    official = download.checksums_for(self.name)
    for path in inputs.found.values():
      if path is not None and path.name in official:
        # Sizes only: hashing 148 GB would take longer than the build.
        problem = download.mismatch(path, official[path.name], hash_contents=False)
        if problem:
          log.warning("%s is not the official file (%s); using it as it is", path, problem)
    devkit = read_devkit(inputs.found["devkit"]) if inputs.found["devkit"] else None
    self.info.metadata["classes"] = classes.class_table(devkit)
    plans = {
        "train": lambda source: train_units(source),
        "validation": lambda source: flat_units(source, devkit, labelled=True),
        "test": lambda source: flat_units(source, devkit, labelled=False),
    }
    return {split: self._generate_examples(plans[split](inputs.found[split]))
            for split in SPLITS if inputs.found[split] is not None}

  def _generate_examples(self, units: List[Unit]):
    side, quality = self.builder_config.shorter_side, self.builder_config.jpeg_quality
    if getattr(self, "_use_beam", False):
      from tfds_builders.imagenet import beam_generation
      return beam_generation.examples_transform(units, side, quality)
    return _generate_in_process(units, side, quality)


def _generate_in_process(units, side, quality):
  for unit in units:
    yield from examples_of(unit, side, quality)


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
