"""The build lock of a bucket (`gs://`) data dir: a lease object, for `build_lock.prepare`.

On a TPU pod every host runs the same script, and `tfds.load(name, data_dir="gs://...")` on each
prepares the dataset if it is not there. A bucket has no file locks; instead:

- **A lease object** `<dataset dir>/.<version>.lock`, created only if absent (GCS's generation
  precondition `ifGenerationMatch=0`: of N hosts creating it at once, exactly one succeeds). Its
  holder rewrites it every lease/6 seconds, each time only if it is still the generation it wrote
  (`ifGenerationMatch=<its generation>`). A rewrite whose answer was lost and that the client
  retried gets a 412 although it succeeded: the holder then reads the object, and its own token
  there means it still holds the lock (as `acquire` does for its create). The others wait,
  polling. A lock whose generation has not changed for a whole lease, timed on the waiter's own
  clock (no clocks are compared across hosts), is left by a dead holder: a waiter takes it over by
  rewriting exactly that generation, so only one of them does.
- **A lost lock stops the build.** A holder that finds its lock taken over, or could not renew it
  for a whole lease, marks it lost; the build stops at its next example (`LockLost`) and publishes
  nothing (see `build_lock`).

The lock needs google-cloud-storage (`pip install 'tfds_builders[cloud]'`; Colab has it, gcsfs
depends on it) and credentials for it; without either, `LeaseUnavailable` says which, and the
build goes on uncoordinated (see `build_lock`). Any other error stops the build.

`TFDS_BUILDERS_BUCKET_LOCK_LEASE_S` (seconds, default 180) sets the lease: how long a build
killed while holding the lock keeps the others waiting.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from typing import Callable, Optional

from tfds_builders import download
from tfds_builders.build_lock import BuildLock, LockLost, log_done_waiting, log_waiting
from tfds_builders.errors import ConfigurationError

log = logging.getLogger("tfds_builders.build")

LEASE_ENV = "TFDS_BUILDERS_BUCKET_LOCK_LEASE_S"
DEFAULT_LEASE_S = 180.0


class LeaseUnavailable(RuntimeError):
  """No lease can be had here: google-cloud-storage is missing, or it finds no credentials."""


def lease_seconds() -> float:
  # Read as every other number the package takes from the environment (download.number_from_env);
  # a lease of 0 would make every lock look stale at once.
  lease = download.number_from_env(LEASE_ENV, DEFAULT_LEASE_S, "seconds")
  if lease <= 0:
    raise ConfigurationError(f"the environment variable {LEASE_ENV}={lease:g} must be above 0 "
                             f"(default {DEFAULT_LEASE_S:g}) or unset")
  return lease


def _split_gs(url: str) -> tuple[str, str]:
  rest = url[len("gs://"):]
  bucket, _, name = rest.partition("/")
  return bucket, name


class BucketLease(BuildLock):
  """An exclusive lease on one object of a bucket (see the module's doc)."""

  def __init__(self, url: str, what: str, lease_s: Optional[float] = None, client=None):
    self.url = url
    self.what = what
    self.lease_s = lease_seconds() if lease_s is None else lease_s
    bucket, self.name = _split_gs(url)
    if client is None:
      try:
        import google.cloud.storage as storage
      except ModuleNotFoundError as e:
        if e.name not in ("google", "google.cloud", "google.cloud.storage"):
          raise  # installed, but broken: not a case to go on without the lock
        raise LeaseUnavailable("google-cloud-storage is not installed (pip install "
                               "'tfds_builders[cloud]')") from e
      import google.auth.exceptions
      try:
        # project=None: no project is needed to read and write objects, and none is looked up.
        client = storage.Client(project=None)
      except google.auth.exceptions.DefaultCredentialsError as e:
        raise LeaseUnavailable(f"google-cloud-storage finds no credentials ({e})") from e
    self._bucket = client.bucket(bucket)
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
    from google.api_core import exceptions
    poll = min(5.0, self.lease_s / 6)
    seen_generation, seen_at, holder, waiting_since = None, 0.0, {}, None
    while True:
      if waiting_since is not None and ready():
        log_done_waiting(self.what, waiting_since)
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
          waiting_since = log_waiting(self.what, holder.get("holder", "unknown"), self.url)
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
    log_done_waiting(self.what, waiting_since)
    self._stop.clear()
    self._heartbeat = threading.Thread(target=self._beat, name=f"lease {self.url}", daemon=True)
    self._heartbeat.start()
    return True

  def _own_generation(self) -> Optional[int]:
    """The lock's live generation if it holds this lease's token (a write of ours whose answer
    was lost), else None."""
    blob = self._bucket.get_blob(self.name)
    if blob is None:
      return None
    generation = int(blob.generation)
    content = self._read_content(blob, generation)
    return generation if content and content.get("token") == self.token else None

  def check(self) -> None:
    if self._lost:
      raise LockLost(self._lost)

  def renew(self) -> None:
    """Rewrites the lock if it is still ours; raises LockLost if it is not."""
    from google.api_core import exceptions
    with self._guard:
      self.check()
      try:
        self.generation = self._write(if_generation_match=self.generation)
      except (exceptions.PreconditionFailed, exceptions.NotFound):
        generation = self._own_generation()
        if generation is None:
          self._lost = (f"{self.what}: the build lock {self.url} was taken over by another build "
                        f"(this one did not renew it within its {self.lease_s:.0f} s lease); "
                        "this build stops and publishes nothing")
          raise LockLost(self._lost) from None
        self.generation = generation  # a retry of a rewrite that had succeeded
      self._renewed_at = time.monotonic()

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
                          f"lease ({self.lease_s:.0f} s; last error: {e}); this build stops and "
                          "publishes nothing")
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


__all__ = ["BucketLease", "LEASE_ENV", "LeaseUnavailable", "LockLost", "lease_seconds"]
