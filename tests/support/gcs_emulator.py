"""The local GCS emulator the tests read and write `gs://` paths on, as a pytest fixture.

gcp-storage-emulator (from PyPI), as support.tf_gcs.Emulator starts it on a port of 127.0.0.1 it
picks and reports itself, holds the bucket; `STORAGE_EMULATOR_HOST` points the GCS client
(gcsfs) at it, as GCS client libraries expect. `EPATH_USE_TF=false` makes TFDS's path type use
gcsfs: TensorFlow's own GCS file system has no setting for another endpoint, so it cannot be
pointed at an emulator. `GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false` stops gcsfs from first asking the
bucket's type over gRPC, which an emulator never answers (a 60 s wait per bucket).

Use it from a test module with `from support.gcs_emulator import bucket  # noqa: F401`: the
fixture is module-scoped, and while it is active `os.environ` holds the three variables, so
subprocesses started with the test's environment reach the same emulator.
"""

import os

import pytest

from conftest import DUMMY_DATA
from support import tf_gcs

BUCKET = "tfds-builders-test"
EMULATOR_ENV = tf_gcs.GCSFS_ROUTE_ENV
# The sample sources uploaded to gs://<BUCKET>/<name>/ when the emulator starts.
UPLOADED = ("mnist_idx", "norb_small", "ilsvrc2012", "mnist_csv", "emnist_idx", "qmnist")


@pytest.fixture(scope="module")
def bucket(tmp_path_factory):
  """gs://<BUCKET>/<builder>/ holding each builder's sample sources, on a local emulator."""
  saved = {k: os.environ.get(k) for k in (*EMULATOR_ENV, "STORAGE_EMULATOR_HOST")}
  with tf_gcs.Emulator(tmp_path_factory.mktemp("gcs"), [BUCKET]) as emulator:
    os.environ.update(EMULATOR_ENV, STORAGE_EMULATOR_HOST=emulator.host)
    forget_epath_backend_choice()
    try:
      from etils import epath
      for name in UPLOADED:
        for path in sorted((DUMMY_DATA / name).rglob("*")):
          if path.is_file() and path.suffix != ".py":
            target = epath.Path(f"gs://{BUCKET}/{name}") / path.relative_to(DUMMY_DATA / name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
      yield f"gs://{BUCKET}"
    finally:
      for key, value in saved.items():
        if value is None:
          os.environ.pop(key, None)
        else:
          os.environ[key] = value
      forget_epath_backend_choice()


def forget_epath_backend_choice():
  """etils.epath decides once per process whether TensorFlow serves gs:// paths (it caches the
  answer on first use of any path), so a change of EPATH_USE_TF must make it decide again."""
  from etils.epath import gpath
  cached = getattr(gpath, "_is_tf_installed", None)
  if hasattr(cached, "cache_clear"):
    cached.cache_clear()
