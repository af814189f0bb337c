"""Bucket builds without google-cloud-storage, the default on a TPU VM: no build lock, so builds are
not coordinated, and only the publish (tfds_builders.publishing: dataset_info.json last) and the
wait for a commit (tfds_builders.build_lock) keep half a dataset from being read as one.

Real builds of mnist_idx in separate processes, through TensorFlow's own GCS file system, in the
sandbox of support.tf_gcs (`--no-cloud-storage` makes `import google.cloud.storage` fail there as
it does where the library is not installed). Nothing here depends on the machine's speed: a
publish is held half-way until the test has seen the other host waiting, and a publish is killed
only once it has published two files.
"""

import os
import re
import signal
import subprocess
import sys
import uuid

import pytest

import tfds_builders  # noqa: F401  (registers the builders)
from support import tf_gcs
from tfds_builders import bucket_lock

BUCKET = "tfds-builders-publish"
COUNTS = '{"test": 12, "train": 24}'

pytestmark = pytest.mark.skipif(tf_gcs.Sandbox.unavailable_reason() is not None,
                                reason=f"TensorFlow's GCS route: "
                                       f"{tf_gcs.Sandbox.unavailable_reason()}")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
  with tf_gcs.Sandbox(tmp_path_factory.mktemp("publish_sandbox"), [BUCKET], audit=True) as box:
    yield box


@pytest.fixture(scope="module")
def single_process_build(tmp_path_factory):
  return tf_gcs.single_process_examples(tmp_path_factory.mktemp("local"))


@pytest.fixture
def builds(sandbox, tmp_path):
  """Starts `tf_gcs.py build` of mnist_idx into a fresh prefix of the bucket; kills what is
  left running at the end."""
  started = []
  prefix = f"{uuid.uuid4().hex}/tfds"

  def start(tag, *extra, lease_s=None):
    env = {} if lease_s is None else {bucket_lock.LEASE_ENV: str(lease_s)}
    build = tf_gcs.BuildProcess(sandbox, tmp_path, tag, f"gs://{BUCKET}/{prefix}", ["mnist_idx"],
                                "--no-cloud-storage", "--count", tmp_path / "generated", *extra,
                                env=env)
    started.append(build)
    return build

  start.prefix = prefix
  start.dataset_dir = f"{prefix}/mnist_idx"  # object names, in the bucket
  start.data_path = f"gs://{BUCKET}/{prefix}/mnist_idx/1.0.0"
  start.generated = lambda: (tmp_path / "generated").read_text().splitlines()
  try:
    yield start
  finally:
    for build in started:
      build.kill()


DATASET = ["mnist_idx/1.0.0/dataset_info.json", "mnist_idx/1.0.0/features.json",
           "mnist_idx/1.0.0/mnist_idx-test.tfrecord-00000-of-00001",
           "mnist_idx/1.0.0/mnist_idx-train.tfrecord-00000-of-00001"]


def _listing(sandbox, prefix):
  """Object names under gs://BUCKET/<prefix>/, relative to it, without TensorFlow's folder
  markers (the empty objects `name/`)."""
  run = sandbox.popen([sys.executable, str(tf_gcs.HERE), "list", f"gs://{BUCKET}/{prefix}/"],
                      env=sandbox.env("tf"), stdout=subprocess.PIPE, text=True)
  try:
    out = run.communicate(timeout=120)[0]
  except subprocess.TimeoutExpired:
    run.kill()
    run.wait()
    raise
  assert run.returncode == 0
  return sorted(name[len(prefix) + 1:] for name in out.split() if not name.endswith("/"))


def _uncoordinated(data_path, lease_s):
  return (f"mnist_idx/1.0.0: builds into {os.path.dirname(data_path)} are not coordinated: "
          "google-cloud-storage is not installed (pip install 'tfds_builders[cloud]'). "
          "Concurrent builds of this dataset each generate it (the first to commit wins); a "
          "version folder without dataset_info.json is never read as a dataset, one left by a "
          f"killed publish is replaced once it has not changed for {lease_s} s, and incomplete.* "
          "folders of killed builds are left in place")


def _waiting(data_path, lease_s):
  return (f"mnist_idx/1.0.0: {data_path} has no dataset_info.json yet: another build is "
          "publishing it, or one was killed while publishing it; waiting for it to be committed "
          f"(or to stay unchanged for {lease_s} s)")


def _not_ready(data_path):
  return (f"probe mnist_idx error: Dataset mnist_idx/1.0.0 is not ready in {data_path}: the folder "
          "holds no dataset_info.json (a build is publishing it now, or one was killed while "
          "publishing it; the next build replaces it). Call download_and_prepare() first "
          "(tfds.load does, unless download=False).")


def _ours(build):
  """The build's own lines and the package's, without TFDS's (which name sizes and bars)."""
  return [line for line in build.lines()
          if line.startswith(("ready", "probe ", "read ", "mnist_idx/1.0.0: ", "Removing "))]


def _timed(line):
  """A line with the seconds it measured (not those it was told) replaced by N."""
  return re.sub(r"(after|\(unchanged for) \d+(\.\d+)? s\b", r"\1 N s", line)


def test_a_host_arriving_while_another_publishes_waits_for_the_commit_and_reads_the_dataset(
    sandbox, builds, tmp_path, single_process_build):
  publishing, go_on = tmp_path / "publishing", tmp_path / "go_on"
  first = builds("first", "--publishing", publishing, "--hold-publish", go_on)
  # The second host starts once the first has published one file of the dataset, not its commit.
  second = builds("second", "--wait-for", publishing, "--probe-first")
  waiting = _waiting(builds.data_path, 180)
  tf_gcs.wait_until(lambda: waiting in second.lines(), "the second host waiting",
                    [first, second])
  half = [n for n in _listing(sandbox, builds.prefix) if n.startswith("mnist_idx/1.0.0/")]
  assert len(half) == 1 and half[0] in DATASET[1:], half  # one file published, no commit
  go_on.touch()
  for build in (first, second):
    assert build.finish() == 0, build.tails()

  assert [_timed(line) for line in _ours(first)] == [
      "ready", _uncoordinated(builds.data_path, 180), f"read mnist_idx {COUNTS} after N s"]
  assert [_timed(line) for line in _ours(second)] == [
      "ready",
      "probe mnist_idx splits={} load=AssertionError",  # half a dataset is no dataset
      _not_ready(builds.data_path),
      _uncoordinated(builds.data_path, 180),
      waiting,
      "mnist_idx/1.0.0: the other build finished after N s; going on",
      f"read mnist_idx {COUNTS} after N s"]
  # Only the first host generated (one call a split); the second read what it published.
  assert builds.generated() == [f"{first.process.pid} mnist_idx/1.0.0"] * 2
  assert first.examples("mnist_idx") == single_process_build
  assert second.examples("mnist_idx") == single_process_build
  assert _listing(sandbox, builds.prefix) == DATASET  # and no lock, no incomplete.* folder

  # No lock was ever taken, and the check of test_bucket_builds.py says so: it cannot pass on a
  # build that took none.
  with pytest.raises(AssertionError) as e:
    tf_gcs.assert_published_under_lock(sandbox.audited(), f"{builds.dataset_dir}/1.0.0")
  assert str(e.value).startswith(
      f"{builds.dataset_dir}/1.0.0: the lock {builds.dataset_dir}/.1.0.0.lock was never "
      "created and deleted (requests on it: [])")


def test_a_publish_killed_half_way_never_blocks_the_builds_after_it(
    sandbox, builds, tmp_path, single_process_build):
  stalled = tmp_path / "stalled_publishing"
  killed = builds("killed", "--stall-publish", stalled)
  tf_gcs.wait_until(stalled.exists, "the first build publishing", [killed])
  os.kill(int(stalled.read_text()), signal.SIGKILL)
  killed.finish(timeout=60)
  left = _listing(sandbox, builds.prefix)
  half = [n for n in left if n.startswith("mnist_idx/1.0.0/")]
  assert len(half) == 2 and set(half) < set(DATASET[1:]), left  # two files, no commit
  [incomplete] = {n.split("/")[1] for n in left if n.startswith("mnist_idx/incomplete.")}

  # The next build finds no dataset there, waits a lease (3 s) for a commit that never comes,
  # removes the folder and publishes the dataset itself.
  after = builds("after", "--probe-first", lease_s=3)
  assert after.finish() == 0, after.tails()
  assert [_timed(line) for line in _ours(after)] == [
      "ready",
      "probe mnist_idx splits={} load=AssertionError",
      _not_ready(builds.data_path),
      _uncoordinated(builds.data_path, 3),
      _waiting(builds.data_path, 3),
      f"Removing {builds.data_path}, left half-published by a build that was killed (unchanged "
      "for N s)",
      f"read mnist_idx {COUNTS} after N s"]
  assert after.examples("mnist_idx") == single_process_build

  # And any later build reads that dataset at once, generating nothing.
  later = builds("later")
  assert later.finish() == 0, later.tails()
  assert [_timed(line) for line in _ours(later)] == [
      "ready", f"read mnist_idx {COUNTS} after N s"]
  assert later.examples("mnist_idx") == single_process_build
  assert builds.generated() == ([f"{killed.process.pid} mnist_idx/1.0.0"] * 2 +
                                [f"{after.process.pid} mnist_idx/1.0.0"] * 2)
  # Without the lock no build can tell a killed build's incomplete.* folder from a running one's:
  # it stays, as the warning says, and is never read.
  listing = _listing(sandbox, builds.prefix)
  assert [n for n in listing if not n.startswith(f"mnist_idx/{incomplete}/")] == DATASET, listing
