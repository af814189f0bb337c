"""Killed and concurrent builds: a stale incomplete.* folder is removed by the next build, and a
second build of the same dataset into the same data dir waits for the first instead of dying."""

import fcntl
import logging
import os
import re
import subprocess
import sys
import threading
import time

import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import DUMMY_DATA

SOURCES = DUMMY_DATA / "mnist_idx"


def config():
  return tfds.download.DownloadConfig(manual_dir=SOURCES)


def test_stale_incomplete_folder_of_a_killed_build_is_removed_by_the_next_build(tmp_path,
                                                                               no_network,
                                                                               caplog):
  # What `kill -9` during a build leaves: TFDS's temporary folder, half written.
  version_dir = tmp_path / "mnist_idx" / "1.0.0"
  stale = tmp_path / "mnist_idx" / "incomplete.Q7X2ZK_1.0.0"
  stale.mkdir(parents=True)
  (stale / "mnist_idx-train.tfrecord-00000-of-00001").write_bytes(b"half a shard")
  other_version = tmp_path / "mnist_idx" / "incomplete.AAAAAA_0.9.0"
  other_version.mkdir()
  builder = tfds.builder("mnist_idx", data_dir=tmp_path)
  with caplog.at_level(logging.WARNING, logger="tfds_builders"):
    builder.download_and_prepare(download_config=config())
  assert not stale.exists()
  assert other_version.exists()  # another version's folder is not this build's business
  assert (version_dir / "dataset_info.json").exists()
  assert f"Removing {stale}, left by a build that was killed" in caplog.messages
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == {"train": 24, "test": 12}


def test_a_second_build_waits_for_the_first_then_finds_the_dataset_ready(tmp_path, no_network,
                                                                         caplog):
  # The first build is this test holding the lock; the second runs in a thread meanwhile.
  lock_path = tmp_path / "mnist_idx" / ".1.0.0.lock"
  lock_path.parent.mkdir(parents=True)
  holder = open(lock_path, "a+")
  fcntl.flock(holder, fcntl.LOCK_EX)
  holder.write("4242")
  holder.flush()
  done, errors = threading.Event(), []

  def second_build():
    try:
      tfds.builder("mnist_idx", data_dir=tmp_path).download_and_prepare(download_config=config())
    except Exception as e:  # noqa: BLE001  (reported by the assertion below)
      errors.append(e)
    done.set()

  with caplog.at_level(logging.WARNING, logger="tfds_builders"):
    thread = threading.Thread(target=second_build)
    thread.start()
    waiting = (f"mnist_idx/1.0.0: another build of this dataset is running (pid 4242, lock "
               f"{lock_path}); waiting for it to finish")
    deadline = time.monotonic() + 120
    while waiting not in caplog.messages and time.monotonic() < deadline and not done.is_set():
      time.sleep(0.1)
    assert not done.wait(1)  # it waits while the lock is held
    assert not (tmp_path / "mnist_idx" / "1.0.0").exists()
    fcntl.flock(holder, fcntl.LOCK_UN)
    holder.close()
    assert done.wait(120)
    thread.join()
  assert errors == []
  assert waiting in caplog.messages
  assert any(m.startswith("mnist_idx/1.0.0: the other build finished after ")
             for m in caplog.messages)
  built = tfds.builder("mnist_idx", data_dir=tmp_path)
  assert {s: i.num_examples for s, i in built.info.splits.items()} == {"train": 24, "test": 12}


# A build in a fresh process: its tfds_builders log lines on stdout, then "built" and the counts.
CHILD_BUILD = """\
import logging, sys
import tensorflow_datasets as tfds
import tfds_builders
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("%(message)s"))
logging.getLogger("tfds_builders").addHandler(handler)
builder = tfds.builder("mnist_idx", data_dir=sys.argv[1])
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=sys.argv[2]))
# The same builder, as tfds.load uses it: one that waited for another build reads that build's
# info (it was made before the dataset existed), and reads its examples.
counts = {s: i.num_examples for s, i in builder.info.splits.items()}
read = {s: sum(1 for _ in builder.as_dataset(split=s)) for s in counts}
print("built", counts, "read", read, flush=True)
"""


def test_two_builds_at_once_in_two_processes_both_succeed(tmp_path):
  # This test holds the lock while two processes start a build, so that both are at the lock at
  # the same time however long their imports take; then it lets them go.
  lock_path = tmp_path / "mnist_idx" / ".1.0.0.lock"
  lock_path.parent.mkdir(parents=True)
  holder = open(lock_path, "a+")
  fcntl.flock(holder, fcntl.LOCK_EX)
  holder.write(str(os.getpid()))
  holder.flush()
  logs = [tmp_path / f"build_{i}.out" for i in range(2)]
  runs = []
  try:
    for i, log_path in enumerate(logs):
      with open(log_path, "w") as out, open(tmp_path / f"build_{i}.err", "w") as err:
        runs.append(subprocess.Popen(
            [sys.executable, "-c", CHILD_BUILD, str(tmp_path), str(SOURCES)], stdout=out,
            stderr=err, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")))
    waiting = (f"mnist_idx/1.0.0: another build of this dataset is running (pid {os.getpid()}, "
               f"lock {lock_path}); waiting for it to finish")
    deadline = time.monotonic() + 180
    while (time.monotonic() < deadline and all(run.poll() is None for run in runs)
           and not all(waiting in p.read_text().splitlines() for p in logs)):
      time.sleep(0.2)
    time.sleep(2)  # still waiting a while later: the lock, not a slow start, holds them
    assert [run.poll() for run in runs] == [None, None], [
        (tmp_path / f"build_{i}.err").read_text()[-2000:] for i in range(2)]
    assert [p.read_text().splitlines() for p in logs] == [[waiting], [waiting]]
    assert not (tmp_path / "mnist_idx" / "1.0.0").exists()
  finally:
    fcntl.flock(holder, fcntl.LOCK_UN)
    holder.close()
    for run in runs:
      try:
        run.wait(timeout=300)
      except subprocess.TimeoutExpired:
        run.kill()
        run.wait()
  errors = [(tmp_path / f"build_{i}.err").read_text()[-2000:] for i in range(2)]
  assert [run.returncode for run in runs] == [0, 0], errors
  outputs = [p.read_text().splitlines() for p in logs]
  for lines in outputs:
    assert lines[0] == waiting
    assert lines[1].startswith("mnist_idx/1.0.0: the other build finished after ")
    assert lines[-1] == "built {'train': 24, 'test': 12} read {'train': 24, 'test': 12}"
  assert sorted(p.name for p in (tmp_path / "mnist_idx").iterdir()) == [".1.0.0.lock", "1.0.0"]
  built = tfds.builder("mnist_idx", data_dir=tmp_path)
  assert {s: i.num_examples for s, i in built.info.splits.items()} == {"train": 24, "test": 12}


# Bucket builds without google-cloud-storage are not coordinated: a version folder without
# dataset_info.json is waited for while it changes, and replaced once it has not (a killed
# publish). The waiting itself is the same on any path type, so it is shown on a local folder.

def test_an_uncommitted_folder_that_gets_committed_is_waited_for(tmp_path, caplog):
  from tfds_builders import build_lock
  version = tmp_path / "mnist_idx" / "1.0.0"
  version.mkdir(parents=True)
  (version / "mnist_idx-train.tfrecord-00000-of-00001").write_bytes(b"x")

  def publish():  # another host moving its files in, dataset_info.json last
    time.sleep(0.3)
    (version / "mnist_idx-test.tfrecord-00000-of-00001").write_bytes(b"y")
    time.sleep(0.3)
    (version / "dataset_info.json").write_text("{}")

  other = threading.Thread(target=publish)
  other.start()
  with caplog.at_level(logging.WARNING, logger="tfds_builders.build"):
    committed = build_lock._wait_for_commit("mnist_idx/1.0.0", epath_of(version), lease_s=30)
  other.join(timeout=10)
  assert committed is True
  assert sorted(p.name for p in version.iterdir()) == [
      "dataset_info.json", "mnist_idx-test.tfrecord-00000-of-00001",
      "mnist_idx-train.tfrecord-00000-of-00001"]
  messages = [r.getMessage() for r in caplog.records]
  assert messages[0] == (
      f"mnist_idx/1.0.0: {version} has no dataset_info.json yet: another build is publishing it, "
      "or one was killed while publishing it; waiting for it to be committed (or to stay "
      "unchanged for 30 s)")
  assert re.fullmatch(r"mnist_idx/1\.0\.0: the other build finished after \d+ s; going on",
                      messages[1]), messages
  assert len(messages) == 2


def test_an_uncommitted_folder_left_unchanged_for_a_lease_is_removed(tmp_path, caplog):
  from tfds_builders import build_lock
  version = tmp_path / "mnist_idx" / "1.0.0"
  version.mkdir(parents=True)
  (version / "mnist_idx-train.tfrecord-00000-of-00001").write_bytes(b"x")
  with caplog.at_level(logging.WARNING, logger="tfds_builders.build"):
    committed = build_lock._wait_for_commit("mnist_idx/1.0.0", epath_of(version), lease_s=0.6)
  assert committed is False
  assert not version.exists() and (tmp_path / "mnist_idx").is_dir()
  messages = [r.getMessage() for r in caplog.records]
  assert len(messages) == 2, messages
  assert re.fullmatch(rf"Removing {re.escape(str(version))}, left half-published by a build that "
                      r"was killed \(unchanged for \d+ s\)", messages[1]), messages


def test_an_uncommitted_folder_that_disappears_is_not_waited_for(tmp_path):
  from tfds_builders import build_lock
  missing = tmp_path / "mnist_idx" / "1.0.0"
  assert build_lock._wait_for_commit("mnist_idx/1.0.0", epath_of(missing), lease_s=30) is False


def epath_of(path):
  from etils import epath
  return epath.Path(path)
