"""TensorFlow's start-up lines, kept off the command line's stderr; every other line let through.

TensorFlow 2.21 writes a few lines from C++ while it loads, before its logging is set up, so
TF_CPP_MIN_LOG_LEVEL does not reach them; which ones depends on the CPU (an Intel Xeon with
AVX-512 or AMX gets the oneDNN notice, twice). They say nothing about the user's run, so the
command line drops exactly those shapes and passes on every other byte written to file descriptor
2: a real error, a warning or a traceback is still shown, as it was written.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading

# An absl line as written before absl::InitializeLog(): severity, MMDD (0000), time (seconds since
# the epoch then), thread id, file:line]. The file may be named with its folder by older builds.
_ABSL_INFO = rb"I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ (?:\S+/)?"
STARTUP_LINES = (
    re.compile(rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written "
               rb"to STDERR"),
    re.compile(_ABSL_INFO + rb"port\.cc:\d+\] oneDNN custom operations are on\. You may see "
               rb"slightly different numerical results due to floating-point round-off errors "
               rb"from different computation orders\. To turn them off, set the environment "
               rb"variable `TF_ENABLE_ONEDNN_OPTS=0`\."),
    re.compile(_ABSL_INFO + rb"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized "
               rb"to use available CPU instructions in performance-critical operations\."),
)
# cpu_feature_guard's message goes on on a line of its own, which is dropped only right after it.
CPU_FEATURES_LINE = re.compile(rb"To enable the following instructions: [A-Z0-9_ ]+, in other "
                               rb"operations, rebuild TensorFlow with the appropriate compiler "
                               rb"flags\.")


class StartupLineFilter:
  """Takes what was written to stderr, in pieces of any size; `write` gets every line that is not
  one of STARTUP_LINES, with its line break, as it was written."""

  def __init__(self, write):
    self._write = write
    self._partial = b""
    self._after_cpu_feature_guard = False

  def feed(self, data: bytes):
    *lines, self._partial = (self._partial + data).split(b"\n")
    for line in lines:
      self._line(line, b"\n")

  def close(self):
    if self._partial:
      self._line(self._partial, b"")
      self._partial = b""

  def _line(self, line: bytes, end: bytes):
    after_cpu_feature_guard, self._after_cpu_feature_guard = self._after_cpu_feature_guard, False
    text = line[:-1] if line.endswith(b"\r") else line
    if any(shape.fullmatch(text) for shape in STARTUP_LINES):
      self._after_cpu_feature_guard = b"cpu_feature_guard.cc:" in text
      return
    if after_cpu_feature_guard and CPU_FEATURES_LINE.fullmatch(text):
      return
    self._write(line + end)


@contextlib.contextmanager
def tensorflow_startup_lines_dropped():
  """While inside, file descriptor 2 (C++ and Python alike) goes through a pipe to a thread that
  drops TensorFlow's start-up lines and writes every other line to the real stderr at once."""
  if sys.stderr is not None:
    sys.stderr.flush()
  try:
    real_stderr = os.dup(2)
  except OSError:  # no stderr at all: nothing to keep clean
    yield
    return
  read_end, write_end = os.pipe()

  def write(data: bytes):
    try:
      while data:
        data = data[os.write(real_stderr, data):]
    except OSError:  # the reader of stderr went away: keep draining, or writers would block
      pass

  def forward():
    line_filter = StartupLineFilter(write)
    try:
      while data := os.read(read_end, 65536):
        line_filter.feed(data)
      line_filter.close()
    finally:
      # Closed here, not by the command: a forwarder still running must not write into a file
      # that reuses the descriptor's number.
      os.close(read_end)
      os.close(real_stderr)

  forwarder = threading.Thread(target=forward, name="stderr-startup-line-filter", daemon=True)
  forwarder.start()
  os.dup2(write_end, 2)
  os.close(write_end)
  try:
    yield
  finally:
    if sys.stderr is not None:
      sys.stderr.flush()
    os.dup2(real_stderr, 2)  # closes the pipe's last write end: the forwarder reads to its end
    # A process started inside and still running holds a write end too: what it writes later is
    # not worth a command that never returns.
    forwarder.join(timeout=10)
