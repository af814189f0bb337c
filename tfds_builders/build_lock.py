"""One build of a dataset version at a time in a data dir, and a dataset that is either there whole
or not there at all, for local folders and buckets alike.

`prepare()` wraps TFDS's `download_and_prepare`: a build that finds the dataset committed (its
version folder holds `dataset_info.json`) reuses it; otherwise it takes the build lock beside the
version folder, `.<version>.lock`. A build that had to wait and then finds the dataset made reads
the info that build wrote. With the lock held, anything of this version that is not committed was
left by a killed build and is removed: `incomplete.*_<version>/` folders, and a version folder
without `dataset_info.json` (a publish into a bucket that was killed).

Two locks serve that one interface (`acquire`, `check`, `renew`, `release`):
- `LocalLock`: `fcntl.flock` on a local file; TFDS's own rename of the finished folder is atomic.
- `bucket_lock.BucketLease`: a lease object in a `gs://` bucket, renewed by a thread; a bucket has
  no atomic rename, so the build ends in `publishing.publish` (dataset_info.json last). A lease
  can be lost (its holder could not renew it for a whole lease, and another build took it over):
  the build then stops at the next example it generates (`stops_when_lock_lost`) or, on Beam,
  before it publishes, and publishes nothing.

Without google-cloud-storage (or without credentials for it) a bucket build is not coordinated:
concurrent builds each generate the dataset and publish it the same way, the first commit wins,
and a version folder without `dataset_info.json` is never reused: a build waits while it changes
(another build publishing), reads the dataset once committed, and replaces a folder that has not
changed for a whole lease (left by a killed publish).
"""

from __future__ import annotations

import collections.abc
import fcntl
import functools
import logging
import os
import time
from typing import Callable, Optional

from etils import epath

from tfds_builders import publishing
from tfds_builders.formats import paths

log = logging.getLogger("tfds_builders.build")

COMMIT_MARKER = publishing.COMMIT_MARKER


class LockLost(RuntimeError):
  """The build lock was taken over by another build: this build must stop and publish nothing."""


class BuildLock:
  """What `prepare` needs of a lock; `url` names it in messages."""

  url: str
  what: str

  def acquire(self, ready: Callable[[], bool] = lambda: False) -> bool:
    """Waits for the lock and takes it (True), or returns False once `ready()` is true while
    waiting (another build made the dataset; the lock is then not held)."""
    raise NotImplementedError

  def check(self) -> None:
    """Raises LockLost if the lock is no longer held; cheap enough for every example."""

  def renew(self) -> None:
    """Makes sure the lock is still held, for at least a lease from now; raises LockLost."""

  def release(self) -> None:
    raise NotImplementedError


def log_waiting(what: str, holder: str, url: str) -> float:
  log.warning("%s: another build of this dataset is running (%s, lock %s); waiting for it to "
              "finish", what, holder, url)
  return time.monotonic()


def log_done_waiting(what: str, since: Optional[float]) -> None:
  if since is not None:
    log.warning("%s: the other build finished after %.0f s; going on", what,
                time.monotonic() - since)


class LocalLock(BuildLock):
  """`fcntl.flock` on `<dataset dir>/.<version>.lock`, which holds the holder's pid. The kernel
  drops the lock of a process that dies, so a local lock is never stale and never lost."""

  def __init__(self, url: str, what: str):
    self.url = url
    self.what = what
    self._file = None

  def acquire(self, ready: Callable[[], bool] = lambda: False) -> bool:
    os.makedirs(os.path.dirname(self.url), exist_ok=True)
    self._file = open(self.url, "a+")
    try:
      fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      self._file.seek(0)
      since = log_waiting(self.what, f"pid {self._file.read().strip() or 'unknown'}", self.url)
      fcntl.flock(self._file, fcntl.LOCK_EX)
      log_done_waiting(self.what, since)
    self._file.seek(0)
    self._file.truncate()
    self._file.write(str(os.getpid()))
    self._file.flush()
    return True

  def release(self) -> None:
    if self._file is not None:
      fcntl.flock(self._file, fcntl.LOCK_UN)
      self._file.close()
      self._file = None


# ------------------------------------------------------------------------------------------------

_held: dict[int, BuildLock] = {}  # id(builder) -> the lock its running build holds
_warned_unlocked: set[str] = set()


def lock_for(what: str, data_path: epath.Path) -> Optional[BuildLock]:
  """The build lock of a version folder, or None (with one warning a data dir) where a bucket
  build cannot be coordinated. A bad setting or any other error stops the build."""
  from tfds_builders import bucket_lock
  url = os.fspath(data_path.parent / f".{data_path.name}.lock")
  if paths.is_local(data_path):
    return LocalLock(url, what)
  lease_s = bucket_lock.lease_seconds()  # read first: a bad value stops a build in any case
  if url.startswith("gs://"):
    try:
      return bucket_lock.BucketLease(url, what, lease_s)
    except bucket_lock.LeaseUnavailable as e:
      why = str(e)
  else:
    why = "the build lock is implemented for gs:// buckets only"
  if url not in _warned_unlocked:
    _warned_unlocked.add(url)
    log.warning("%s: builds into %s are not coordinated: %s. Concurrent builds of this dataset "
                "each generate it (the first to commit wins); a version folder without "
                "dataset_info.json is never read as a dataset, one left by a killed publish is "
                "replaced once it has not changed for %.0f s, and incomplete.* folders of killed "
                "builds are left in place", what, data_path.parent, why, lease_s)
  return None


def remove_leftovers(data_path: epath.Path) -> None:
  """With the lock held: anything of this version not committed was left by a killed build."""
  if not data_path.parent.exists():
    return
  for stale in sorted(data_path.parent.glob(f"incomplete.*_{data_path.name}")):
    log.warning("Removing %s, left by a build that was killed", stale)
    stale.rmtree()
  if data_path.exists() and not (data_path / COMMIT_MARKER).exists():
    log.warning("Removing %s, left half-published by a build that was killed", data_path)
    data_path.rmtree()


def prepare(builder, prepare_dataset: Callable[[], None], overwrite: bool) -> None:
  """Runs `prepare_dataset` (TFDS's download_and_prepare of `builder`) under the build lock."""
  data_path = epath.Path(builder.data_path)
  what = builder.info.full_name
  committed = data_path / COMMIT_MARKER
  local = paths.is_local(data_path)
  if not local:
    from tfds_builders import bucket_lock
    bucket_lock.lease_seconds()  # a bad setting stops every bucket build, even one that reuses
  if not overwrite and committed.exists():
    return prepare_dataset()  # there whole: TFDS reuses it, no lock needed
  lock = lock_for(what, data_path)
  if lock is None:
    return _prepare_unlocked(builder, data_path, prepare_dataset, overwrite)
  if not lock.acquire(ready=lambda: not overwrite and committed.exists()):
    # Another build made it. This builder read its info before the dataset existed (no splits):
    # read the info that build wrote, so that as_dataset (and tfds.load) work on this builder.
    builder.info.read_from_directory(data_path)
    return prepare_dataset()
  try:
    log.info("%s: holding the build lock %s", what, lock.url)
    remove_leftovers(data_path)
    if not overwrite and committed.exists():
      builder.info.read_from_directory(data_path)  # made by the build this one waited for
    _held[id(builder)] = lock
    if local:
      return prepare_dataset()
    with publishing.publishing(data_path, lock):
      return prepare_dataset()
  finally:
    _held.pop(id(builder), None)
    try:
      lock.release()
    except Exception as e:  # noqa: BLE001  (the build's own outcome is what the user needs)
      log.warning("%s: could not release the build lock %s (%s: %s); it expires by itself",
                  what, lock.url, type(e).__name__, e)


def _prepare_unlocked(builder, data_path: epath.Path, prepare_dataset, overwrite: bool) -> None:
  from tfds_builders import bucket_lock
  if not overwrite and data_path.exists():
    if _wait_for_commit(builder.info.full_name, data_path, bucket_lock.lease_seconds()):
      builder.info.read_from_directory(data_path)
      return prepare_dataset()
  with publishing.publishing(data_path, None):
    return prepare_dataset()


def _wait_for_commit(what: str, data_path: epath.Path, lease_s: float) -> bool:
  """For a version folder without its commit, with no lock: True once it is committed; False
  once it is gone, or removed here after not changing for a whole lease (a killed publish)."""
  poll = min(5.0, lease_s / 6)
  committed = data_path / COMMIT_MARKER
  seen, seen_at, since = None, time.monotonic(), None
  while True:
    if committed.exists():
      log_done_waiting(what, since)
      return True
    try:
      # Names only: a publish moves whole objects into the folder (publishing.publish_file), so
      # one in progress changes the listing; no file there grows in place.
      listing = sorted(publishing.files_under(data_path))
    except FileNotFoundError:
      listing = None
    if listing is None or not data_path.exists():
      log_done_waiting(what, since)
      return False
    if listing != seen:
      seen, seen_at = listing, time.monotonic()
      if since is None:
        since = time.monotonic()
        log.warning("%s: %s has no %s yet: another build is publishing it, or one was killed "
                    "while publishing it; waiting for it to be committed (or to stay unchanged "
                    "for %.0f s)", what, data_path, COMMIT_MARKER, lease_s)
    elif time.monotonic() - seen_at > lease_s:
      log.warning("Removing %s, left half-published by a build that was killed (unchanged for "
                  "%.0f s)", data_path, time.monotonic() - seen_at)
      data_path.rmtree()
      return False
    time.sleep(poll)


def stops_when_lock_lost(generate_examples):
  """Wraps a builder's `_generate_examples`: while a build holds a lock that can be lost, every
  example first checks that it still holds it (a Beam pipeline is checked before publishing)."""

  @functools.wraps(generate_examples)
  def generate(self, *args, **kwargs):
    examples = generate_examples(self, *args, **kwargs)
    lock = _held.get(id(self))
    if lock is None or not isinstance(examples, collections.abc.Iterator):
      return examples
    return _checked(examples, lock)

  return generate


def _checked(examples, lock: BuildLock):
  for example in examples:
    lock.check()
    yield example


__all__ = ["BuildLock", "LocalLock", "LockLost", "lock_for", "prepare", "remove_leftovers",
           "stops_when_lock_lost"]
