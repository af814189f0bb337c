"""Paths of every kind TFDS accepts (local, `gs://`, `s3://`, ...), for the readers.

Sources are named by TFDS's own path type, `etils.epath.Path`, from the manual directory down to
each archive: a bucket path is opened, listed, sized and sought in like a local one, through the
same file-system backend TFDS itself uses. For `gs://` that is TensorFlow's GCS file system when
TensorFlow is installed, else gcsfs (`EPATH_USE_TF=false` chooses gcsfs with TensorFlow present).
Nothing here imports TensorFlow itself.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Union

from etils import epath

from tfds_builders.errors import SourceFormatError

PathLike = Union[str, os.PathLike]


def as_path(path: PathLike) -> epath.Path:
  """`path` as TFDS's path type; `~` is expanded for local paths."""
  if isinstance(path, epath.Path):
    return path
  text = os.fspath(path)
  if text.startswith("~"):
    text = os.path.expanduser(text)
  return epath.Path(text)


def is_local(path: PathLike) -> bool:
  return "://" not in os.fspath(path)


def is_regular_file(path: PathLike) -> bool:
  """True for a file that can be read to its end: not a folder, a broken link, a pipe or a device
  (epath's is_file() on TensorFlow's file system is true for a pipe, whose open() blocks)."""
  if is_local(path):
    return os.path.isfile(os.fspath(path))
  return as_path(path).is_file()


def open_binary(path: PathLike) -> BinaryIO:
  """Opens a file for reading bytes, wherever it is; a file this process may not read is named."""
  try:
    return as_path(path).open("rb")
  except PermissionError as e:
    raise SourceFormatError(path, "permission denied: this process may not read it (check the "
                            "file's permissions and owner)") from e


def size_of(path: PathLike) -> int:
  if is_local(path):
    return os.path.getsize(os.fspath(path))
  return as_path(path).stat().length
