"""Builds into a bucket data dir (`gs://`): one build at a time, the others wait and then read it;
a build killed at any point leaves nothing taken for a dataset, and the next build succeeds.

The build lock (tfds_builders.bucket_lock) is a lease object created with GCS's generation
precondition. gcp-storage-emulator ignores generation preconditions (the first test shows it);
support.tf_gcs implements them in the emulator's process, as GCS documents them. The builds run as
on a TPU pod: separate processes, TFDS writing and reading shards through TensorFlow's own GCS file
system, in the sandbox of support.tf_gcs (TensorFlow's client cannot be pointed elsewhere).
"""

import itertools
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import types
import uuid

import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from support import tf_gcs
from tfds_builders import bucket_lock, build_lock
from tfds_builders.builder_base import sample_sources_dir
from tfds_builders.errors import ConfigurationError

BUCKET = "tfds-builders-lock"
COUNTS = '{"test": 12, "train": 24}'

needs_sandbox = pytest.mark.skipif(
    tf_gcs.Sandbox.unavailable_reason() is not None,
    reason=f"TensorFlow's GCS route: {tf_gcs.Sandbox.unavailable_reason()}")


def _client(emulator, monkeypatch):
  from google.cloud import storage
  monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.host)
  return storage.Client(project=None)


def test_the_emulator_ignores_generation_preconditions_unless_the_tests_add_them(tmp_path,
                                                                                monkeypatch):
  from google.api_core import exceptions
  with tf_gcs.Emulator(tmp_path / "as_shipped", ["b"], preconditions=False) as emulator:
    bucket = _client(emulator, monkeypatch).bucket("b")
    bucket.blob("lock").upload_from_string("first", if_generation_match=0)
    bucket.blob("lock").upload_from_string("second", if_generation_match=0)  # GCS: 412
    assert bucket.blob("lock").download_as_bytes() == b"second"
  with tf_gcs.Emulator(tmp_path / "patched", ["b"]) as emulator:
    bucket = _client(emulator, monkeypatch).bucket("b")
    first = bucket.blob("lock")
    first.upload_from_string("first", if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
      bucket.blob("lock").upload_from_string("second", if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
      bucket.blob("lock").delete(if_generation_match=first.generation + 1)
    replaced = bucket.blob("lock")
    replaced.upload_from_string("third", if_generation_match=first.generation)
    assert replaced.generation != first.generation
    assert bucket.blob("lock").download_as_bytes() == b"third"
    bucket.blob("lock").delete(if_generation_match=replaced.generation)
    assert bucket.get_blob("lock") is None


def test_a_lease_its_holder_stops_renewing_is_taken_over_and_the_holder_loses_it(
    tmp_path, monkeypatch, caplog):
  with tf_gcs.Emulator(tmp_path, ["b"]) as emulator:
    client = _client(emulator, monkeypatch)
    url = "gs://b/tfds/mnist_idx/.1.0.0.lock"
    first = bucket_lock.BucketLease(url, "mnist_idx/1.0.0", lease_s=1.0, client=client)
    second = bucket_lock.BucketLease(url, "mnist_idx/1.0.0", lease_s=1.0, client=client)
    assert first.acquire()
    # While the holder renews, a second build waits, well past one lease (it gives up here
    # only because `ready` says the dataset is there).
    start = time.monotonic()
    assert not second.acquire(ready=lambda: time.monotonic() - start > 3)
    assert first.renew() is None
    # The holder stops renewing, as a killed process does; the waiter takes over after a lease.
    first._stop.set()  # noqa: SLF001
    first._heartbeat.join()  # noqa: SLF001
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="tfds_builders"):
      assert second.acquire()
    assert time.monotonic() - start >= 1.0
    assert any(m.startswith(f"mnist_idx/1.0.0: the build lock {url} of ") and
               m.endswith("that build is gone; taking the lock over") for m in caplog.messages)
    with pytest.raises(bucket_lock.LockLost):
      first.renew()  # and so it publishes nothing
    first.release()  # not its lock any more: nothing deleted
    assert client.bucket("b").get_blob("tfds/mnist_idx/.1.0.0.lock") is not None
    second.release()
    assert client.bucket("b").get_blob("tfds/mnist_idx/.1.0.0.lock") is None


# ------------------------------------------------------------------------------------------------
# The lock's holes, each closed: in this process, on the emulator, through gcsfs.

WHAT = "mnist_idx/1.0.0"


def _ours(caplog):
  """This package's log lines (gcsfs logs its own retries against the emulator)."""
  return [r.getMessage() for r in caplog.records if r.name.startswith("tfds_builders")]


def _builder(data_path):
  return types.SimpleNamespace(data_path=data_path, info=types.SimpleNamespace(full_name=WHAT))


def test_a_bad_lease_setting_stops_a_bucket_build_with_its_message(monkeypatch, no_network):
  monkeypatch.setenv(bucket_lock.LEASE_ENV, "banana")
  prepared = []
  with pytest.raises(ConfigurationError) as e:
    build_lock.prepare(_builder("gs://b/tfds/mnist_idx/1.0.0"), lambda: prepared.append(1),
                       overwrite=False)
  assert str(e.value) == (
      "the environment variable TFDS_BUILDERS_BUCKET_LOCK_LEASE_S='banana' is not a number of "
      "seconds; set it to a positive number (default 180) or unset it")
  assert prepared == []  # before any request, and before anything was built


def test_only_a_missing_library_or_missing_credentials_leave_a_bucket_build_uncoordinated(
    monkeypatch, caplog, no_network):
  import google.auth.exceptions
  from google.cloud import storage
  from etils import epath
  monkeypatch.setattr(build_lock, "_warned_unlocked", set())
  data_path = epath.Path("gs://b/tfds/mnist_idx/1.0.0")

  def client_raising(error):
    def client(*args, **kwargs):
      raise error
    return client

  # A bug while setting the lease up is nobody's "no credentials": it stops the build.
  monkeypatch.setattr(storage, "Client", client_raising(TypeError("a bug")))
  with pytest.raises(TypeError, match="^a bug$"):
    build_lock.lock_for(WHAT, data_path)
  with caplog.at_level(logging.WARNING, logger="tfds_builders"):
    monkeypatch.setattr(storage, "Client", client_raising(
        google.auth.exceptions.DefaultCredentialsError("Your default credentials were not found")))
    for _ in range(2):  # one line a data dir
      assert build_lock.lock_for(WHAT, data_path) is None
    monkeypatch.setattr(build_lock, "_warned_unlocked", set())
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)  # as if not installed
    assert build_lock.lock_for(WHAT, data_path) is None
  rest = ("Concurrent builds of this dataset each generate it (the first to commit wins); a "
          "version folder without dataset_info.json is never read as a dataset, one left by a "
          "killed publish is replaced once it has not changed for 180 s, and incomplete.* folders "
          "of killed builds are left in place")
  assert caplog.messages == [
      "mnist_idx/1.0.0: builds into gs://b/tfds/mnist_idx are not coordinated: "
      "google-cloud-storage finds no credentials (Your default credentials were not found). "
      + rest,
      "mnist_idx/1.0.0: builds into gs://b/tfds/mnist_idx are not coordinated: "
      "google-cloud-storage is not installed (pip install 'tfds_builders[cloud]'). " + rest]


def test_a_retried_renewal_whose_first_attempt_succeeded_keeps_the_lock(tmp_path, monkeypatch):
  from google.cloud import storage
  with tf_gcs.Emulator(tmp_path, ["b"]) as emulator:
    client = _client(emulator, monkeypatch)
    url = "gs://b/tfds/mnist_idx/.1.0.0.lock"
    lease = bucket_lock.BucketLease(url, WHAT, lease_s=600.0, client=client)
    assert lease.acquire()
    upload = storage.Blob.upload_from_string

    def answer_lost_then_retried(blob, *args, **kwargs):
      upload(blob, *args, **kwargs)  # done, but its answer never came back: the client retries
      upload(storage.Blob(blob.name, blob.bucket), *args, **kwargs)  # a real 412 from the server

    monkeypatch.setattr(storage.Blob, "upload_from_string", answer_lost_then_retried)
    before = lease.generation
    lease.renew()  # the retry's 412 is its own first attempt: still the holder
    monkeypatch.setattr(storage.Blob, "upload_from_string", upload)
    live = client.bucket("b").get_blob("tfds/mnist_idx/.1.0.0.lock")
    assert lease.generation == live.generation != before
    lease.renew()
    lease.check()
    lease.release()
    assert client.bucket("b").get_blob("tfds/mnist_idx/.1.0.0.lock") is None


@pytest.fixture
def gcsfs_bucket(tmp_path, monkeypatch):
  """An emulator bucket "b" that this process's epath reaches through gcsfs."""
  from support.gcs_emulator import forget_epath_backend_choice
  with tf_gcs.Emulator(tmp_path / "emulator", ["b"]) as emulator:
    for key, value in emulator.env("gcsfs").items():
      monkeypatch.setenv(key, value)
    forget_epath_backend_choice()
    try:
      yield emulator
    finally:
      monkeypatch.undo()
      forget_epath_backend_choice()


class FakeBuild:
  """What TFDS's download_and_prepare does, as far as the lock sees it: reuse a folder that
  exists, else build into incomplete_dir (ours, while build_lock publishes) and write
  dataset_info.json; examples come from a `_generate_examples` wrapped as the builders' are."""

  def __init__(self, data_path, examples):
    self.data_path = data_path
    self.info = types.SimpleNamespace(full_name=WHAT, read_from_directory=lambda path: None)
    self.examples = examples
    self.generated = 0

  @build_lock.stops_when_lock_lost
  def _generate_examples(self):
    yield from self.examples

  def download_and_prepare(self):
    from etils import epath
    from tensorflow_datasets.core import utils as tfds_utils
    if epath.Path(self.data_path).exists():
      return
    with tfds_utils.incomplete_dir(self.data_path) as tmp:
      for _ in self._generate_examples():
        self.generated += 1
      (epath.Path(tmp) / "mnist_idx-train.tfrecord-00000-of-00001").write_text("examples")
      (epath.Path(tmp) / "dataset_info.json").write_text("{}")


def test_a_lost_lock_stops_the_build_at_its_next_example(gcsfs_bucket, monkeypatch, caplog):
  from etils import epath
  monkeypatch.setenv(bucket_lock.LEASE_ENV, "1.2")
  client = _client(gcsfs_bucket, monkeypatch)
  data_path = "gs://b/lost/mnist_idx/1.0.0"
  stolen = threading.Event()

  def endless():
    for i in itertools.count():
      if i == 3:  # while it generates, another build takes the lock over
        client.bucket("b").blob("lost/mnist_idx/.1.0.0.lock").upload_from_string(
            json.dumps({"holder": "another host", "token": "theirs", "lease_s": 3600}))
        stolen.set()
      time.sleep(0.01)
      yield i

  build = FakeBuild(data_path, endless())
  start = time.monotonic()
  with caplog.at_level(logging.ERROR, logger="tfds_builders"), pytest.raises(
      build_lock.LockLost) as e:
    build_lock.prepare(build, build.download_and_prepare, overwrite=False)
  # Stopped within a few renewals (one every lease/6 = 0.2 s), not at publish: the build never ends.
  assert stolen.is_set() and time.monotonic() - start < 30
  assert str(e.value) == (
      "mnist_idx/1.0.0: the build lock gs://b/lost/mnist_idx/.1.0.0.lock was taken over by "
      "another build (this one did not renew it within its 1 s lease); this build stops and "
      "publishes nothing")
  assert _ours(caplog) == [str(e.value)]  # said once, by the renewing thread
  assert sorted(b.name for b in client.list_blobs("b")) == ["lost/mnist_idx/.1.0.0.lock"]
  assert json.loads(client.bucket("b").blob("lost/mnist_idx/.1.0.0.lock").download_as_bytes())[
      "token"] == "theirs"  # the other build's lock, untouched
  assert not epath.Path(data_path).exists()


def test_a_failure_while_releasing_never_fails_a_committed_build(gcsfs_bucket, monkeypatch,
                                                                 caplog):
  import requests
  from etils import epath
  from google.cloud import storage
  client = _client(gcsfs_bucket, monkeypatch)
  data_path = "gs://b/release/mnist_idx/1.0.0"

  def connection_reset(*args, **kwargs):
    raise requests.exceptions.ConnectionError("Connection reset by peer")

  monkeypatch.setattr(storage.Blob, "delete", connection_reset)
  build = FakeBuild(data_path, range(5))
  with caplog.at_level(logging.WARNING, logger="tfds_builders"):
    build_lock.prepare(build, build.download_and_prepare, overwrite=False)
  assert build.generated == 5
  assert _ours(caplog) == [
      "mnist_idx/1.0.0: could not release the build lock gs://b/release/mnist_idx/.1.0.0.lock "
      "(ConnectionError: Connection reset by peer); it expires by itself"]
  assert sorted(b.name for b in client.list_blobs("b")) == [
      "release/mnist_idx/.1.0.0.lock", "release/mnist_idx/1.0.0/dataset_info.json",
      "release/mnist_idx/1.0.0/mnist_idx-train.tfrecord-00000-of-00001"]
  assert (epath.Path(data_path) / "dataset_info.json").read_text() == "{}"


def test_the_lease_comes_from_the_environment(monkeypatch):
  monkeypatch.delenv(bucket_lock.LEASE_ENV, raising=False)
  assert bucket_lock.lease_seconds() == 180.0
  monkeypatch.setenv(bucket_lock.LEASE_ENV, "2.5")
  assert bucket_lock.lease_seconds() == 2.5
  monkeypatch.setenv(bucket_lock.LEASE_ENV, "soon")
  with pytest.raises(ValueError) as e:
    bucket_lock.lease_seconds()
  assert str(e.value) == (
      "the environment variable TFDS_BUILDERS_BUCKET_LOCK_LEASE_S='soon' is not a number of "
      "seconds; set it to a positive number (default 180) or unset it")
  monkeypatch.setenv(bucket_lock.LEASE_ENV, "0")
  with pytest.raises(ValueError) as e:
    bucket_lock.lease_seconds()
  assert str(e.value) == ("the environment variable TFDS_BUILDERS_BUCKET_LOCK_LEASE_S=0 must be "
                          "above 0 (default 180) or unset")


# ------------------------------------------------------------------------------------------------
# Whole builds in separate processes, through TensorFlow's GCS file system.

@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
  with tf_gcs.Sandbox(tmp_path_factory.mktemp("lock_sandbox"), [BUCKET]) as box:
    yield box


@pytest.fixture(scope="module")
def single_process_build(tmp_path_factory):
  return tf_gcs.single_process_examples(tmp_path_factory.mktemp("local"))


class Build:
  """`tf_gcs.py build` of mnist_idx in the sandbox, its output in files."""

  def __init__(self, sandbox, folder, data_dir, tag, *extra, lease_s=None):
    self.out, self.err = folder / f"{tag}.out", folder / f"{tag}.err"
    env = dict(sandbox.env("tf"), TF_CPP_MIN_LOG_LEVEL="2")
    if lease_s is not None:
      env[bucket_lock.LEASE_ENV] = str(lease_s)
    (folder / tag).mkdir()
    self.dump = folder / tag
    with open(self.out, "w") as out, open(self.err, "w") as err:
      self.process = sandbox.popen(
          [sys.executable, str(tf_gcs.HERE), "build", "--data-dir", data_dir, "--manual-dir",
           str(sample_sources_dir()), "--name", "mnist_idx", "--dump", str(self.dump),
           "--count", str(folder / "generated"), *map(str, extra)],
          env=env, stdout=out, stderr=err)

  def lines(self):
    return self.out.read_text().splitlines()

  def wait(self, timeout=300):
    try:
      self.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      self.process.kill()
      self.process.wait()
    # A string, which pytest shows whole (a tuple's repr it cuts to a line).
    assert self.process.returncode == 0, (
        f"exit {self.process.returncode}\n--- stdout\n{self.out.read_text()[-3000:]}\n"
        f"--- stderr\n{self.err.read_text()[-5000:]}")

  def examples(self):
    [dump] = self.dump.glob("mnist_idx.*.pkl")
    with open(dump, "rb") as f:
      return pickle.load(f)


def _wait_for(condition, what, builds, timeout=240):
  deadline = time.monotonic() + timeout
  while not condition():
    for build in builds:
      assert build.process.poll() is None, (
          f"{what}: a build exited {build.process.returncode}\n--- stdout\n"
          f"{build.out.read_text()[-3000:]}\n--- stderr\n{build.err.read_text()[-5000:]}")
    assert time.monotonic() < deadline, what
    time.sleep(0.1)


def _listing(sandbox, prefix):
  """Object names under gs://BUCKET/<prefix>, relative to it (TensorFlow's folder markers, the
  empty objects `name/`, included)."""
  run = sandbox.popen([sys.executable, str(tf_gcs.HERE), "list", f"gs://{BUCKET}/{prefix}"],
                      env=sandbox.env("tf"), stdout=subprocess.PIPE, text=True)
  out = run.communicate(timeout=120)[0]
  assert run.returncode == 0
  return sorted(n[len(prefix):] for n in out.split() if n != prefix)


def _kill(marker):
  pid = int(marker.read_text())
  os.kill(pid, signal.SIGKILL)


N_BUILDS = 3


@needs_sandbox
def test_builds_at_once_into_one_bucket_make_the_dataset_once_and_all_read_it(
    sandbox, tmp_path, single_process_build):
  prefix = f"{uuid.uuid4().hex}/tfds/"
  data_dir = f"gs://{BUCKET}/{prefix}"
  go = tmp_path / "go"
  # The generating build takes a second longer, so that the others are surely still starting
  # while it runs, as on a pod whose hosts start the same script at once.
  builds = [Build(sandbox, tmp_path, data_dir, f"build{i}", "--wait-for", go,
                  "--slow-generation", 1) for i in range(N_BUILDS)]
  _wait_for(lambda: all("ready" in b.lines() for b in builds), "all started", builds)
  go.touch()  # all at the same moment
  for build in builds:
    build.wait()

  # Exactly one process generated the examples (one call per split), the others waited for it.
  generated = (tmp_path / "generated").read_text().splitlines()
  assert len({line.split()[0] for line in generated}) == 1, generated
  assert sorted(line.split(" ", 1)[1] for line in generated) == ["mnist_idx/1.0.0"] * 2
  generator_pid = generated[0].split()[0]
  lock_url = f"{data_dir}mnist_idx/.1.0.0.lock"
  holders = [b for b in builds if f"mnist_idx/1.0.0: holding the build lock {lock_url}"
             in b.lines()]
  assert len(holders) == 1
  for build in builds:
    lines = build.lines()
    assert f"read mnist_idx {COUNTS}" in " ".join(lines), lines
    if build is holders[0]:
      assert not any("waiting for it to finish" in line for line in lines), lines
      continue
    waiting = [line for line in lines if line.startswith(
        "mnist_idx/1.0.0: another build of this dataset is running (")]
    assert waiting == [f"mnist_idx/1.0.0: another build of this dataset is running "
                       f"({os.uname().nodename} pid {generator_pid}, lock {lock_url}); "
                       "waiting for it to finish"], lines
    assert any(line.startswith("mnist_idx/1.0.0: the other build finished after ")
               for line in lines), lines
  # Every process read the one dataset, and it is the single-process build, example by example.
  for build in builds:
    assert build.examples() == single_process_build
  # One version folder, committed (dataset_info.json), nothing else: no incomplete.*, no lock.
  listing = _listing(sandbox, prefix + "mnist_idx/")
  assert all(name.startswith("1.0.0/") for name in listing), listing
  assert "1.0.0/dataset_info.json" in listing


@needs_sandbox
def test_a_build_killed_at_any_point_leaves_no_dataset_and_the_next_build_succeeds(
    sandbox, tmp_path, single_process_build):
  prefix = f"{uuid.uuid4().hex}/tfds/"
  data_dir = f"gs://{BUCKET}/{prefix}"
  lock_url = f"{data_dir}mnist_idx/.1.0.0.lock"
  lease_s = 3

  # 1. Killed while generating: its lock and its incomplete.* folder stay behind.
  stalled = tmp_path / "stalled_generating"
  first = Build(sandbox, tmp_path, data_dir, "first", "--stall-generation", stalled,
                lease_s=lease_s)
  _wait_for(stalled.exists, "the first build generating", [first])
  _kill(stalled)
  first.process.wait()
  left = _listing(sandbox, prefix + "mnist_idx/")
  assert ".1.0.0.lock" in left
  assert any(name.startswith("incomplete.") for name in left), left
  assert not any(name.startswith("1.0.0/") for name in left), left

  # 2. The next build takes the dead build's lock over after its lease, removes its folder, and
  # is killed in turn while publishing: 1.0.0/ holds some files, not dataset_info.json.
  stalled = tmp_path / "stalled_publishing"
  second = Build(sandbox, tmp_path, data_dir, "second", "--probe-first", "--stall-publish",
                 stalled, lease_s=lease_s)
  _wait_for(stalled.exists, "the second build publishing", [second])
  _kill(stalled)
  second.process.wait()
  lines = second.lines()
  assert lines[:2] == ["ready", "probe mnist_idx splits={} load=AssertionError"], lines
  assert any(line.startswith(f"mnist_idx/1.0.0: the build lock {lock_url} of ") and
             line.endswith("taking the lock over") for line in lines), lines
  [removed] = [name for name in left if name.startswith("incomplete.")][:1]
  removed = removed.split("/")[0]
  assert (f"Removing {data_dir}mnist_idx/{removed}, left by a build that was killed"
          in lines), lines
  half = [name for name in _listing(sandbox, prefix + "mnist_idx/")
          if name.startswith("1.0.0/") and name != "1.0.0/"]
  assert len(half) == 2 and "1.0.0/dataset_info.json" not in half, half

  # 3. A reader finds no dataset in the half-published folder, and the next build removes it,
  # takes the lock over, and makes the dataset of a single-process build.
  third = Build(sandbox, tmp_path, data_dir, "third", "--probe-first", lease_s=lease_s)
  third.wait()
  lines = third.lines()
  assert lines[:2] == ["ready", "probe mnist_idx splits={} load=AssertionError"], lines
  assert any(line.endswith("taking the lock over") for line in lines), lines
  assert (f"Removing {data_dir}mnist_idx/1.0.0, left half-published by a build that was killed"
          in lines), lines
  assert f"read mnist_idx {COUNTS}" in " ".join(lines), lines
  assert third.examples() == single_process_build
  listing = _listing(sandbox, prefix + "mnist_idx/")
  assert all(name.startswith("1.0.0/") for name in listing), listing
  assert "1.0.0/dataset_info.json" in listing
