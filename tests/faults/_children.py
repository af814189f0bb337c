"""What the fault tests share: a fresh Python process whose peak RSS is its own, and a first step
for a child that must meet files it may not read even when the tests run as root."""

import json
import os
import subprocess
import sys
import textwrap

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


# Root reads every file whatever its mode: a child that must meet a file it may not read gives up
# CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH as its first step. It stays root rather than becoming
# `nobody`: a clone in a private folder (/root, `mktemp -d`), its venv and Python itself may lie
# where only root may enter, and as their owner root still enters them by their modes. Linux keeps
# capabilities per thread, so this runs before any import starts a thread (TensorFlow starts many).
MODES_APPLY_TO_ROOT_TOO = textwrap.dedent("""
    import ctypes, os, sys
    if sys.platform == "linux":
      class CapHeader(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
      class CapData(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]
      libc = ctypes.CDLL(None, use_errno=True)
      header, sets = CapHeader(0x20080522, 0), (CapData * 2)()  # _LINUX_CAPABILITY_VERSION_3
      if libc.capget(ctypes.byref(header), sets) != 0:
        raise OSError(ctypes.get_errno(), "capget")
      kept = ~((1 << 1) | (1 << 2)) & 0xFFFFFFFF  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
      sets[0].effective &= kept; sets[0].permitted &= kept; sets[0].inheritable &= kept
      if libc.capset(ctypes.byref(header), sets) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    elif os.geteuid() == 0:
      sys.exit("as root, only on Linux can a process give up reading every file: run as a user")
""")
