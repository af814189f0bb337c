"""What the fault tests share: a fresh Python process whose peak RSS is its own, and a folder every
user can reach (for the tests that drop to another user)."""

import contextlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from conftest import REPO


def run_fresh(script: str, *args: str) -> dict:
  """Runs `script` (which prints a JSON object as its last line) in a fresh Python; the object.

  The child is started through sh, which forks it: a process exec'd straight from pytest would
  inherit pytest's own peak as its ru_maxrss (Linux keeps the peak across exec), and a growth below
  that peak would not show.
  """
  out = subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c", script,
                        *args], capture_output=True, text=True, timeout=600, cwd=REPO,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert out.returncode == 0, out.stderr[-3000:]
  return json.loads(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def reachable_folder():
  """A folder every user can reach (pytest's own tmp folders are private to their owner); whatever
  a test locked in it is unlocked again to be removed."""
  folder = pathlib.Path(tempfile.mkdtemp(prefix="tfds_builders_perm_"))
  try:
    os.chmod(folder, 0o755)
    yield folder
  finally:
    for path in folder.rglob("*"):
      os.chmod(path, 0o755 if path.is_dir() else 0o644)
    shutil.rmtree(folder)
