"""ilsvrc2012 (and ilsvrc2012_localization) built by `tfds build` on Prism, Beam's Go runner, give
exactly the examples of the single-process build: as a user's `runner=DirectRunner` gets Prism
since Beam 2.68 (its binary where Beam caches it), as `runner=PrismRunner` with the binary named,
and what the same DirectRunner command does on a machine where Prism cannot be had.

Prism is Beam's, built from its Go module at the installed Beam version by .ci/engines. Prism 2.78
runs one Python worker per environment (LOOPBACK here, inside the `tfds build` process): the
worker options of the Python runner do not reach it.
"""

import os
import pathlib
import platform
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from imagenet.test_ilsvrc2012 import SOURCES, examples
from imagenet.test_ilsvrc2012_boxes import read as boxed_examples
from support import engines, loopback

TFDS_CLI = pathlib.Path(sys.executable).parent / "tfds"
SPLITS = {"train": 21, "validation": 7, "test": 4}
PRISM_RAN = "Running pipeline with PrismRunner."
FALLBACK = "Falling back to DirectRunner"


@pytest.fixture(scope="module")
def prism():
  return engines.installed("prism")


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
  """The single-process builds the Beam ones must equal."""
  data_dir = tmp_path_factory.mktemp("plain")
  found = {}
  for name in ("ilsvrc2012", "ilsvrc2012_localization"):
    builder = tfds.builder(name, data_dir=data_dir)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=os.fspath(SOURCES)))
    found[name] = builder
  return found


def beam_cache_in(home: pathlib.Path, prism: pathlib.Path) -> pathlib.Path:
  """Prism where Beam's DirectRunner looks before downloading it: the release's zip in
  ~/.apache_beam/cache/prism/bin (Beam checks only that it is a zip) and, beside it, the binary
  under the zip's name without `.zip`, which Beam runs instead of unzipping."""
  import zipfile

  import apache_beam
  arch = {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]
  name = f"apache_beam-v{apache_beam.__version__}-prism-linux-{arch}"
  cache = home / ".apache_beam" / "cache" / "prism" / "bin"
  cache.mkdir(parents=True)
  with zipfile.ZipFile(cache / f"{name}.zip", "w") as z:
    z.writestr(name, b"")  # never unzipped: the binary below is there
  (cache / name).symlink_to(prism)
  return cache


def tfds_build(tmp_path, name, data_dir, options, home, timeout=900):
  """The real command line, with a HOME of its own (Beam reads its cache from it at import) and
  outside addresses refused, in this process's network guard."""
  env = dict(os.environ, HOME=str(home), PYTHONPATH=str(loopback.sitecustomize_dir(tmp_path)),
             TF_CPP_MIN_LOG_LEVEL="2")
  done = subprocess.run(
      [str(TFDS_CLI), "build", "--imports", "tfds_builders", name, "--manual_dir",
       str(SOURCES), "--data_dir", str(data_dir), f"--beam_pipeline_options={options}"],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)
  assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-6000:]}"
  # TFDS's command line sends Python's log records through tqdm's stream, to stdout.
  return done.stdout + done.stderr


def assert_same_examples(plain_builder, data_dir, split_examples=examples):
  built = tfds.builder(plain_builder.name, data_dir=data_dir)
  assert {s: i.num_examples for s, i in built.info.splits.items()} == SPLITS
  for split in SPLITS:
    want, got = split_examples(plain_builder, split), split_examples(built, split)
    assert sorted(want) == sorted(got), split
    for key in sorted(want):
      for a, b in zip(want[key], got[key], strict=True):  # label, image bytes (and boxes)
        if isinstance(a, np.ndarray):
          assert a.dtype == b.dtype and np.array_equal(a, b), (split, key)
        else:
          assert a == b, (split, key)


def test_direct_runner_with_prism_cached_runs_on_prism(tmp_path, prism, plain):
  home = tmp_path / "home"
  cache = beam_cache_in(home, prism)
  # The Python runner's worker options, as a user passes them: Prism ignores them.
  log = tfds_build(tmp_path, "ilsvrc2012", tmp_path / "data",
                       "runner=DirectRunner,direct_running_mode=multi_processing,"
                       "direct_num_workers=2", home)
  assert PRISM_RAN in log
  assert f"Using cached prism binary from {cache}" in log
  assert "Exception with PrismRunner" not in log and FALLBACK not in log
  assert_same_examples(plain["ilsvrc2012"], tmp_path / "data")


def test_prism_runner_with_the_binary_named(tmp_path, prism, plain):
  log = tfds_build(tmp_path, "ilsvrc2012", tmp_path / "data",
                       f"runner=PrismRunner,prism_location={prism}", tmp_path / "home")
  assert f"Prism binary path resolved to: {prism}" in log
  assert_same_examples(plain["ilsvrc2012"], tmp_path / "data")


def test_prism_builds_the_nested_boxes_of_ilsvrc2012_localization(tmp_path, prism, plain):
  tfds_build(tmp_path, "ilsvrc2012_localization", tmp_path / "data",
             f"runner=PrismRunner,prism_location={prism}", tmp_path / "home")
  assert_same_examples(plain["ilsvrc2012_localization"], tmp_path / "data", boxed_examples)


def test_direct_runner_where_prism_cannot_be_had_falls_back_to_the_python_runner(tmp_path, plain):
  # No Prism in this HOME, and the download's name look-up refused at once, as offline. What the
  # user reads, in this order (measured here: the fallback costs about 2 s).
  log = tfds_build(tmp_path, "ilsvrc2012", tmp_path / "data", "runner=DirectRunner",
                      tmp_path / "home")
  said = [PRISM_RAN,
          "Downloading prism from https://github.com/apache/beam/releases/download/v",
          "Exception with PrismRunner:",
          "Unable to fetch remote prism binary at https://github.com/apache/beam/releases/",
          "outside address 'github.com' refused by the tests",
          FALLBACK]
  at = [log.find(line) for line in said]
  assert -1 not in at and at == sorted(at), list(zip(said, at))
  assert_same_examples(plain["ilsvrc2012"], tmp_path / "data")
