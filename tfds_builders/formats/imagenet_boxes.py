"""ImageNet's bounding-box XMLs, read from their archives or extracted folders into a compact index.

`ILSVRC2012_bbox_train_v2.tar.gz` holds one PASCAL-VOC-style XML per annotated train image
(`n01440764/n01440764_10040.xml`, ~545k of the 1.28M images); `ILSVRC2012_bbox_val_v3.tgz` holds
`val/ILSVRC2012_val_00000001.xml` ... one per validation image. Each XML:

    <annotation> ... <size><width>500</width><height>375</height>...</size>
      <object><name>n01751748</name> ... <bndbox><xmin>111</xmin><ymin>108</ymin>
        <xmax>441</xmax><ymax>193</ymax></bndbox></object> ...

Boxes are keyed by the XML's file stem wherever it sits in the archive (the `<filename>` field is
not used: some real ones hold `%s`), normalised by the XML's own `<size>` (the size the annotator
saw, which is not always the JPEG's), clamped to [0, 1] and kept in the XML's object order as
`(ymin, xmin, ymax, xmax)`, the layout of `tfds.features.BBoxFeature` and
`tf.image.sample_distorted_bounding_box`.

What the real files are known to hold is read, and flagged per box so the builder can count it:
coordinates past the image edge (clamped), a maximum below its minimum (the corners are put in
order, as the inception pipeline's box script does), coordinates written as floats (`12.0`), and,
in dog classes of some releases, a breed's words (`Scottish_deerhound`) where the WNID belongs
(accepted only when they are one of the WordNet lemmas of the class the file is named after).
Anything else that is not a box is refused, naming the archive member: XML that is not well-formed,
declares a DOCTYPE (entities are never expanded) or an encoding Python cannot read, a missing
`<size>` or `<bndbox>` field, a WNID that is not one of the 1000 classes, an XML over 1 MB (real
ones are ~1 KB), a `*.xml` that is not a regular file, a source holding no XML at all.

The index holds ~50 bytes per XML in numpy arrays (sorted stems, offsets, float32 boxes, int16
labels, uint8 flags), so the 545k train XMLs take ~30 MB, and any subset (one class, one chunk of
validation images) is a small picklable copy that a Beam worker can carry with its unit of work.
"""

from __future__ import annotations

import array
import gzip
import math
import posixpath
import re
import xml.etree.ElementTree as ElementTree
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import compression, imagenet_archive, paths

# A box XML is ~1 KB (one <object> is ~250 bytes); a member claiming more is not a box XML, and is
# refused before it is read.
MAX_XML_BYTES = 1 << 20
# Stems are image names (`n01440764_10040`, `ILSVRC2012_val_00000001`); a bound keeps the
# fixed-width stem array small whatever an archive holds.
MAX_STEM_BYTES = 64
WNID_RE = imagenet_archive.WNID_RE
_STEM_WNID_RE = re.compile(r"^(n\d{8})_")
# Per-box flags: what was done to a box on the way in, for the builder's summary line.
CLAMPED = 1
BY_WORDS = 2
SWAPPED = 4


class BoxIndex:
  """Boxes of many images, keyed by image stem: sorted stems plus flat arrays.

  Attributes:
    stems: the image stems, sorted (numpy bytes array).
    offsets: int64, len(stems) + 1: the boxes of stem i are rows offsets[i]:offsets[i + 1].
    yxyx: float32 (boxes, 4), normalised and clamped (ymin, xmin, ymax, xmax).
    labels: int16 (boxes,), indices into the 1000 sorted WNIDs.
    flags: uint8 (boxes,), CLAMPED | BY_WORDS | SWAPPED.
  """

  def __init__(self, stems: np.ndarray, offsets: np.ndarray, yxyx: np.ndarray,
               labels: np.ndarray, flags: np.ndarray):
    self.stems = stems
    self.offsets = offsets
    self.yxyx = yxyx
    self.labels = labels
    self.flags = flags

  @classmethod
  def empty(cls) -> "BoxIndex":
    return cls(np.zeros(0, "S1"), np.zeros(1, np.int64), np.zeros((0, 4), np.float32),
               np.zeros(0, np.int16), np.zeros(0, np.uint8))

  def __len__(self) -> int:
    return len(self.stems)

  def __eq__(self, other) -> bool:
    if not isinstance(other, BoxIndex):
      return NotImplemented
    return all(np.array_equal(a, b) for a, b in zip(self._arrays(), other._arrays()))

  def __hash__(self) -> int:
    return hash(tuple(a.tobytes() for a in self._arrays()))

  def __repr__(self) -> str:
    return f"BoxIndex({len(self)} images, {len(self.labels)} boxes)"

  def _arrays(self):
    return (self.stems, self.offsets, self.yxyx, self.labels, self.flags)

  @property
  def nbytes(self) -> int:
    return sum(a.nbytes for a in self._arrays())

  def stem_at(self, position: int) -> str:
    return self.stems[position].decode("utf-8", "surrogateescape")

  def boxes_at(self, position: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(yxyx, labels, flags) of the image at `position`, in its XML's object order."""
    start, end = self.offsets[position], self.offsets[position + 1]
    return self.yxyx[start:end], self.labels[start:end], self.flags[start:end]

  def positions(self) -> Dict[str, int]:
    """stem -> position, for looking images up one by one (build it for a small index)."""
    return {self.stem_at(i): i for i in range(len(self))}

  def find(self, stems: Iterable[str]) -> np.ndarray:
    """The sorted positions of those of `stems` that have boxes."""
    wanted = np.array([_key(s) for s in stems] or [b""])
    at = np.searchsorted(self.stems, wanted)
    inside = at < len(self.stems)
    hits = at[inside][self.stems[at[inside]] == wanted[inside]]
    return np.unique(hits)

  def with_prefix(self, prefix: str) -> np.ndarray:
    """The positions of every stem starting with `prefix` (a contiguous run: stems are sorted)."""
    key = _key(prefix)
    start = np.searchsorted(self.stems, key, side="left")
    # Every stem with the prefix sorts before the prefix followed by 0xff, a byte UTF-8 never uses.
    end = np.searchsorted(self.stems, key + b"\xff", side="left")
    return np.arange(start, end)

  def take(self, positions: np.ndarray) -> "BoxIndex":
    """A new index of the images at `positions` (sorted), with copies of their boxes only."""
    positions = np.asarray(positions, np.int64)
    counts = self.offsets[positions + 1] - self.offsets[positions]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    rows = np.repeat(self.offsets[positions] - offsets[:-1], counts) + np.arange(offsets[-1])
    stems = self.stems[positions]
    if len(stems):  # the narrowest width that holds these stems: a unit's copy stays small
      stems = stems.astype(f"S{max(1, max(len(s) for s in stems))}")
    return BoxIndex(stems, offsets, self.yxyx[rows], self.labels[rows], self.flags[rows])


def _key(stem: str) -> bytes:
  # tarfile decodes member names with surrogateescape: a name that is not UTF-8 keeps its bytes.
  return stem.encode("utf-8", "surrogateescape")


class _Classes:
  """The 1000 WNIDs (label order) and, for the words-for-WNID quirk, each class's lemmas."""

  def __init__(self, wnids: Sequence[str], words: Optional[Sequence[str]]):
    self.label_of = {wnid: i for i, wnid in enumerate(wnids)}
    self.lemmas = ([frozenset(w.strip().lower() for w in entry.split(",")) for entry in words]
                   if words else None)

  def label(self, name: str, stem: str, number: int, where: str) -> Tuple[int, int]:
    """(label, flags) of an object's <name>."""
    if WNID_RE.match(name):
      if name not in self.label_of:
        raise SourceFormatError(where, f"object {number}: <name> {name} is not one of the 1000 "
                                "ILSVRC2012 WNIDs")
      return self.label_of[name], 0
    # Some dog XMLs name the breed (`Scottish_deerhound`) instead of its WNID (noted by the
    # inception pipeline's process_bounding_boxes.py). The file is named after its image, whose
    # class is known: the words are accepted when they are one of that class's lemmas.
    own = _STEM_WNID_RE.match(stem)
    label = self.label_of.get(own.group(1)) if own else None
    if (label is not None and self.lemmas is not None
        and name.replace("_", " ").strip().lower() in self.lemmas[label]):
      return label, BY_WORDS
    raise SourceFormatError(where, f"object {number}: <name> {name!r} is not a WNID (like "
                            "n01440764) nor a name of the class the file is named after")


def _number(parent, tag: str, where: str, whose: str, positive: bool = False) -> float:
  """The number in `parent`'s child <tag>; `whose` names the parent in messages ("<size>")."""
  # One tag at a time: find/findtext of a plain tag run in C, while a path like "size/width" goes
  # through the pure-Python ElementPath (several times slower over 545k files).
  text = parent.findtext(tag)
  if text is None:
    raise SourceFormatError(where, f"{whose} has no <{tag}>")
  try:
    # Some real XMLs write a coordinate as a float (`12.0`).
    value = float(text)
  except ValueError:
    value = math.nan
  if not math.isfinite(value) or (positive and value <= 0):
    kind = "a positive number" if positive else "a number"
    raise SourceFormatError(where, f"{whose}<{tag}> is {text!r}, not {kind}")
  return value


def _parse(data: bytes, where: str, stem: str,
           classes: _Classes) -> List[Tuple[Tuple[float, ...], int, int]]:
  """[((ymin, xmin, ymax, xmax) normalised and clamped, label, flags)] of one XML, in order."""
  _check_xml_size(len(data), where)
  # expat expands internal entities (a "billion laughs" document grows without bound); box XMLs
  # declare none, so a DOCTYPE is refused before parsing.
  if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
    raise SourceFormatError(where, "declares a DOCTYPE or entities; box XMLs have none, and "
                            "entities are not expanded here")
  try:
    root = ElementTree.fromstring(data)
  except ElementTree.ParseError as e:
    raise SourceFormatError(where, f"is not well-formed XML ({e})") from None
  except (LookupError, ValueError) as e:  # an encoding Python does not know, or cannot decode
    raise SourceFormatError(where, f"declares an encoding that cannot be read ({e}); box XMLs "
                            "are ASCII") from None
  if root.tag != "annotation":
    raise SourceFormatError(where, f"has <{root.tag}> at its root, not <annotation>")
  size = root.find("size")
  if size is None:
    raise SourceFormatError(where, "has no <size>")
  width = _number(size, "width", where, "<size>", positive=True)
  height = _number(size, "height", where, "<size>", positive=True)
  out = []
  for number, obj in enumerate(root.findall("object"), 1):  # findall of a tag runs in C
    name = (obj.findtext("name") or "").strip()
    if not name:
      raise SourceFormatError(where, f"object {number} has no <name>")
    label, flags = classes.label(name, stem, number, where)
    bndbox = obj.find("bndbox")
    if bndbox is None:
      raise SourceFormatError(where, f"object {number} has no <bndbox>")
    whose = f"object {number} <bndbox>"
    xmin, ymin, xmax, ymax = (_number(bndbox, c, where, whose)
                              for c in ("xmin", "ymin", "xmax", "ymax"))
    # Some real train XMLs give a maximum below its minimum (noted by the inception pipeline's
    # process_bounding_boxes.py, which orders them): the corners are put in order and counted.
    if xmax < xmin or ymax < ymin:
      flags |= SWAPPED
      xmin, xmax = sorted((xmin, xmax))
      ymin, ymax = sorted((ymin, ymax))
    box = (ymin / height, xmin / width, ymax / height, xmax / width)
    if not all(0.0 <= v <= 1.0 for v in box):
      flags |= CLAMPED
      box = tuple(min(max(v, 0.0), 1.0) for v in box)
    out.append((box, label, flags))
  return out


# ---------------------------------------------------------------- walking the sources


def _check_xml_size(size: int, where: str) -> None:
  if size > MAX_XML_BYTES:
    raise SourceFormatError(where, f"is {size} bytes; a box XML is a few KB (at most "
                            f"{MAX_XML_BYTES} accepted)")


def _archive_files(archive: str) -> Iterator[Tuple[str, str, Optional[bytes]]]:
  """(path, where, bytes or None for a file that is not .xml) of every file of a tar or tar.gz,
  streamed front to back (a bucket object is read once, never sought in)."""
  with paths.open_binary(archive) as raw:
    # gzip (the archives as distributed) or a tar already un-gzipped, told by the bytes. GzipFile
    # buffers well; tarfile's own "r|gz" re-copies its buffer on every 512-byte read (2x slower).
    gzipped = raw.read(2) == compression.GZIP_MAGIC
    raw.seek(0)
    f = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
    for info, data in imagenet_archive.walk_tar_stream(
        f, archive, max_bytes=_check_xml_size, wanted=lambda name: name.endswith(".xml"),
        holds="a box XML", kind="tar or tar.gz archive"):
      yield info.name, f"{archive}:{info.name}", data


def _folder_files(root) -> Iterator[Tuple[str, str, Optional[bytes]]]:
  """The same for an extracted folder, walked in sorted order at any depth."""
  pending = [paths.as_path(root)]
  while pending:
    folder = pending.pop()
    try:
      entries = imagenet_archive.sorted_entries(folder)
      folders = [entry for entry in entries if entry.is_dir()]
    except OSError as e:
      raise SourceFormatError(folder, f"cannot be listed ({e.strerror or e})") from None
    pending.extend(reversed(folders))
    for entry in entries:
      if entry in folders:
        continue
      where = str(entry)
      if not entry.name.endswith(".xml"):
        yield where, where, None
        continue
      # A broken link, a pipe or a device named *.xml: not read (a pipe would block).
      if not paths.is_regular_file(entry):
        raise SourceFormatError(where, "is not a regular file (a broken link, a pipe or a "
                                "device); a box XML is a file")
      try:
        _check_xml_size(paths.size_of(entry), where)
        with paths.open_binary(entry) as f:
          data = f.read(MAX_XML_BYTES + 1)
      except OSError as e:
        raise SourceFormatError(where, f"cannot be read ({e.strerror or e})") from None
      yield where, where, data


def _files(source) -> Iterator[Tuple[str, str, Optional[bytes]]]:
  if paths.as_path(source).is_dir():
    return _folder_files(source)
  return _archive_files(str(source))


class BoxReading:
  """What reading a box source gave: the index, and the files in it that are not box XMLs.

  Attributes:
    source: the archive or folder read.
    index: the boxes, keyed by image stem.
    not_xml: how many files are not `.xml` (not read), and the first one's path.
  """

  def __init__(self, source: str, index: BoxIndex, not_xml: int, not_xml_example: str):
    self.source = source
    self.index = index
    self.not_xml = not_xml
    self.not_xml_example = not_xml_example


def read_boxes(source, wnids: Sequence[str], words: Optional[Sequence[str]] = None) -> BoxReading:
  """Every box XML of an archive (tar, tar.gz) or an extracted folder, indexed by image stem.

  `wnids` are the 1000 classes in label order; `words`, in the same order, their comma-separated
  WordNet lemmas (for XMLs that name a breed instead of its WNID; None refuses those).
  Raises SourceFormatError naming the member for anything that is not a box XML (module docstring),
  and the source when two XMLs are named after the same image.
  """
  classes = _Classes(wnids, words)
  stems: List[bytes] = []
  counts = array.array("q")
  yxyx, labels, flags = array.array("f"), array.array("h"), array.array("B")
  not_xml, not_xml_example = 0, ""
  for path, where, data in _files(source):
    if data is None:
      not_xml += 1
      not_xml_example = not_xml_example or path
      continue
    stem = _path_stem(path)
    key = _key(stem)
    if len(key) > MAX_STEM_BYTES or b"\0" in key:
      raise SourceFormatError(where, f"has a name of {len(key)} bytes; box XMLs are named after "
                              f"their images (n01440764_10040.xml), at most {MAX_STEM_BYTES}")
    boxes = _parse(data, where, stem, classes)
    stems.append(key)
    counts.append(len(boxes))
    for box, label, flag in boxes:
      yxyx.extend(box)
      labels.append(label)
      flags.append(flag)
  if not stems:
    others = f" ({not_xml} other files, e.g. {not_xml_example})" if not_xml else ""
    raise SourceFormatError(source, f"holds no box XML{others}; ImageNet's box archives hold one "
                            "<image stem>.xml per annotated image")
  stem_array = np.array(stems, dtype=f"S{max([1] + [len(s) for s in stems])}")
  order = np.argsort(stem_array, kind="stable")
  index = BoxIndex(stem_array, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                   np.frombuffer(yxyx, np.float32).reshape(-1, 4), np.frombuffer(labels, np.int16),
                   np.frombuffer(flags, np.uint8)).take(order)
  twice = np.flatnonzero(index.stems[1:] == index.stems[:-1])
  if len(twice):
    _refuse_duplicates(source, index, twice)
  return BoxReading(str(source), index, not_xml, not_xml_example)


def _refuse_duplicates(source, index: BoxIndex, twice: np.ndarray) -> None:
  """Names both places of the first stem found twice (a second pass: only on this error path)."""
  stem = index.stem_at(int(twice[0]))
  places = [path for path, _, data in _files(source) if data is not None
            and _path_stem(path) == stem]
  raise SourceFormatError(
      source, f"holds {len(np.unique(index.stems[twice]))} box file name(s) more than once, e.g. "
      f"{stem}.xml at {' and '.join(places)}; each image has one box XML")


def box_stem(file_name: str) -> str:
  """The stem an image's boxes are keyed by (`n01440764_10040.JPEG` -> `n01440764_10040`)."""
  return posixpath.splitext(file_name)[0]


def _path_stem(path: str) -> str:
  """The stem of a box file's path in an archive or folder (`n01440764/n01440764_1.xml`)."""
  return box_stem(posixpath.basename(path.replace("\\", "/")))


__all__ = ["BoxIndex", "BoxReading", "read_boxes", "box_stem", "CLAMPED", "BY_WORDS", "SWAPPED",
           "MAX_XML_BYTES"]
