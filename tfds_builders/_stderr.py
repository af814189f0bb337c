"""TensorFlow's start-up lines, kept off the command line's stderr by a process that outlives the
one that may crash; every other byte let through.

TensorFlow 2.21 writes a few lines from C++ while it loads, before its logging is set up, so
TF_CPP_MIN_LOG_LEVEL does not reach them; which ones depends on the CPU (one with AVX-512 or AMX
gets the absl InitializeLog warning and the oneDNN notice, twice). They say nothing about the
user's run, so the command line drops exactly those shapes and passes on every other byte written
to file descriptor 2: a real error, a warning or a traceback is still shown, as it was written.

The filter cannot live in the process that does the work: a crash (a segfault in TensorFlow's C++,
an abort) would take what is still in the pipe with it, faulthandler's dump included, and a thread
of that process cannot read while `import tensorflow` holds the GIL. So `supervise` forks: the
child does the work with fd 2 on a pipe, or on a pseudo-terminal when stderr is a terminal (so that
the child's `isatty()` is true and progress bars redraw), and the parent, which never imports
TensorFlow, filters, then ends as the child ended.
"""

from __future__ import annotations

import errno
import faulthandler
import fcntl
import os
import re
import select
import signal
import sys
import termios
import time

# An absl line as written before absl::InitializeLog(): severity, MMDD (0000), time (seconds since
# the epoch then), thread id, file:line]. The file may be named with its folder by older builds.
_ABSL_INFO = rb"I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ (?:\S+/)?"
ABSL_PRE_INIT_WARNING = (b"WARNING: All log messages before absl::InitializeLog() is called are "
                         b"written to STDERR")
STARTUP_LINES = (
    re.compile(re.escape(ABSL_PRE_INIT_WARNING)),
    re.compile(_ABSL_INFO + rb"port\.cc:\d+\] oneDNN custom operations are on\. You may see "
               rb"slightly different numerical results due to floating-point round-off errors "
               rb"from different computation orders\. To turn them off, set the environment "
               rb"variable `TF_ENABLE_ONEDNN_OPTS=0`\."),
    re.compile(_ABSL_INFO + rb"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized "
               rb"to use available CPU instructions in performance-critical operations\."),
)
# cpu_feature_guard's message goes on on a line of its own, which is dropped only right after it.
CPU_FEATURES_START = b"To enable the following instructions: "
CPU_FEATURES_LINE = re.compile(re.escape(CPU_FEATURES_START) + rb"[A-Z0-9_ ]+, in other "
                               rb"operations, rebuild TensorFlow with the appropriate compiler "
                               rb"flags\.")
# The start of a line that may still become an absl start-up line: absl writes a line with its
# break in one write, so one held this far is let go at its break, a moment later.
_ABSL_LINE_START = re.compile(rb"I[\d :.]*|" + _ABSL_INFO + rb".*")

# After the child has ended, what a process it left running writes is waited for this long.
LEFT_RUNNING_GRACE_S = 10.0
# Linux: si_code of a signal the kernel sent, as a terminal's Ctrl-C to its foreground group.
_SI_KERNEL = 0x80


class StartupLineFilter:
  """Takes what was written to stderr, in pieces of any size; `write` gets every byte that is not
  part of one of STARTUP_LINES, as it was written. A line is held back only while it may still
  become a start-up line: a progress bar's `\\r` redraws and a prompt pass on at once."""

  def __init__(self, write):
    self._write = write
    self._held = b""  # the start of a line that may still be a start-up line
    self._passing = False  # the current line is shown: its next bytes go straight on
    self._after_cpu_feature_guard = False

  def feed(self, data: bytes):
    shown = []
    for piece in data.splitlines(keepends=True):
      if b"\n" not in piece:  # splitlines also cuts at \r and others: only \n ends a line here
        shown.append(self._part(piece))
        continue
      shown.append(self._part(piece[:-1]))
      if self._passing:
        shown.append(b"\n")
      else:
        shown.append(self._line(self._held))
      self._held, self._passing = b"", False
    shown = b"".join(shown)
    if shown:
      self._write(shown)

  def close(self):
    if self._held:
      self._write(self._held)
    self._held, self._passing = b"", False

  def _part(self, piece: bytes) -> bytes:
    if self._passing:
      return piece
    line = self._held + piece
    text = line[:-1] if line.endswith(b"\r") else line
    if (ABSL_PRE_INIT_WARNING.startswith(text) or _ABSL_LINE_START.fullmatch(text)
        or (self._after_cpu_feature_guard
            and (CPU_FEATURES_START.startswith(text) or text.startswith(CPU_FEATURES_START)))):
      self._held = line
      return b""
    self._held, self._passing, self._after_cpu_feature_guard = b"", True, False
    return line

  def _line(self, line: bytes) -> bytes:
    after_cpu_feature_guard, self._after_cpu_feature_guard = self._after_cpu_feature_guard, False
    text = line[:-1] if line.endswith(b"\r") else line
    if any(shape.fullmatch(text) for shape in STARTUP_LINES):
      self._after_cpu_feature_guard = b"cpu_feature_guard.cc:" in text
      return b""
    if after_cpu_feature_guard and CPU_FEATURES_LINE.fullmatch(text):
      return b""
    return line + b"\n"


def supervise():
  """Splits this process in two. The child returns from this call and does the work, with file
  descriptor 2 (and 1 as well when both are the same file, so that their order is kept) on a
  pseudo-terminal if stderr is a terminal, else on a pipe. The parent never returns: it writes
  what the child writes, minus STARTUP_LINES, to the real stderr, and ends as the child ended
  (see `_end_as`). Call it before TensorFlow is imported, in a process with a single thread."""
  try:
    os.fstat(2)
  except OSError:  # no stderr at all: nothing to keep clean
    return
  if "tensorflow" in sys.modules:
    # Loaded already (main() called from a program that imported it): its start-up lines are
    # written, and a fork of a process that runs TensorFlow's threads may hang in the child.
    return
  if not hasattr(signal, "sigtimedwait"):  # macOS: no way to tell who sent a signal
    return
  for stream in (sys.stdout, sys.stderr):
    if stream is not None:
      stream.flush()  # or the child would write it once more
  terminal = os.isatty(2)
  if terminal:
    read_end, write_end = os.openpty()
    # The child's bytes as written: the real terminal turns "\n" into "\r\n" itself.
    attributes = termios.tcgetattr(write_end)
    attributes[1] &= ~termios.OPOST
    termios.tcsetattr(write_end, termios.TCSANOW, attributes)
    _copy_window_size(read_end)
  else:
    read_end, write_end = os.pipe()
  stdout_too = _same_file(1, 2)
  watched = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}
  if terminal:
    watched.add(signal.SIGWINCH)
  # Blocked before the fork, so that none is lost or kills the parent before it watches them.
  unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
  pid = os.fork()
  if pid == 0:
    os.close(read_end)
    os.dup2(write_end, 2)
    if stdout_too:
      os.dup2(write_end, 1)
    os.close(write_end)
    signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
    return
  os.close(write_end)
  _end_as(_relay(pid, read_end, watched, terminal))


def _relay(pid: int, read_end: int, watched, terminal: bool) -> int:
  """Filters what the child writes until every writer has closed its end (or the child has been
  gone for LEFT_RUNNING_GRACE_S), passing signals on; returns the child's exit code as
  subprocess does (-N: killed by signal N)."""
  real_stderr_open = True

  def write(data: bytes):
    nonlocal real_stderr_open
    try:
      while real_stderr_open and data:
        data = data[os.write(2, data):]
    except OSError:  # the reader of stderr went away: keep draining, or the child would block
      real_stderr_open = False

  line_filter = StartupLineFilter(write)
  reading, code, deadline = True, None, None
  while reading or code is None:
    if reading:
      if select.select([read_end], [], [], 0.05)[0]:
        try:
          data = os.read(read_end, 65536)
        except OSError as e:  # a pseudo-terminal's reader gets EIO once no writer is left
          if e.errno != errno.EIO:
            raise
          data = b""
        if data:
          line_filter.feed(data)
        else:
          reading = False
      info = signal.sigtimedwait(watched, 0)
    else:
      info = signal.sigtimedwait(watched, 0.05)
    while info is not None:
      if info.si_signo == signal.SIGWINCH:
        _copy_window_size(read_end)
      elif code is None and info.si_code != _SI_KERNEL:
        # Sent to this process by another (kill, a job scheduler): the child is the one to stop.
        # One the terminal sent reached the child too, as it went to the whole group.
        os.kill(pid, info.si_signo)
      info = signal.sigtimedwait(watched, 0)
    if code is None:
      done, status = os.waitpid(pid, os.WNOHANG)
      if done:
        code = os.waitstatus_to_exitcode(status)
        deadline = time.monotonic() + LEFT_RUNNING_GRACE_S
    elif reading and time.monotonic() > deadline:
      reading = False  # a process the child left running still holds a write end
  line_filter.close()
  os.close(read_end)
  return code


def _end_as(code: int):
  """Ends this process as the child ended: with its exit code, or killed by its signal, so that a
  shell prints "Segmentation fault" and sees 128+N, and subprocess sees -N, as without the
  parent."""
  if code >= 0:
    os._exit(code)  # the child ran the atexit handlers and flushed the buffers
  number = -code
  faulthandler.disable()  # no dump of the parent's own: the child's is shown
  try:
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
  except (ImportError, ValueError, OSError):  # the child left its core file already, if any
    pass
  signal.signal(number, signal.SIG_DFL)
  os.kill(os.getpid(), number)
  signal.pthread_sigmask(signal.SIG_UNBLOCK, {number})
  os._exit(128 + number)  # a signal that does not end a process by default (never seen here)


def _copy_window_size(pseudo_terminal: int):
  try:
    size = fcntl.ioctl(2, termios.TIOCGWINSZ, b"\0" * 8)
    fcntl.ioctl(pseudo_terminal, termios.TIOCSWINSZ, size)
  except OSError:
    pass


def _same_file(fd: int, other: int) -> bool:
  try:
    a, b = os.fstat(fd), os.fstat(other)
  except OSError:
    return False
  return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
