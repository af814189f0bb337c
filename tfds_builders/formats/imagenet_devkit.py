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
import os
import pathlib
import tarfile
from typing import Dict, Optional, Tuple

import numpy as np
import scipy.io

from tfds_builders.errors import SourceFormatError

META_MAT = "data/meta.mat"
GROUND_TRUTH = "data/ILSVRC2012_validation_ground_truth.txt"
NUM_CLASSES = 1000


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


def _int(value) -> int:
  return int(np.asarray(value).reshape(-1)[0]) if np.asarray(value).size else 0


def read_meta_mat(data: bytes, where: str) -> Dict[int, Synset]:
  """ILSVRC2012_ID -> Synset for the leaf classes of a meta.mat."""
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
  for entry in synsets:
    ilsvrc2012_id = _int(entry["ILSVRC2012_ID"])
    if not 1 <= ilsvrc2012_id <= NUM_CLASSES or _int(entry["num_children"]) != 0:
      continue  # an inner node of the WordNet tree, not a class
    if ilsvrc2012_id in classes:
      raise SourceFormatError(where, f"ILSVRC2012_ID {ilsvrc2012_id} appears twice")
    classes[ilsvrc2012_id] = Synset(
        ilsvrc2012_id=ilsvrc2012_id, wnid=_text(entry["WNID"]), words=_text(entry["words"]),
        gloss=_text(entry["gloss"]),
        num_train_images=_int(entry["num_train_images"]) if "num_train_images" in fields else 0)
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
    if not line.isdigit() or int(line) not in classes:
      raise SourceFormatError(
          where, f"line {line_no}: {line!r} is not an ILSVRC2012_ID of meta.mat's classes")
    ids.append(int(line))
  return tuple(ids)


def _read_tar(path: str) -> Tuple[bytes, bytes]:
  found = {}
  try:
    # 'r:*' tells gzip from a plain tar by the bytes, whatever the file is called.
    with tarfile.open(path, mode="r:*") as tar:
      for info in tar:
        for wanted in (META_MAT, GROUND_TRUTH):
          if info.isfile() and (info.name == wanted or info.name.endswith("/" + wanted)):
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
  path = pathlib.Path(path)
  if path.is_dir():
    missing = [w for w in (META_MAT, GROUND_TRUTH) if not (path / w).is_file()]
    if missing:
      raise SourceFormatError(path, f"has no {' or '.join(missing)}")
    meta, truth = (path / META_MAT).read_bytes(), (path / GROUND_TRUTH).read_bytes()
  else:
    meta, truth = _read_tar(os.fspath(path))
  classes = read_meta_mat(meta, f"{path}:{META_MAT}")
  ids = read_ground_truth(truth.decode("ascii", "replace"), f"{path}:{GROUND_TRUTH}", classes)
  return Devkit(os.fspath(path), classes, ids)

