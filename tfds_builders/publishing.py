"""The one change made to TFDS itself: for a dataset being built into a bucket, the last step of
the build, TFDS's rename of `incomplete.XXXXXX_<version>/` to `<version>/`, becomes a publish that
writes `dataset_info.json` last.

A bucket has no atomic folder rename (TFDS's is a copy and a delete per object, so a reader can
see half a folder), while TFDS itself already treats a version folder without `dataset_info.json`
as not prepared: `tfds.builder` restores nothing from it. With the commit marker written last,
half of a dataset is never read as one. TFDS makes the rename in `utils.incomplete_dir`; that
function is replaced once per process, and the replacement hands every call to TFDS's own except
the one for the version folder that `publishing()` names on this thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Iterator, Optional

from etils import epath

log = logging.getLogger("tfds_builders.build")

COMMIT_MARKER = "dataset_info.json"  # TFDS's own: without it a version folder is not a dataset

_local = threading.local()
_tfds_incomplete_dir = None


def _install() -> None:
  global _tfds_incomplete_dir
  from tensorflow_datasets.core import utils as tfds_utils
  if _tfds_incomplete_dir is not None:
    return
  _tfds_incomplete_dir = tfds_utils.incomplete_dir

  def incomplete_dir(dirname, *args, **kwargs):
    target = getattr(_local, "publishing", None)
    if target is None or os.fspath(dirname).rstrip("/") != target[0]:
      return _tfds_incomplete_dir(dirname, *args, **kwargs)
    return _incomplete_then_publish(epath.Path(dirname), target[1],
                                    overwrite=kwargs.get("overwrite", False))

  tfds_utils.incomplete_dir = incomplete_dir


@contextlib.contextmanager
def publishing(data_path: epath.Path, lock=None):
  """While active, TFDS's build of `data_path` on this thread ends in `publish`. `lock`: the build
  lock held (its `renew()` is called before publishing and before the commit), or None."""
  _install()
  previous = getattr(_local, "publishing", None)
  _local.publishing = (os.fspath(data_path).rstrip("/"), lock)
  try:
    yield
  finally:
    _local.publishing = previous


@contextlib.contextmanager
def _incomplete_then_publish(final: epath.Path, lock, overwrite: bool) -> Iterator[str]:
  from tensorflow_datasets.core.utils import file_utils
  tmp = epath.Path(file_utils._get_incomplete_dir(os.fspath(final)))  # noqa: SLF001  (TFDS's name)
  tmp.mkdir(parents=True, exist_ok=True)
  try:
    yield os.fspath(tmp)
    publish(tmp, final, lock, overwrite)
  finally:
    if tmp.exists():
      tmp.rmtree()


def files_under(folder: epath.Path, prefix: str = "") -> Iterator[str]:
  for path in sorted(folder.iterdir()):
    if path.is_dir():
      yield from files_under(path, f"{prefix}{path.name}/")
    else:
      yield prefix + path.name


def publish_file(source: epath.Path, target: epath.Path) -> None:
  """One object moved: in GCS a server-side rewrite and a delete (TensorFlow's `copy` would
  stream every byte through this host). A module function, so that a test can stop here."""
  try:
    source.replace(target)
  except FileNotFoundError:
    if not source.exists():
      raise
    # gcsfs (TFDS's path type without TensorFlow) has no folders, and epath's replace wants the
    # target's folder to exist: the first object of a folder is copied there instead.
    source.copy(target, overwrite=True)
    source.unlink()


def publish(tmp: epath.Path, final: epath.Path, lock, overwrite: bool) -> None:
  files = [f for f in files_under(tmp) if f != COMMIT_MARKER]
  if lock is not None:
    lock.renew()  # still ours: a lease from now on, longer than publishing takes
  elif not overwrite and (final / COMMIT_MARKER).exists():
    # Not coordinated: another build of the same dataset committed it while this one ran. The
    # builds are deterministic, so its dataset is this one; this copy is dropped.
    log.warning("%s was published by another build while this one ran; using that one", final)
    return
  if overwrite and final.exists():
    (final / COMMIT_MARKER).unlink(missing_ok=True)  # no longer a dataset, then gone
    final.rmtree()
  final.mkdir(parents=True, exist_ok=True)
  for name in files:
    publish_file(tmp / name, final / name)  # over what a killed publish left, if anything
  if lock is not None:
    lock.renew()
  else:
    # Not coordinated: a build that took this folder for a killed build's may have removed it.
    missing = sorted(set(files) - set(files_under(final)))
    if missing:
      raise RuntimeError(
          f"{final}: {len(missing)} of the {len(files)} files just published there are gone "
          f"({missing[0]}, ...); another build, not coordinated with this one, removed them. "
          "Nothing was committed; run the build again")
  publish_file(tmp / COMMIT_MARKER, final / COMMIT_MARKER)  # the commit


def check_committed(what: str, data_path) -> None:
  """Raises TFDS's "not generated" AssertionError for a version folder without its commit."""
  data_path = epath.Path(data_path)
  if data_path.exists() and not (data_path / COMMIT_MARKER).exists():
    raise AssertionError(
        f"Dataset {what} is not ready in {data_path}: the folder holds no {COMMIT_MARKER} (a "
        "build is publishing it now, or one was killed while publishing it; the next build "
        "replaces it). Call download_and_prepare() first (tfds.load does, unless "
        "download=False).")


__all__ = ["COMMIT_MARKER", "check_committed", "publish", "publish_file", "publishing"]
