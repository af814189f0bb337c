"""ilsvrc2012 built with `tfds build` on Beam's portable runner, its work done by SDK workers that
an external worker pool starts, gives exactly the examples of the plain run, keys and bytes
included.

This is how Flink, Spark and Kubernetes run Python workers: processes the build did not start, so
the units, the DoFn and TFDS's writer reach them pickled, and they import the package as
installed. The pool is started here with the command the README gives.
"""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from imagenet.test_ilsvrc2012 import SOURCES, build, examples
from support import loopback

VENV_BIN = pathlib.Path(sys.executable).parent
SPLITS = {"train": 21, "validation": 7, "test": 4}

def log_text(log_path):
  return log_path.read_text(errors="replace")


def stop_process_group(process):
  """Stops a process started with start_new_session=True and every process it started."""
  for sig in (signal.SIGTERM, signal.SIGKILL):
    try:
      os.killpg(process.pid, sig)
    except ProcessLookupError:
      break
    try:
      process.wait(timeout=30)
      break
    except subprocess.TimeoutExpired:
      continue


@pytest.fixture
def subprocess_env(tmp_path):
  """The venv's bin/ first on PATH: the pool starts each worker as plain `python`."""
  # The build, the pool and the workers it starts talk over loopback; an outside address is
  # refused at once, as in the test process itself.
  block = loopback.sitecustomize_dir(tmp_path)
  env = dict(os.environ, PATH=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
             PYTHONPATH=str(block), TF_CPP_MIN_LOG_LEVEL="2")
  assert pathlib.Path(shutil.which("python", path=env["PATH"])).parent == VENV_BIN
  return env


@pytest.fixture
def worker_pool(tmp_path, subprocess_env):
  """(port, log path) of a running worker pool; stopped with the workers it started, whatever
  the test did."""
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
  log_path = tmp_path / "worker_pool.log"
  with open(log_path, "wb") as log:
    # Its own process group, so that stopping it also stops the workers it started.
    pool = subprocess.Popen(
        ["python", "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}"],
        env=subprocess_env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
  try:
    deadline = time.monotonic() + 120
    while True:
      assert pool.poll() is None, f"the worker pool exited:\n{log_text(log_path)[-3000:]}"
      try:
        socket.create_connection(("localhost", port), timeout=1).close()
        break
      except OSError:
        assert time.monotonic() < deadline, (
            f"the worker pool did not listen on port {port}:\n{log_text(log_path)[-3000:]}")
        time.sleep(0.2)
    yield port, log_path
  finally:
    stop_process_group(pool)


def build_on_the_pool(command, env, cwd, pool_log, timeout=300):
  """The build's output, once it exits.

  A worker that dies on start (no apache_beam or tfds_builders under the pool's `python`) leaves
  the runner waiting for it for ever; its traceback in the pool's log ends the wait instead.
  """
  build_log = cwd / "build.log"
  with open(build_log, "wb") as log:
    build_process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log,
                                     stderr=subprocess.STDOUT)
  try:
    deadline = time.monotonic() + timeout
    while build_process.poll() is None:
      pool_output = log_text(pool_log)
      assert "Traceback" not in pool_output, f"a worker failed:\n{pool_output[-4000:]}"
      assert time.monotonic() < deadline, (
          f"no result in {timeout} s:\n{log_text(build_log)[-3000:]}\n--- worker pool ---\n"
          f"{pool_output[-3000:]}")
      time.sleep(0.5)
  finally:
    if build_process.poll() is None:
      build_process.kill()
      build_process.wait()
  output = log_text(build_log)
  assert build_process.returncode == 0, (
      f"{output[-4000:]}\n--- worker pool ---\n{log_text(pool_log)[-2000:]}")
  return output


def test_portable_runner_with_an_external_worker_pool_equals_the_plain_run(
    tmp_path, worker_pool, subprocess_env):
  port, pool_log = worker_pool
  options = ("runner=PortableRunner,job_endpoint=embed,environment_type=EXTERNAL,"
             f"environment_config=localhost:{port}")
  data_dir = tmp_path / "portable"
  output = build_on_the_pool(
      [str(VENV_BIN / "tfds"), "build", "--imports", "tfds_builders", "ilsvrc2012",
       "--manual_dir", str(SOURCES), "--data_dir", str(data_dir),
       f"--beam_pipeline_options={options}"],
      subprocess_env, tmp_path, pool_log)
  # The job ran on the portable runner and asked this pool for its worker, which the pool started
  # as a separate `python` process: with environment_type=EXTERNAL there is nowhere else to run.
  assert f"Requesting worker at localhost:{port}" in output
  assert "Job state changed to DONE" in output
  assert "Starting worker with command ['python', '-c'" in log_text(pool_log)

  portable = tfds.builder("ilsvrc2012", data_dir=data_dir)
  plain = build(SOURCES, tmp_path / "plain")
  for builder in (plain, portable):
    assert {s: i.num_examples for s, i in builder.info.splits.items()} == SPLITS
  for split in SPLITS:
    want, got = examples(plain, split), examples(portable, split)
    assert sorted(got) == sorted(want), split
    assert [key for key in sorted(want) if got[key] != want[key]] == [], split


def test_a_relative_manual_dir_reaches_workers_that_run_in_another_folder(
    tmp_path, worker_pool, subprocess_env):
  # The pool runs in tmp_path, where "ilsvrc2012" names nothing; the build runs beside the
  # sources and names them relatively. Units carried the relative path to the workers (a
  # FileNotFoundError there) until planning named local sources from the root.
  port, pool_log = worker_pool
  elsewhere = tmp_path / "elsewhere"
  elsewhere.mkdir()
  (elsewhere / "ilsvrc2012").symlink_to(SOURCES)
  options = ("runner=PortableRunner,job_endpoint=embed,environment_type=EXTERNAL,"
             f"environment_config=localhost:{port}")
  output = build_on_the_pool(
      [str(VENV_BIN / "tfds"), "build", "--imports", "tfds_builders", "ilsvrc2012",
       "--manual_dir", "ilsvrc2012", "--data_dir", str(tmp_path / "portable"),
       f"--beam_pipeline_options={options}"],
      subprocess_env, elsewhere, pool_log)
  assert "Job state changed to DONE" in output
  assert "Starting worker with command ['python', '-c'" in log_text(pool_log)
  assert not (tmp_path / "ilsvrc2012").exists()
  portable = tfds.builder("ilsvrc2012", data_dir=tmp_path / "portable")
  plain = build(SOURCES, tmp_path / "plain")
  for split in SPLITS:
    want, got = examples(plain, split), examples(portable, split)
    assert sorted(got) == sorted(want), split
    assert [key for key in sorted(want) if got[key] != want[key]] == [], split
