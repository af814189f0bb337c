"""Killed and concurrent builds: a stale incomplete.* folder is removed by the next build, and a
second build of the same dataset into the same data dir waits for the first instead of dying."""

import fcntl
import logging
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


def test_two_builds_at_once_in_two_processes_both_succeed(tmp_path):
  import subprocess
  import sys
  script = ("import sys, tensorflow_datasets as tfds, tfds_builders\n"
            "tfds.builder('mnist_idx', data_dir=sys.argv[1]).download_and_prepare(\n"
            "    download_config=tfds.download.DownloadConfig(manual_dir=sys.argv[2]))\n"
            "print('built')\n")
  runs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(SOURCES)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
          for _ in range(2)]
  outputs = [run.communicate(timeout=300) for run in runs]
  assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
  assert [out.strip().splitlines()[-1] for out, _ in outputs] == ["built", "built"]
  assert sorted(p.name for p in (tmp_path / "mnist_idx").iterdir()) == [".1.0.0.lock", "1.0.0"]
