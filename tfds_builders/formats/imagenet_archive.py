"""Walking the ILSVRC2012 image archives and extracted trees, streamed, never extracted to disk.

The train tar (~148 GB) holds 1000 inner `<wnid>.tar` members of ~150 MB each; the val tar and the
test tar are flat. Members are listed by their headers (offset and size in the archive), and each
inner tar is read through a window on the outer file with tarfile's streaming mode, so memory stays
the size of one image whatever the size of the archives. The same listing serves a single process
and distributed workers (each gets members, opens the file itself and seeks).

Member names with an absolute path or `..` are refused: nothing is written to disk here, but such a
name means the archive is not the one the user thinks it is.
"""

from __future__ import annotations

import dataclasses
import io
import os
import posixpath
import re
import tarfile
import zlib
from typing import BinaryIO, Callable, Dict, Iterator, List, Optional, Tuple

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import paths

WNID_RE = re.compile(r"^n\d{8}$")
VAL_NAME_RE = re.compile(r"^ILSVRC2012_val_(\d{8})\.JPEG$")
IMAGE_SUFFIXES = (".JPEG", ".jpeg", ".jpg", ".JPG")
# ILSVRC2012's largest image file is under 16 MB; a member claiming more than this is not one of
# its images, and is refused before its bytes are read into memory.
MAX_IMAGE_BYTES = 64 << 20


@dataclasses.dataclass(frozen=True)
class Member:
  """A regular file inside an archive.

  Attributes:
    archive: the archive's path (what messages name).
    path: the member's path inside the archive.
    offset: where its data starts in the archive file.
    size: its data's size in bytes.
  """
  archive: str
  path: str
  offset: int
  size: int

  @property
  def name(self) -> str:
    """The member's file name without folders (the dataset's `file_name`)."""
    return posixpath.basename(self.path)

  def __str__(self) -> str:
    return f"{self.archive}:{self.path}"


def check_utf8_name(where, name: str) -> None:
  """File names become the `file_name` feature (text): one that is not UTF-8 cannot be stored."""
  try:
    name.encode("utf-8")
  except UnicodeEncodeError:
    raise SourceFormatError(where, f"holds a file name that is not UTF-8 text ({ascii(name)}); "
                            "ILSVRC2012's names are ASCII: rename the file") from None


def _check_member_path(archive: str, path: str) -> None:
  check_utf8_name(archive, path)
  parts = path.replace("\\", "/").split("/")
  if path.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", path):
    raise SourceFormatError(
        archive, f"member {path!r} has an absolute path or '..' in it; refusing to read this "
        "archive (it is not an ILSVRC2012 archive as distributed)")


def _is_file_member(archive: str, info: tarfile.TarInfo, holds: str = "an image") -> bool:
  """True for a regular file, False for a folder; raises for unsafe names, links and devices."""
  _check_member_path(archive, info.name)
  if info.isdir():
    return False
  if info.issparse():
    # A sparse member's size is what it claims, not what is stored: 10 KB can claim 3 GiB of
    # zeros, all of which tarfile would hand over. ILSVRC2012's archives hold no sparse files.
    raise SourceFormatError(archive, f"member {info.name!r} is a sparse file claiming {info.size} "
                            "bytes; ILSVRC2012's archives hold none")
  if not info.isfile():
    raise SourceFormatError(archive, f"member {info.name!r} is a link or special file, not {holds}")
  return True


def check_image_size(size: int, where: str) -> None:
  if size > MAX_IMAGE_BYTES:
    raise SourceFormatError(where, f"is {size} bytes, more than any ILSVRC2012 image "
                            f"({MAX_IMAGE_BYTES} at most): not an image of this dataset")


def list_members(path: os.PathLike) -> List[Member]:
  """Every regular file of a tar on disk, in archive order, from the headers alone.

  Raises SourceFormatError when the file is not a tar, or is cut short (a member's data runs past
  the end of the file, or a header is damaged), naming the member.
  """
  archive = os.fspath(path)
  file_size = paths.size_of(archive)
  members: List[Member] = []
  with paths.open_binary(archive) as f:
    try:
      tar = tarfile.open(fileobj=f, mode="r:")
    except tarfile.TarError as e:
      raise SourceFormatError(archive, f"is not a readable tar archive ({e})") from e
    _list_into(members, tar, archive, file_size)
  return members


def _list_into(members: List[Member], tar: tarfile.TarFile, archive: str, file_size: int) -> None:
  with tar:
    while True:
      try:
        info = tar.next()
      except (tarfile.TarError, EOFError, OSError) as e:
        after = f" after member {members[-1].path}" if members else ""
        raise SourceFormatError(archive, f"damaged or truncated tar header{after} ({e})") from e
      if info is None:
        break
      tar.members.clear()  # see walk_tar_stream; the Member list below is what is kept
      if not _is_file_member(archive, info):
        continue
      if info.offset_data + info.size > file_size:
        raise SourceFormatError(
            archive, f"truncated: member {info.name} needs bytes up to {info.offset_data + info.size}"
            f" but the file has {file_size}; copy or download it again")
      members.append(Member(archive, info.name, info.offset_data, info.size))


def read_members(members: List[Member]) -> Iterator[Tuple[Member, bytes]]:
  """The data of members of one archive, read by seeking (members need not be in order)."""
  if not members:
    return
  with paths.open_binary(members[0].archive) as f:
    for member in members:
      check_image_size(member.size, str(member))
      f.seek(member.offset)
      data = f.read(member.size)
      if len(data) != member.size:
        raise SourceFormatError(
            member.archive, f"truncated: member {member.path} has {len(data)} of its "
            f"{member.size} bytes")
      yield member, data


class _Window(io.RawIOBase):
  """Read-only view of `size` bytes of a file from `offset` (an inner tar inside the outer tar)."""

  def __init__(self, f: BinaryIO, offset: int, size: int):
    self._f = f
    self._left = size
    f.seek(offset)

  def readable(self) -> bool:
    return True

  def readinto(self, buffer) -> int:
    n = min(len(buffer), self._left)
    if n <= 0:
      return 0
    got = self._f.readinto(memoryview(buffer)[:n])
    self._left -= got
    return got


def iter_inner_tar(inner: Member) -> Iterator[Tuple[str, bytes]]:
  """(file name, bytes) of every image in an inner tar, streamed from the outer archive."""
  where = str(inner)
  with paths.open_binary(inner.archive) as f:
    window = io.BufferedReader(_Window(f, inner.offset, inner.size), buffer_size=1 << 20)
    yield from iter_tar_stream(window, where)


def iter_tar_stream(fileobj: BinaryIO, where: str) -> Iterator[Tuple[str, bytes]]:
  """(file name, bytes) of every image of a tar read front to back, never seeking back."""
  for info, data in walk_tar_stream(fileobj, where, max_bytes=check_image_size):
    yield posixpath.basename(info.name), data


# What the streamed walk catches while tarfile reads: a damaged header or a cut-short body
# (tarfile, EOFError, OSError) and, under a gzip layer, a damaged or cut-short stream (zlib).
_TAR_READ_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error)


def walk_tar_stream(fileobj: BinaryIO, where: str, *, max_bytes: Callable[[int, str], None],
                    wanted: Callable[[str], bool] = lambda name: True, holds: str = "an image",
                    kind: str = "tar archive",
                    ) -> Iterator[Tuple[tarfile.TarInfo, Optional[bytes]]]:
  """(header, bytes) of every regular file of a tar read front to back, never seeking back.

  Files whose name `wanted` declines are passed over unread (their bytes are None). Each file read
  is first given to `max_bytes(size, "<where>:<name>")`, which raises when it is too large to hold.
  Headers are not kept: tarfile keeps every header it has read (~500 bytes each, 25 MB for the
  val tar's 50,000 images, 270 MB for the train box archive's 545k XMLs), and a stream never goes
  back to them. `holds` and `kind` name what the members and the archive should be in messages.
  """
  last = None
  try:
    tar = tarfile.open(fileobj=fileobj, mode="r|")
  except _TAR_READ_ERRORS as e:
    raise SourceFormatError(where, f"is not a readable {kind} ({e})") from None
  with tar:
    while True:
      data = None
      try:
        info = tar.next()
        if info is None:
          break
        tar.members.clear()
        if not _is_file_member(where, info, holds):
          continue
        last = info.name
        if wanted(info.name):
          max_bytes(info.size, f"{where}:{info.name}")
          data = tar.extractfile(info).read()
      except _TAR_READ_ERRORS as e:
        at = f"at member {last}" if last else "at its first member"
        raise SourceFormatError(where, f"truncated or damaged tar {at} ({e})") from None
      if data is not None and len(data) != info.size:
        raise SourceFormatError(where, f"truncated: member {info.name} has {len(data)} of its "
                                f"{info.size} bytes")
      yield info, data


def train_inner_tars(path: os.PathLike) -> List[Member]:
  """The `<wnid>.tar` members of the train archive, checked by name."""
  members = list_members(path)
  for member in members:
    stem, ext = posixpath.splitext(member.name)
    if ext != ".tar" or not WNID_RE.match(stem):
      raise SourceFormatError(
          member.archive, f"member {member.path!r} is not a <wnid>.tar class archive: this is not "
          "ILSVRC2012_img_train.tar as distributed")
  return members


def wnid_of_inner(member: Member) -> str:
  return posixpath.splitext(member.name)[0]


def validation_index(file_name: str, where: str) -> int:
  """The 1-based number in `ILSVRC2012_val_00000042.JPEG` (its line in the ground truth)."""
  match = VAL_NAME_RE.match(file_name)
  if not match:
    raise SourceFormatError(
        where, f"{file_name!r} is not named ILSVRC2012_val_<8 digits>.JPEG, so its label cannot "
        "be looked up")
  return int(match.group(1))


# Extracted trees, as labs and torchvision keep them: train/<wnid>/*.JPEG, and one level down,
# train/<wnid>/<wnid>/*.JPEG (what untarring each inner class tar into a folder of its own name
# gives, and what torchvision's tests write); val/ flat or val/<wnid>/*.JPEG; test/ flat.


@dataclasses.dataclass
class TreeScan:
  """What a walk over an extracted tree read, and what it passed over (never silently).

  Attributes:
    images: (wnid of the folder or '', image path) in sorted order.
    skipped: reason -> paths not read (files that are not images, folders nested too deep).
  """
  images: List[Tuple[str, paths.epath.Path]] = dataclasses.field(default_factory=list)
  skipped: Dict[str, List[str]] = dataclasses.field(default_factory=dict)

  def skip(self, reason: str, path) -> None:
    self.skipped.setdefault(reason, []).append(os.fspath(path))

  def summary(self, root) -> Optional[str]:
    """One line counting what was passed over, or None when everything was read."""
    if not self.skipped:
      return None
    parts = [f"{len(found)} {reason} (e.g. {found[0]})"
             for reason, found in sorted(self.skipped.items())]
    return f"{root}: read {len(self.images)} images; not read: " + "; ".join(parts)


_NOT_IMAGE = "files that are not .JPEG images"
_TOO_DEEP = "folders nested deeper than <wnid>/<folder>/"


def sorted_entries(folder) -> List[paths.epath.Path]:
  entries = sorted(paths.as_path(folder).iterdir())
  for entry in entries:
    check_utf8_name(folder, entry.name)
  return entries


def _scan_class_folder(scan: TreeScan, folder, wnid: str, depth: int) -> None:
  """Images of a <wnid>/ folder and of its sub-folders one level down."""
  for entry in sorted_entries(folder):
    if entry.is_dir():
      if depth == 0:
        if WNID_RE.match(entry.name) and entry.name != wnid:
          raise SourceFormatError(
              entry, f"is a folder of class {entry.name} inside the folder of class {wnid}: "
              "which label its images have is ambiguous")
        _scan_class_folder(scan, entry, wnid, depth + 1)
      else:
        scan.skip(_TOO_DEEP, entry)
    elif entry.name.endswith(IMAGE_SUFFIXES):
      scan.images.append((wnid, entry))
    else:
      scan.skip(_NOT_IMAGE, entry)


def train_tree(root: os.PathLike) -> TreeScan:
  """The images of an extracted train tree: only <wnid>/ folders at the top, sorted."""
  root = paths.as_path(root)
  entries = sorted_entries(root)
  folders = [p for p in entries if p.is_dir()]
  bad = [p.name for p in folders if not WNID_RE.match(p.name)]
  if bad or not folders:
    raise SourceFormatError(
        root, f"an extracted train tree must hold only <wnid>/ folders (like n01440764/); found "
        f"{bad[:5] if bad else 'none'}")
  scan = TreeScan()
  for entry in entries:
    if entry.is_dir():
      _scan_class_folder(scan, entry, entry.name, 0)
    else:
      scan.skip("files outside the <wnid>/ folders", entry)
  return scan


def flat_or_by_class(root: os.PathLike) -> TreeScan:
  """The images of a val/test tree that is flat or split into <wnid>/ folders."""
  root = paths.as_path(root)
  scan = TreeScan()
  for entry in sorted_entries(root):
    if entry.is_dir():
      if not WNID_RE.match(entry.name):
        raise SourceFormatError(entry, "is not a <wnid> folder (like n01440764)")
      _scan_class_folder(scan, entry, entry.name, 0)
    elif entry.name.endswith(IMAGE_SUFFIXES):
      scan.images.append(("", entry))
    else:
      scan.skip(_NOT_IMAGE, entry)
  return scan
