"""The ILSVRC2012 devkit: the class table in `data/meta.mat` and the validation ground truth.

`meta.mat` (MATLAB v5) holds a struct array `synsets`; the 1000 classes are the entries with an
ILSVRC2012_ID in 1..1000 and no children. `ILSVRC2012_validation_ground_truth.txt` gives one
ILSVRC2012_ID per validation image, in file-name order. ILSVRC2012_ID order is not sorted-WNID
order (the order of TFDS labels): ground-truth IDs must go through the table to a WNID, never be
used as labels directly.

The devkit comes as `ILSVRC2012_devkit_t12.tar.gz`, as the same tar already un-gzipped by a browser,
or extracted to a folder; all three are read the same way.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import struct
import tarfile
import zlib
from typing import Dict, Optional, Tuple

import numpy as np
import scipy.io

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import paths

META_MAT = "data/meta.mat"
GROUND_TRUTH = "data/ILSVRC2012_validation_ground_truth.txt"
NUM_CLASSES = 1000
NUM_VALIDATION = 50_000
# Bounds on what the devkit's two files can be: meta.mat is 2 MB, the ground truth 50,000 short
# lines. A member claiming more is refused before it is read (a 192 KB gzip can unpack to 100 M
# lines, and a sparse member can claim gigabytes).
MAX_BYTES = {META_MAT: 16 << 20, GROUND_TRUTH: 1 << 20}


@dataclasses.dataclass(frozen=True)
class Synset:
  ilsvrc2012_id: int
  wnid: str
  words: str
  gloss: str
  num_train_images: int


@dataclasses.dataclass(frozen=True)
class Devkit:
  """The classes (by ILSVRC2012_ID) and the validation ground truth of a devkit.

  Attributes:
    path: where it was read from.
    classes: ILSVRC2012_ID -> Synset, for the leaf classes only.
    validation_ids: the ground truth, line i (0-based) for ILSVRC2012_val_<i+1>.JPEG.
  """
  path: str
  classes: Dict[int, Synset]
  validation_ids: Tuple[int, ...]

  def validation_wnid(self, index: int) -> Optional[str]:
    """The WNID of validation image number `index` (1-based), or None past the file's end."""
    if not 1 <= index <= len(self.validation_ids):
      return None
    return self.classes[self.validation_ids[index - 1]].wnid

  def by_wnid(self) -> Dict[str, Synset]:
    return {s.wnid: s for s in self.classes.values()}


def _text(value) -> str:
  if isinstance(value, np.ndarray):
    return "" if value.size == 0 else str(value.reshape(-1)[0])
  return str(value)


def _int(entry, field: str, number: int, where: str) -> int:
  value = np.asarray(entry[field]).reshape(-1)
  if not value.size:
    return 0
  try:
    return int(value[0])
  except (TypeError, ValueError, OverflowError):
    raise SourceFormatError(
        where, f"{field} {_text(entry[field])!r} of synset {number} is not a number") from None


# MAT v5 element types and array classes (MathWorks' "MAT-File Format", version 5).
_MI_MATRIX, _MI_COMPRESSED = 14, 15
# int8 ... uint32, single, double, int64, uint64, utf8, utf16, utf32
_MI_NUMBERS = frozenset([1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 16, 17, 18])
_MX_CONTAINERS = {1: "cell", 2: "struct", 3: "object"}
_MX_CHAR, _MX_SPARSE = 4, 5
_MX_NUMERIC = range(6, 16)
_COMPLEX_FLAG = 0x800
_MAX_NESTING = 16
_MAX_INFLATED = 256 << 20


def _element(buf, pos: int, end: int, order: str, where: str) -> Tuple[int, int, int, int]:
  """(type, data size, data start, next element) of the data element at pos."""
  word, = struct.unpack_from(order + "I", buf, pos)
  if word >> 16:  # the "small element" form: type and size in one word, data in the next four
    return word & 0xFFFF, word >> 16, pos + 4, pos + 8
  size, = struct.unpack_from(order + "I", buf, pos + 4)
  if pos + 8 + size > end:
    raise SourceFormatError(
        where, f"a MATLAB data element claims {size} bytes but only {max(0, end - pos - 8)} "
        "follow: the file is damaged or truncated")
  return word, size, pos + 8, pos + 8 + size + (-size % 8)


def _check_elements(buf, pos: int, end: int, order: str, where: str, depth: int) -> None:
  if depth > _MAX_NESTING:
    raise SourceFormatError(where, f"holds arrays nested over {_MAX_NESTING} deep; this is not "
                            "an ILSVRC2012 meta.mat")
  while pos + 8 <= end:
    kind, size, start, _ = _element(buf, pos, end, order, where)
    if kind == _MI_COMPRESSED:
      inflater = zlib.decompressobj()
      try:
        inner = inflater.decompress(bytes(buf[start:start + size]), _MAX_INFLATED)
      except zlib.error:
        return  # scipy reports the damage
      if inflater.unconsumed_tail:
        raise SourceFormatError(where, f"a compressed variable inflates to over "
                                f"{_MAX_INFLATED} bytes; this is not an ILSVRC2012 meta.mat")
      _check_elements(inner, 0, len(inner), order, where, depth + 1)
    elif kind == _MI_MATRIX:
      _check_matrix(buf, start, start + size, order, where, depth + 1)
    pos = start + size  # compressed elements are not padded; matrices are whole 8-byte words


def _check_matrix(buf, pos: int, end: int, order: str, where: str, depth: int) -> None:
  # An array's subelements: flags, dimensions, name; objects add a class name; structs and
  # objects add the length of a field name and the field names; then the entries.
  try:
    parts = []
    for _ in range(3):
      kind, size, start, pos = _element(buf, pos, end, order, where)
      parts.append((kind, size, start))
    (flags_type, flags_size, _), (dims_type, dims_size, _), (name_type, _, _) = parts
    # scipy's compiled reader crashes on some malformed headers (a 2-byte dimensions element)
    # instead of raising; MATLAB and scipy always write these three the same way.
    if (flags_type, flags_size) != (6, 8) or dims_type != 5 or dims_size < 8 or dims_size % 4 \
        or name_type not in (1, 2):
      raise SourceFormatError(where, "a MATLAB array header (flags, dimensions, name) is "
                              "damaged")
    flags = struct.unpack_from(order + "I", buf, parts[0][2])[0]
    array_class = flags & 0xFF
    if array_class not in _MX_CONTAINERS:
      _check_data(buf, pos, end, order, where, array_class, flags & _COMPLEX_FLAG)
      return
    dims = struct.unpack_from(f"{order}{dims_size // 4}i", buf, parts[1][2])
    for _ in range({1: 0, 2: 2, 3: 3}[array_class]):
      kind, size, start, pos = _element(buf, pos, end, order, where)
      parts.append((kind, size, start))
    fields = 1
    if array_class != 1:
      name_length = struct.unpack_from(order + "i", buf, parts[-2][2])[0]
      fields = max(1, parts[-1][1] // name_length) if name_length > 0 else 1
  except struct.error:
    return  # a damaged header: scipy reports it
  entries = math.prod(max(d, 0) for d in dims) * fields
  if entries * 8 > end - pos:  # every entry is an element with at least an 8-byte tag
    raise SourceFormatError(
        where, f"a {'x'.join(map(str, dims))} {_MX_CONTAINERS[array_class]} array claims "
        f"{entries} entries but only {max(0, end - pos)} bytes follow: the file is damaged")
  _check_elements(buf, pos, end, order, where, depth)


def _check_data(buf, pos: int, end: int, order: str, where: str, array_class: int,
                complex_flag: int) -> None:
  """Checks the data parts of a char, sparse or numeric array.

  scipy's compiled reader trusts them: it allocates what each part's tag claims, reads as many
  parts as the flags say even past the array's end, and crashes the process (a segmentation fault,
  not an exception) on a part whose type is not a number type.
  """
  if array_class != _MX_CHAR and array_class != _MX_SPARSE and array_class not in _MX_NUMERIC:
    raise SourceFormatError(where, f"holds a MATLAB array of class {array_class}, which no "
                            "meta.mat has: the file is damaged")
  needed = (3 if array_class == _MX_SPARSE else 1) + (
      1 if complex_flag and array_class != _MX_CHAR else 0)
  found = 0
  while pos + 8 <= end:
    kind, _, _, pos = _element(buf, pos, end, order, where)
    if kind not in _MI_NUMBERS:
      raise SourceFormatError(where, f"a MATLAB array holds a data element of type {kind}, "
                              "which is not a number type: the file is damaged")
    found += 1
  if found < needed:
    raise SourceFormatError(where, f"a MATLAB array's flags announce {needed} data parts but it "
                            f"holds {found}: the file is damaged")


def _check_claimed_sizes(data: bytes, where: str) -> None:
  """Refuses cell and struct arrays whose headers claim more entries than the bytes after them.

  scipy allocates such an array from its header's dimensions before reading one entry: a damaged
  20 KB meta.mat claiming 50 M synsets costs gigabytes and a minute before scipy notices.
  """
  if len(data) >= 128:
    _check_elements(memoryview(data), 128, len(data), "<" if data[126:128] == b"IM" else ">",
                    where, 0)


def read_meta_mat(data: bytes, where: str) -> Dict[int, Synset]:
  """ILSVRC2012_ID -> Synset for the leaf classes of a meta.mat."""
  _check_claimed_sizes(data, where)
  try:
    mat = scipy.io.loadmat(io.BytesIO(data), squeeze_me=True)
  except Exception as e:  # scipy raises several types for a damaged file
    raise SourceFormatError(where, f"is not a readable MATLAB file ({e})") from e
  if "synsets" not in mat:
    raise SourceFormatError(where, f"has no 'synsets' variable (found {sorted(mat)})")
  synsets = np.atleast_1d(mat["synsets"])
  fields = synsets.dtype.names or ()
  needed = ("ILSVRC2012_ID", "WNID", "words", "gloss", "num_children")
  missing = [f for f in needed if f not in fields]
  if missing:
    raise SourceFormatError(where, f"'synsets' lacks the fields {missing} (has {list(fields)})")
  classes: Dict[int, Synset] = {}
  for number, entry in enumerate(synsets, 1):
    ilsvrc2012_id = _int(entry, "ILSVRC2012_ID", number, where)
    if not 1 <= ilsvrc2012_id <= NUM_CLASSES or _int(entry, "num_children", number, where) != 0:
      continue  # an inner node of the WordNet tree, not a class
    if ilsvrc2012_id in classes:
      raise SourceFormatError(where, f"ILSVRC2012_ID {ilsvrc2012_id} appears twice")
    classes[ilsvrc2012_id] = Synset(
        ilsvrc2012_id=ilsvrc2012_id, wnid=_text(entry["WNID"]), words=_text(entry["words"]),
        gloss=_text(entry["gloss"]),
        num_train_images=(_int(entry, "num_train_images", number, where)
                          if "num_train_images" in fields else 0))
  if not classes:
    raise SourceFormatError(where, "has no classes (no synset with ILSVRC2012_ID 1..1000)")
  wnids = [s.wnid for s in classes.values()]
  if len(set(wnids)) != len(wnids):
    raise SourceFormatError(where, "two class IDs map to the same WNID")
  return classes


def read_ground_truth(text: str, where: str, classes: Dict[int, Synset]) -> Tuple[int, ...]:
  ids = []
  for line_no, line in enumerate(text.splitlines(), 1):
    line = line.strip()
    if not line:
      continue
    if len(ids) == NUM_VALIDATION:
      raise SourceFormatError(where, f"has more than {NUM_VALIDATION} labels (line {line_no}); "
                              f"ILSVRC2012 has {NUM_VALIDATION} validation images")
    if not line.isdigit() or int(line) not in classes:
      raise SourceFormatError(
          where, f"line {line_no}: {line!r} is not an ILSVRC2012_ID of meta.mat's classes")
    ids.append(int(line))
  return tuple(ids)


def _check_size(size: int, where: str, wanted: str) -> None:
  if size > MAX_BYTES[wanted]:
    raise SourceFormatError(where, f"is {size} bytes; the devkit's {wanted} is never more than "
                            f"{MAX_BYTES[wanted]}")


def _read_tar(path: str) -> Tuple[bytes, bytes]:
  found = {}
  try:
    # 'r:*' tells gzip from a plain tar by the bytes, whatever the file is called.
    with paths.open_binary(path) as f, tarfile.open(fileobj=f, mode="r:*") as tar:
      for info in tar:
        for wanted in (META_MAT, GROUND_TRUTH):
          if info.isfile() and (info.name == wanted or info.name.endswith("/" + wanted)):
            if info.issparse():
              raise SourceFormatError(path, f"member {info.name} is a sparse file claiming "
                                      f"{info.size} bytes; the devkit holds none")
            _check_size(info.size, f"{path}:{info.name}", wanted)
            found[wanted] = tar.extractfile(info).read()
  except (tarfile.TarError, EOFError, OSError) as e:
    raise SourceFormatError(path, f"is not a readable devkit tar ({e})") from e
  missing = [w for w in (META_MAT, GROUND_TRUTH) if w not in found]
  if missing:
    raise SourceFormatError(path, f"has no {' or '.join(missing)}: is this the ILSVRC2012 "
                            "devkit (ILSVRC2012_devkit_t12)?")
  return found[META_MAT], found[GROUND_TRUTH]


def read_devkit(path: os.PathLike) -> Devkit:
  """Reads a devkit tar(.gz) or an extracted devkit folder (the one holding `data/`)."""
  path = paths.as_path(path)
  if path.is_dir():
    missing = [w for w in (META_MAT, GROUND_TRUTH) if not (path / w).is_file()]
    if missing:
      raise SourceFormatError(path, f"has no {' or '.join(missing)}")
    for wanted in (META_MAT, GROUND_TRUTH):
      _check_size((path / wanted).stat().length, f"{path / wanted}", wanted)
    meta, truth = (path / META_MAT).read_bytes(), (path / GROUND_TRUTH).read_bytes()
  else:
    meta, truth = _read_tar(os.fspath(path))
  classes = read_meta_mat(meta, f"{path}:{META_MAT}")
  ids = read_ground_truth(truth.decode("ascii", "replace"), f"{path}:{GROUND_TRUTH}", classes)
  return Devkit(os.fspath(path), classes, ids)

