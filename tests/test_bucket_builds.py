"""`--data_dir gs://...`: every builder writes its dataset into a bucket through TensorFlow's own
GCS file system (what TFDS uses to write and read shards whenever TensorFlow is installed), and
the dataset read back from the bucket equals the one built into a local folder, example by
example; ImageNet on Beam workers too.

TensorFlow's GCS client has no endpoint setting, so the builds run in a sandbox
(`support.tf_gcs.Sandbox`): a private mount and network namespace whose /etc/hosts sends
www.googleapis.com and storage.googleapis.com to a local gcp-storage-emulator behind TLS. One child
process builds every builder in turn (TensorFlow's import is paid once) while this process makes
the local builds to compare with.
"""

import pickle
import subprocess
import sys
import time

import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from support import tf_gcs
from tfds_builders.builder_base import sample_sources_dir

BUCKET = "tfds-builders-out"
COUNTS = {
    "mnist_idx": {"train": 24, "test": 12},
    "fashion_mnist_idx": {"train": 20, "test": 10},
    "kmnist_idx": {"train": 20, "test": 10},
    "emnist_idx/digits": {"train": 14, "test": 9},
    "qmnist": {"train": 24, "test": 10010, "test10k": 10000, "test50k": 10},
    "mnist_csv": {"train": 12, "test": 6},
    "norb_small/stereo": {"train": 8, "test": 7},
    "ilsvrc2012": {"train": 21, "validation": 7, "test": 4},
}
PLAIN = list(COUNTS)
BEAM = ["ilsvrc2012"]

pytestmark = pytest.mark.skipif(tf_gcs.Sandbox.unavailable_reason() is not None,
                                reason=f"TensorFlow's GCS route: "
                                       f"{tf_gcs.Sandbox.unavailable_reason()}")


class BucketBuilds:
  """Two child processes in the sandbox: the plain builds, and ImageNet on Beam workers."""

  def __init__(self, sandbox, folder):
    self.sandbox = sandbox
    self.folder = folder
    self.runs = {}
    env = dict(sandbox.env("tf"), TF_CPP_MIN_LOG_LEVEL="2")
    for kind, names, extra in (("plain", PLAIN, []), ("beam", BEAM, ["--beam"])):
      dump = folder / kind
      dump.mkdir()
      cmd = [sys.executable, str(tf_gcs.HERE), "build", "--data-dir",
             f"gs://{BUCKET}/{kind}/tfds", "--manual-dir", str(sample_sources_dir()),
             "--dump", str(dump), *extra]
      for name in names:
        cmd += ["--name", name]
      with open(folder / f"{kind}.out", "w") as out, open(folder / f"{kind}.err", "w") as err:
        self.runs[kind] = sandbox.popen(cmd, env=env, stdout=out, stderr=err)

  def result(self, kind, name):
    run = self.runs[kind]
    try:
      run.wait(timeout=900)
    except subprocess.TimeoutExpired:
      run.kill()
      run.wait()
    out = (self.folder / f"{kind}.out").read_text()
    assert run.returncode == 0, (out[-3000:], (self.folder / f"{kind}.err").read_text()[-5000:])
    [dump] = (self.folder / kind).glob(f"{name.replace('/', '+')}.*.pkl")
    with open(dump, "rb") as f:
      return pickle.load(f), out

  def listing(self):
    """Every object name in the bucket."""
    run = self.sandbox.popen([sys.executable, str(tf_gcs.HERE), "list", f"gs://{BUCKET}/"],
                             env=self.sandbox.env("tf"), stdout=subprocess.PIPE, text=True)
    out = run.communicate(timeout=120)[0]
    assert run.returncode == 0
    return out.split()

  def close(self):
    for run in self.runs.values():
      if run.poll() is None:
        run.kill()
        run.wait()


@pytest.fixture(scope="module")
def bucket_builds(tmp_path_factory):
  folder = tmp_path_factory.mktemp("tf_gcs_builds")
  started = time.monotonic()
  with tf_gcs.Sandbox(folder / "sandbox", [BUCKET], audit=True) as sandbox:
    builds = BucketBuilds(sandbox, folder)
    try:
      yield builds
    finally:
      builds.close()
  print(f"bucket builds: {time.monotonic() - started:.0f} s")


def local_build(name, data_dir):
  folder = tfds.builder_cls(name.split("/")[0]).sources_name()
  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=sample_sources_dir() / folder))
  return builder


@pytest.mark.parametrize("name", PLAIN)
def test_build_into_a_bucket_through_tensorflow_equals_the_local_build(bucket_builds, tmp_path,
                                                                        name):
  local = tf_gcs.examples(local_build(name, tmp_path))
  remote, log = bucket_builds.result("plain", name)
  assert {split: len(exs) for split, exs in remote.items()} == COUNTS[name]
  assert remote == local
  # Written there, not found there from an earlier run.
  assert (f"Dataset {name.split('/')[0]} downloaded and prepared to "
          f"gs://{BUCKET}/plain/tfds/{name}/") in log


def test_ilsvrc2012_on_beam_workers_into_a_bucket_equals_the_local_build(bucket_builds,
                                                                          tmp_path):
  local = tf_gcs.examples(local_build("ilsvrc2012", tmp_path))
  remote, _ = bucket_builds.result("beam", "ilsvrc2012")
  assert {split: len(exs) for split, exs in remote.items()} == COUNTS["ilsvrc2012"]
  by_name = lambda exs: sorted(exs, key=lambda ex: ex["file_name"])  # noqa: E731
  for split in local:
    assert by_name(remote[split]) == by_name(local[split])


def test_the_bucket_holds_the_datasets_and_nothing_else_of_their_builds(bucket_builds):
  for kind, names in (("plain", PLAIN), ("beam", BEAM)):
    bucket_builds.result(kind, names[0])
  listing = bucket_builds.listing()
  # Every object of a build is in its version folder, <kind>/tfds/<name>[/<config>]/<version>/,
  # or is TFDS's own note of the default config (<name>/.config/metadata.json): no incomplete.*
  # folder, no lock object left (that each build took one: the next test).
  datasets = set()
  for name in listing:
    parts = name.split("/")
    if name.endswith("/") or parts[-2] == ".config":
      continue
    assert tfds.core.Version.is_valid(parts[-2]), (name, listing)
    datasets.add(parts[0] + ":" + "/".join(parts[2:-2]))
  assert datasets == {f"plain:{name}" for name in PLAIN} | {f"beam:{name}" for name in BEAM}
  assert not [name for name in listing if "incomplete." in name or name.endswith(".lock")]


def test_every_build_published_its_dataset_while_holding_its_lock(bucket_builds, tmp_path):
  for kind, names in (("plain", PLAIN), ("beam", BEAM)):
    bucket_builds.result(kind, names[0])
  audited = bucket_builds.sandbox.audited()
  listing = bucket_builds.listing()
  for kind, names in (("plain", PLAIN), ("beam", BEAM)):
    for name in names:
      version_dir = f"{kind}/tfds/{tfds.builder(name, data_dir=tmp_path).info.full_name}"
      # In the order the emulator served them: the lock created with ifGenerationMatch=0, the
      # folder's files, its dataset_info.json, the lock deleted (tf_gcs says how it checks).
      written = tf_gcs.assert_published_under_lock(audited, version_dir)
      # And what was written under the lock is the dataset, all of it.
      assert written == sorted(n for n in listing if n.startswith(version_dir + "/")), name
      assert f"{version_dir}/dataset_info.json" in written
