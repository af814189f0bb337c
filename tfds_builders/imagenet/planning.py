"""ImageNet's work, planned as picklable units, and the validation labels reconciled.

A unit is a train class tar, a chunk of val/test archive members, or a chunk of extracted files:
paths (local or `gs://`), offsets and labels, no open files. The same units run in one process or
on Beam workers (`beam_generation`), and give the same examples, keys included.

For `ilsvrc2012_localization` each unit also carries the boxes of its own images (`with_boxes`):
the box archive is indexed once, then cut into one small index per unit, so a Beam worker gets its
unit's boxes with the unit and memory holds each box once. What was clamped, put in order, named
by words or skipped is tallied per unit and said in one line per split (`BoxPlan.log`).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import imagenet_archive as archive
from tfds_builders.formats import imagenet_boxes, jpeg, paths
from tfds_builders.formats.imagenet_archive import Member
from tfds_builders.formats.imagenet_boxes import BoxIndex
from tfds_builders.formats.imagenet_devkit import Devkit
from tfds_builders.imagenet import classes

log = logging.getLogger("tfds_builders.ilsvrc2012")

# Members per unit of work for the flat val/test archives and the extracted val/test folders.
CHUNK = 1000
RAW256_QUALITY = 90


@dataclasses.dataclass(frozen=True)
class Unit:
  """A picklable piece of a split: some images and their WNIDs.

  Exactly one of `inner_tar` (a train class tar), `members` (archive members) or `files`
  (extracted images) is set. Labels: `wnid` for a whole train class, else `wnids` (file name ->
  WNID) for validation images; neither for test (label -1). `boxes`, for ilsvrc2012_localization
  only: the boxes of this unit's images (possibly none), keyed by image stem.
  """
  inner_tar: Optional[Member] = None
  members: Tuple[Member, ...] = ()
  files: Tuple[str, ...] = ()
  wnid: str = ""
  wnids: Tuple[Tuple[str, str], ...] = ()
  boxes: Optional[BoxIndex] = None


def images_of(unit: Unit) -> Iterator[Tuple[str, str, bytes]]:
  """(file name, where it is for messages, bytes) of every image of a unit."""
  if unit.inner_tar is not None:
    yield from _class_tar_images(unit)
  for member, data in archive.read_members(list(unit.members)):
    yield member.name, str(member), data
  for path in unit.files:
    archive.check_image_size(paths.size_of(path), path)
    with paths.open_binary(path) as f:
      data = f.read()
    yield path.rsplit("/", 1)[-1], path, data


def _class_tar_images(unit: Unit) -> Iterator[Tuple[str, str, bytes]]:
  """The images of one train class tar, each named for its class, each name once.

  File names are the examples' keys. ILSVRC2012 names every train image `<wnid>_<n>.JPEG` after
  the class tar it is in, so checking the prefix here and the names within each tar makes every
  key of the split unique, with memory for one class only.
  """
  seen = set()
  for name, data in archive.iter_inner_tar(unit.inner_tar):
    where = f"{unit.inner_tar}:{name}"
    if not name.startswith(unit.wnid + "_"):
      raise SourceFormatError(where, f"is in the class tar of {unit.wnid} but is not named "
                              f"{unit.wnid}_<n>.JPEG like every ILSVRC2012 train image")
    if name in seen:
      raise SourceFormatError(unit.inner_tar, f"holds {name} twice")
    seen.add(name)
    yield name, where, data


def examples_of(unit: Unit, shorter_side: Optional[int] = None,
                jpeg_quality: int = RAW256_QUALITY,
                tally: Optional["BoxTally"] = None) -> Iterator[Tuple[str, dict]]:
  """(key, example) for every image of a unit; module-level so that Beam workers can run it.

  With boxes, each example gets `objects` and `tally` (if given) counts what was written.
  """
  wnids = dict(unit.wnids)
  box_positions = unit.boxes.positions() if unit.boxes is not None else None
  matched = set()
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
    example = {"image": image, "label": label, "file_name": file_name}
    if box_positions is not None:
      stem = imagenet_boxes.box_stem(file_name)
      position = box_positions.get(stem)
      if position is None:
        yxyx, labels, flags = _NO_BOXES
      else:
        matched.add(position)
        yxyx, labels, flags = unit.boxes.boxes_at(position)
      example["objects"] = {"bbox": yxyx, "label": labels.astype(np.int64)}
      if tally is not None:
        tally.add_image(stem, position is not None, flags)
    yield file_name, example
  if tally is not None and unit.boxes is not None:
    # XMLs of this unit's class whose image the class tar does not hold (known only now: inner
    # class tars are streamed, never listed ahead).
    for position in range(len(unit.boxes)):
      if position not in matched:
        tally.add_skipped(unit.boxes.stem_at(position))


_NO_BOXES = (np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, np.uint8))


@dataclasses.dataclass
class BoxTally:
  """What went into one split's `objects`, counted per unit and merged (in Beam too).

  Each `*_example` is the smallest image stem of its kind, so merging in any order gives the same.
  """
  images: int = 0
  with_boxes: int = 0
  boxes: int = 0
  clamped: int = 0
  clamped_example: str = ""
  by_words: int = 0
  by_words_example: str = ""
  swapped: int = 0
  swapped_example: str = ""
  skipped: int = 0
  skipped_example: str = ""

  def add_image(self, stem: str, has_xml: bool, flags: np.ndarray) -> None:
    self.images += 1
    self.with_boxes += has_xml
    self.boxes += len(flags)
    if not flags.any():  # most images: no box, or nothing done to their boxes
      return
    for flag, count, example in ((imagenet_boxes.CLAMPED, "clamped", "clamped_example"),
                                 (imagenet_boxes.BY_WORDS, "by_words", "by_words_example"),
                                 (imagenet_boxes.SWAPPED, "swapped", "swapped_example")):
      hits = int(np.count_nonzero(flags & flag))
      if hits:
        setattr(self, count, getattr(self, count) + hits)
        setattr(self, example, _smallest(getattr(self, example), stem))

  def add_skipped(self, stem: str, count: int = 1) -> None:
    self.skipped += count
    self.skipped_example = _smallest(self.skipped_example, stem)

  def merge(self, other: "BoxTally") -> "BoxTally":
    merged = BoxTally()
    for field in dataclasses.fields(BoxTally):
      a, b = getattr(self, field.name), getattr(other, field.name)
      setattr(merged, field.name, _smallest(a, b) if isinstance(a, str) else a + b)
    return merged


def _smallest(a: str, b: str) -> str:
  return min(x for x in (a, b) if x) if (a or b) else ""


def _count(n: int, one: str, many: str) -> str:
  return f"{n} {one if n == 1 else many}"


def merge_tallies(tallies: Iterable[BoxTally]) -> BoxTally:
  """One tally of many (associative: Beam's CombineGlobally applies it to partial results)."""
  total = BoxTally()
  for tally in tallies:
    total = total.merge(tally)
  return total


@dataclasses.dataclass(frozen=True)
class BoxPlan:
  """What is known of a split's boxes before its images are read, and its summary line.

  Attributes:
    split: the split's name.
    source: the box archive or folder.
    skipped: XMLs that no unit of the split can use (no image of that name was planned), and the
      smallest stem of them.
    not_xml: files of the source that are not .xml, and the first one.
  """
  split: str
  source: str
  skipped: int = 0
  skipped_example: str = ""
  not_xml: int = 0
  not_xml_example: str = ""

  def summary(self, tally: BoxTally) -> Tuple[int, str]:
    """(logging level, line): every box written, clamped, renamed or skipped, in one line."""
    tally = tally.merge(BoxTally(skipped=self.skipped, skipped_example=self.skipped_example))
    parts = [f"{tally.with_boxes} of {tally.images} images have a box XML "
             f"({_count(tally.boxes, 'box', 'boxes')})"]
    noted = [(tally.clamped, "box", "boxes", "past the image edge clamped to it",
              f"{tally.clamped_example}.xml"),
             (tally.by_words, "box", "boxes", "named by words instead of a WNID",
              f"{tally.by_words_example}.xml"),
             (tally.swapped, "box", "boxes", "with a maximum below its minimum put in order",
              f"{tally.swapped_example}.xml"),
             (tally.skipped, "XML", "XMLs", "for images not in the split skipped",
              f"{tally.skipped_example}.xml"),
             (self.not_xml, "file", "files", "not .xml not read", self.not_xml_example)]
    parts += [f"{_count(n, one, many)} {what} (e.g. {example})"
              for n, one, many, what, example in noted if n]
    # Every validation image has a box XML in the real archives: one without is a mismatch of the
    # two archives worth a warning. Clamped, renamed and skipped boxes are what the real files
    # hold (counted, and visible in `tfds build`'s log).
    level = (logging.WARNING if self.split == "validation" and tally.with_boxes < tally.images
             else logging.INFO)
    return level, f"ilsvrc2012: {self.split} boxes from {self.source}: " + "; ".join(parts)

  def log(self, tally: BoxTally) -> None:
    log.log(*self.summary(tally))


def with_boxes(units: Sequence[Unit], split: str, source, wnids: Sequence[str],
               words: Optional[Sequence[str]]) -> Tuple[List[Unit], Optional[BoxPlan]]:
  """The units, each carrying the boxes of its own images, and the split's BoxPlan.

  A train class tar's unit gets every XML named after its class (`<wnid>_*`): the images in an
  inner tar are known only when it is read. Other units get the XMLs of the images they list.
  Without a source (the test split, which has no boxes) every unit gets an empty index.
  """
  if source is None:
    return [dataclasses.replace(u, boxes=BoxIndex.empty()) for u in units], None
  reading = imagenet_boxes.read_boxes(source, wnids, words)
  index = reading.index
  taken = np.zeros(len(index), bool)
  out = []
  for unit in units:
    if unit.inner_tar is not None:
      positions = index.with_prefix(f"{unit.wnid}_")
    else:
      names = [m.name for m in unit.members] + [p.rsplit("/", 1)[-1] for p in unit.files]
      positions = index.find(imagenet_boxes.box_stem(n) for n in names)
    taken[positions] = True
    out.append(dataclasses.replace(unit, boxes=index.take(positions)))
  left = np.flatnonzero(~taken)
  plan = BoxPlan(split, reading.source, skipped=len(left),
                 skipped_example=index.stem_at(int(left[0])) if len(left) else "",
                 not_xml=reading.not_xml, not_xml_example=reading.not_xml_example)
  return out, plan


def _chunks(items: Sequence, size: int = CHUNK):
  return [tuple(items[i:i + size]) for i in range(0, len(items), size)]


def _refuse_duplicate_names(entries: Sequence[Tuple[str, str]], where) -> None:
  """Every file name is an example's key: two files of one name are two images of one key."""
  places = collections.defaultdict(list)
  for name, place in entries:
    places[name].append(place)
  twice = {name: found for name, found in places.items() if len(found) > 1}
  if twice:
    name, found = sorted(twice.items())[0]
    raise SourceFormatError(where, f"holds {len(twice)} file name(s) more than once, e.g. "
                            f"{name} at {' and '.join(found)}; each image must have its own name")


def _log_skipped(scan: archive.TreeScan, root) -> None:
  summary = scan.summary(root)
  if summary:
    log.warning("ilsvrc2012: %s", summary)


def train_units(source) -> List[Unit]:
  """One unit per class: an inner `<wnid>.tar` of the archive, or a `train/<wnid>/` folder."""
  if paths.as_path(source).is_dir():
    scan = archive.train_tree(source)
    _log_skipped(scan, source)
    by_class: Dict[str, List[str]] = collections.defaultdict(list)
    for wnid, path in scan.images:
      by_class[wnid].append(os.fspath(path))
    _refuse_duplicate_names([(os.fspath(p).rsplit("/", 1)[-1], os.fspath(p))
                             for _, p in scan.images], source)
    return [Unit(files=tuple(files), wnid=wnid) for wnid, files in sorted(by_class.items())]
  inner_tars = archive.train_inner_tars(source)
  _refuse_duplicate_names([(m.name, str(m)) for m in inner_tars], source)
  return [Unit(inner_tar=m, wnid=archive.wnid_of_inner(m)) for m in inner_tars]


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


def flat_units(source, devkit: Optional[Devkit], labelled: bool) -> List[Unit]:
  """Units of the validation (labelled) or test split, from an archive or a folder."""
  is_dir = paths.as_path(source).is_dir()
  if is_dir:
    scan = archive.flat_or_by_class(source)
    _log_skipped(scan, source)
    names = [p.name for _, p in scan.images]
    places = [os.fspath(p) for _, p in scan.images]
    folder_wnids = {p.name: w for w, p in scan.images if w}
  else:
    members = archive.list_members(source)
    names = [m.name for m in members]
    places = [str(m) for m in members]
    folder_wnids = {}
  _refuse_duplicate_names(list(zip(names, places)), source)
  wnids = validation_wnids(names, folder_wnids, os.fspath(source), devkit) if labelled else {}
  units = []
  for chunk in _chunks(list(range(len(names)))):
    chunk_wnids = tuple((names[i], wnids[names[i]]) for i in chunk) if labelled else ()
    if is_dir:
      units.append(Unit(files=tuple(places[i] for i in chunk), wnids=chunk_wnids))
    else:
      units.append(Unit(members=tuple(members[i] for i in chunk), wnids=chunk_wnids))
  return units


def generate_in_process(units: Sequence[Unit], shorter_side: Optional[int], jpeg_quality: int,
                        box_plan: Optional[BoxPlan] = None):
  tally = BoxTally()
  for unit in units:
    yield from examples_of(unit, shorter_side, jpeg_quality, tally)
  if box_plan is not None:
    box_plan.log(tally)
