"""One build of a dataset version at a time in a bucket (`gs://`) data dir, and a dataset that is
either there whole or not there at all.

On a TPU pod every host runs the same script, and `tfds.load(name, data_dir="gs://...")` on each
prepares the dataset if it is not there. A local data dir has `fcntl` (see
`builder_base._build_lock`); a bucket has neither locks nor an atomic folder rename (TFDS's
`incomplete.*` -> `1.0.0` is a copy and a delete per object, so a reader can see half a folder).
Here instead:

- **A lease object** `<dataset dir>/.<version>.lock`, created only if absent (GCS's generation
  precondition `ifGenerationMatch=0`: of N hosts creating it at once, exactly one succeeds). Its
  holder rewrites it every lease/6 seconds, each time only if it is still the generation it wrote
  (`ifGenerationMatch=<its generation>`). The others wait, polling. A lock whose generation has
  not changed for a whole lease, timed on the waiter's own clock (no clocks are compared across
  hosts), is left by a dead holder: a waiter takes it over by rewriting exactly that generation, so
  only one of them does. A holder that finds its lock taken over stops before it publishes
  anything (`LockLost`).
- **Build, then publish, with a commit marker written last.** TFDS builds into
  `incomplete.XXXXXX_<version>/` as usual; the holder then copies every file to `<version>/`,
  `dataset_info.json` last. TFDS itself treats a version folder without `dataset_info.json` as not
  prepared (`tfds.builder` restores nothing from it), and the next build removes such a folder and
  any `incomplete.*` of this version before it starts, with the lock held.
- Waiters go on as soon as `dataset_info.json` is there, and read the dataset.

The lock needs google-cloud-storage (`pip install 'tfds_builders[cloud]'`; Colab has it, gcsfs
depends on it). Without it, or without credentials for it, a bucket build is not coordinated: it
is published the same way (nothing half-published looks like a dataset), but concurrent builds
each generate the dataset and stale folders of killed builds are not removed; a warning says so.

`TFDS_BUILDERS_BUCKET_LOCK_LEASE_S` (seconds, default 180) sets the lease: how long a build
killed while holding the lock keeps the others waiting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from typing import Callable, Iterator, Optional

from etils import epath

from tfds_builders import download
from tfds_builders.errors import ConfigurationError

log = logging.getLogger("tfds_builders.build")

LEASE_ENV = "TFDS_BUILDERS_BUCKET_LOCK_LEASE_S"
DEFAULT_LEASE_S = 180.0
COMMIT_MARKER = "dataset_info.json"  # TFDS's own: without it a version folder is not a dataset


class LockLost(RuntimeError):
  """The build lock was taken over by another build: this build must not publish."""


def lease_seconds() -> float:
  # Read as every other number the package takes from the environment (download._number_from_env);
  # a lease of 0 would make every lock look stale at once.
  lease = download._number_from_env(LEASE_ENV, DEFAULT_LEASE_S, "seconds")
  if lease <= 0:
    raise ConfigurationError(f"the environment variable {LEASE_ENV}={lease:g} must be above 0 "
                             f"(default {DEFAULT_LEASE_S:g}) or unset")
  return lease


def _split_gs(url: str) -> tuple[str, str]:
  rest = url[len("gs://"):]
  bucket, _, name = rest.partition("/")
  return bucket, name


class BucketLease:
  """An exclusive lease on one object of a bucket (see the module's doc)."""

  def __init__(self, url: str, what: str, lease_s: Optional[float] = None, client=None):
    from google.api_core import exceptions  # noqa: F401  (fails early without the library)
    from google.cloud import storage
    self.url = url
    self.what = what
    self.lease_s = lease_seconds() if lease_s is None else lease_s
    bucket, self.name = _split_gs(url)
    # project=None: no project is needed to read and write objects, and none is looked up.
    self._bucket = (client or storage.Client(project=None)).bucket(bucket)
    self.token = uuid.uuid4().hex
    self.holder = f"{socket.gethostname()} pid {os.getpid()}"
    self.generation: Optional[int] = None
    self._lost: Optional[str] = None
    self._renewed_at = 0.0
    self._guard = threading.Lock()
    self._stop = threading.Event()
    self._heartbeat: Optional[threading.Thread] = None

  # What the lock object holds: who, and how long they promise to renew within.
  def _content(self) -> str:
    return json.dumps({"holder": self.holder, "token": self.token, "lease_s": self.lease_s,
                       "dataset": self.what, "renewed": time.time()})

  def _write(self, if_generation_match: int) -> int:
    blob = self._bucket.blob(self.name)
    blob.upload_from_string(self._content(), content_type="application/json",
                            if_generation_match=if_generation_match)
    return int(blob.generation)

  def _read_content(self, blob, generation: int) -> Optional[dict]:
    """The lock's content at that generation, or None if it is no longer that generation."""
    from google.api_core import exceptions
    try:
      return json.loads(blob.download_as_bytes(if_generation_match=generation))
    except (exceptions.NotFound, exceptions.PreconditionFailed):
      return None
    except ValueError:
      return {}  # not written by this module: still a lock, of an unknown holder

  def acquire(self, ready: Callable[[], bool] = lambda: False) -> bool:
    """Waits for the lock and takes it (True), or returns False as soon as `ready()` is true."""
    from google.api_core import exceptions
    poll = min(5.0, self.lease_s / 6)
    seen_generation, seen_at, holder, waiting_since = None, 0.0, {}, None
    while True:
      if waiting_since is not None and ready():
        self._log_done_waiting(waiting_since)
        return False
      # A waiter reads the lock's metadata only (one request a poll, whatever the number of
      # hosts), its content only when its generation changes, and writes only to take it.
      blob = self._bucket.get_blob(self.name)
      if blob is None:
        try:
          self.generation = self._write(if_generation_match=0)
          break
        except exceptions.PreconditionFailed:
          if waiting_since is None and ready():
            return False
          continue  # another build was first: look at its lock
      generation = int(blob.generation)
      if generation != seen_generation:
        content = self._read_content(blob, generation)
        if content is None:
          continue  # rewritten or released while read
        if content.get("token") == self.token:
          self.generation = generation  # our own create, retried after its answer was lost
          break
        seen_generation, seen_at, holder = generation, time.monotonic(), content
        if waiting_since is None:
          if ready():
            return False
          waiting_since = seen_at
          log.warning("%s: another build of this dataset is running (%s, lock %s); waiting for "
                      "it to finish", self.what, holder.get("holder", "unknown"), self.url)
      else:
        holder_lease = float(holder.get("lease_s") or self.lease_s)
        silent = time.monotonic() - seen_at
        if silent > max(holder_lease, self.lease_s):
          try:
            self.generation = self._write(if_generation_match=generation)
          except exceptions.PreconditionFailed:
            continue
          log.warning("%s: the build lock %s of %s was not renewed for %.0f s (its lease is "
                      "%.0f s): that build is gone; taking the lock over", self.what, self.url,
                      holder.get("holder", "unknown"), silent, holder_lease)
          break
      time.sleep(poll * random.uniform(0.75, 1.25))  # hosts started together do not poll together
    self._renewed_at = time.monotonic()
    self._log_done_waiting(waiting_since)
    self._stop.clear()
    self._heartbeat = threading.Thread(target=self._beat, name=f"lease {self.url}", daemon=True)
    self._heartbeat.start()
    return True

  def _log_done_waiting(self, waiting_since):
    if waiting_since is not None:
      log.warning("%s: the other build finished after %.0f s; going on", self.what,
                  time.monotonic() - waiting_since)

  def renew(self) -> None:
    """Rewrites the lock if it is still ours; raises LockLost if it is not."""
    from google.api_core import exceptions
    with self._guard:
      if self._lost:
        raise LockLost(self._lost)
      try:
        self.generation = self._write(if_generation_match=self.generation)
        self._renewed_at = time.monotonic()
      except (exceptions.PreconditionFailed, exceptions.NotFound):
        self._lost = (f"{self.what}: the build lock {self.url} was taken over by another build "
                      f"(this one did not renew it within its {self.lease_s:.0f} s lease); "
                      "this build publishes nothing")
        raise LockLost(self._lost) from None

  def _beat(self) -> None:
    while not self._stop.wait(self.lease_s / 6):
      try:
        self.renew()
      except LockLost as e:
        log.error("%s", e)
        return
      except Exception as e:  # noqa: BLE001  (a network error: try again at the next beat)
        if time.monotonic() - self._renewed_at > self.lease_s:
          with self._guard:
            self._lost = (f"{self.what}: could not renew the build lock {self.url} for a whole "
                          f"lease ({self.lease_s:.0f} s; last error: {e}); this build publishes "
                          "nothing")
          log.error("%s", self._lost)
          return
        log.warning("%s: renewing the build lock %s failed (%s); trying again", self.what,
                    self.url, e)

  def release(self) -> None:
    from google.api_core import exceptions
    self._stop.set()
    if self._heartbeat is not None:
      self._heartbeat.join()
    with self._guard:
      if self._lost or self.generation is None:
        return
      try:
        self._bucket.blob(self.name).delete(if_generation_match=self.generation)
      except (exceptions.PreconditionFailed, exceptions.NotFound):
        pass
      self.generation = None


# ------------------------------------------------------------------------------------------------
# Build, then publish with the commit marker last.

_local = threading.local()
_tfds_incomplete_dir = None
_warned_unlocked = set()


def _install_publishing_hook() -> None:
  """TFDS renames incomplete.* to the version folder in `utils.incomplete_dir`; for the dataset
  being built here into a bucket (and nothing else: every other call goes to TFDS's own), the
  rename becomes `_publish`."""
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
def _incomplete_then_publish(final: epath.Path, lease: Optional[BucketLease],
                             overwrite: bool) -> Iterator[str]:
  from tensorflow_datasets.core.utils import file_utils
  tmp = epath.Path(file_utils._get_incomplete_dir(os.fspath(final)))  # noqa: SLF001
  tmp.mkdir(parents=True, exist_ok=True)
  try:
    yield os.fspath(tmp)
    _publish(tmp, final, lease, overwrite)
  finally:
    if tmp.exists():
      tmp.rmtree()


def _files_under(folder: epath.Path, prefix: str = "") -> Iterator[str]:
  for path in sorted(folder.iterdir()):
    if path.is_dir():
      yield from _files_under(path, f"{prefix}{path.name}/")
    else:
      yield prefix + path.name


def publish_file(source: epath.Path, target: epath.Path) -> None:
  """One object moved: in GCS a server-side rewrite and a delete (TensorFlow's `copy` would
  stream every byte through this host). A module function, so that a test can stop here."""
  source.replace(target)


def _publish(tmp: epath.Path, final: epath.Path, lease: Optional[BucketLease],
             overwrite: bool) -> None:
  files = [f for f in _files_under(tmp) if f != COMMIT_MARKER]
  if lease is not None:
    lease.renew()  # still ours: a lease from now on, longer than publishing takes
  if overwrite and final.exists():
    (final / COMMIT_MARKER).unlink(missing_ok=True)  # no longer a dataset, then gone
    final.rmtree()
  final.mkdir(parents=True, exist_ok=True)
  for name in files:
    publish_file(tmp / name, final / name)
  if lease is not None:
    lease.renew()
  publish_file(tmp / COMMIT_MARKER, final / COMMIT_MARKER)  # the commit


@contextlib.contextmanager
def _publishing(data_path: epath.Path, lease: Optional[BucketLease]):
  _install_publishing_hook()
  previous = getattr(_local, "publishing", None)
  _local.publishing = (os.fspath(data_path).rstrip("/"), lease)
  try:
    yield
  finally:
    _local.publishing = previous


def check_committed(what: str, data_path) -> None:
  """Raises TFDS's "not generated" AssertionError for a version folder without its commit."""
  data_path = epath.Path(data_path)
  if data_path.exists() and not (data_path / COMMIT_MARKER).exists():
    raise AssertionError(
        f"Dataset {what} is not ready in {data_path}: the folder holds no {COMMIT_MARKER} (a "
        "build is publishing it now, or one was killed while publishing it; the next build "
        "removes it). Call download_and_prepare() first (tfds.load does, unless download=False).")


def _remove_leftovers(data_path: epath.Path) -> None:
  """With the lock held: anything of this version not committed was left by a killed build."""
  for stale in sorted(data_path.parent.glob(f"incomplete.*_{data_path.name}")):
    log.warning("Removing %s, left by a build that was killed", stale)
    stale.rmtree()
  if data_path.exists() and not (data_path / COMMIT_MARKER).exists():
    log.warning("Removing %s, left half-published by a build that was killed", data_path)
    data_path.rmtree()


def _lease_for(builder, data_path: epath.Path) -> Optional[BucketLease]:
  url = os.fspath(data_path.parent / f".{data_path.name}.lock")
  what = builder.info.full_name
  why = None
  if not url.startswith("gs://"):
    why = "the build lock is implemented for gs:// buckets only"
  else:
    try:
      return BucketLease(url, what)
    except ImportError:
      why = ("google-cloud-storage is not installed (pip install 'tfds_builders[cloud]')")
    except Exception as e:  # noqa: BLE001  (no credentials, typically)
      why = f"the GCS client could not be set up ({type(e).__name__}: {e})"
  if url not in _warned_unlocked:
    _warned_unlocked.add(url)
    log.warning("%s: builds into %s are not coordinated: %s. Concurrent builds of this dataset "
                "each generate it, and folders left by a killed build are not removed (a "
                "dataset is still published with its dataset_info.json last, so half of one is "
                "never read as a dataset)", what, data_path.parent, why)
  return None


def prepare_in_bucket(builder, prepare: Callable[[], None], overwrite: bool) -> None:
  """Runs `prepare` (TFDS's download_and_prepare) for a builder whose data dir is a bucket."""
  data_path = epath.Path(builder.data_path)
  committed = data_path / COMMIT_MARKER
  if not overwrite and committed.exists():
    return prepare()  # there whole: TFDS reuses it, no lock needed
  lease = _lease_for(builder, data_path)
  if lease is None:
    with _publishing(data_path, None):
      return prepare()
  if not lease.acquire(ready=lambda: not overwrite and committed.exists()):
    # Another build made it. This builder read its info before the dataset existed (no splits):
    # read the info that build wrote, so that as_dataset (and tfds.load) work on this builder.
    builder.info.read_from_directory(data_path)
    return prepare()
  try:
    log.info("%s: holding the build lock %s", builder.info.full_name, lease.url)
    _remove_leftovers(data_path)
    if not overwrite and committed.exists():
      builder.info.read_from_directory(data_path)
    with _publishing(data_path, lease):
      return prepare()
  finally:
    lease.release()


__all__ = ["BucketLease", "LockLost", "LEASE_ENV", "lease_seconds", "prepare_in_bucket"]
