"""tfds_builders/_stderr.py: the parent that filters the command line's stderr shows every byte
its child writes, up to a crash, minus TensorFlow's exact start-up lines, and ends as the child
ended.

The children here never import TensorFlow (they load _stderr.py by its path, not through the
package): what TensorFlow prints on the machine that runs the tests cannot change an outcome. Where
a child needs TensorFlow's start-up lines, it writes them itself, byte for byte as TensorFlow 2.21
does on a CPU with AVX-512.
"""

import fcntl
import os
import pathlib
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap

import pytest

from tfds_builders._stderr import StartupLineFilter
from conftest import REPO

# What TensorFlow 2.21 writes while it loads on a CPU with AVX-512 (the oneDNN notice, twice), and
# with TF_ENABLE_ONEDNN_OPTS=0 (cpu_feature_guard's notice, on two lines).
AVX512_STARTUP = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1796659989.703957   10516 port.cc:153] oneDNN custom operations are on. You may "
    b"see slightly different numerical results due to floating-point round-off errors from "
    b"different computation orders. To turn them off, set the environment variable "
    b"`TF_ENABLE_ONEDNN_OPTS=0`.\n"
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1796659992.118904   10516 port.cc:153] oneDNN custom operations are on. You may "
    b"see slightly different numerical results due to floating-point round-off errors from "
    b"different computation orders. To turn them off, set the environment variable "
    b"`TF_ENABLE_ONEDNN_OPTS=0`.\n")
AVX512_STARTUP_WITHOUT_ONEDNN = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1796659412.118904   10377 cpu_feature_guard.cc:227] This TensorFlow binary is "
    b"optimized to use available CPU instructions in performance-critical operations.\n"
    b"To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX512_FP16 "
    b"AVX_VNNI AMX_TILE AMX_INT8 AMX_BF16 FMA, in other operations, rebuild TensorFlow with the "
    b"appropriate compiler flags.\n")

# A child's first lines: _stderr.py loaded by its path (the package would import TensorFlow), the
# start-up lines passed in as they would be written, then `filtered` (argv[1]) puts the parent in.
PREAMBLE = textwrap.dedent(f"""\
    import importlib.util, os, sys
    spec = importlib.util.spec_from_file_location(
        "stderr_filter", {str(REPO / "tfds_builders" / "_stderr.py")!r})
    stderr_filter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stderr_filter)
    STARTUP = os.environ["STARTUP_LINES"].encode()
    if sys.argv[1] == "filtered":
      stderr_filter.supervise()
""")
FAULT_ENV = dict(os.environ, PYTHONFAULTHANDLER="1",
                 STARTUP_LINES=AVX512_STARTUP.decode() + AVX512_STARTUP_WITHOUT_ONEDNN.decode())


def source(script: str) -> str:
  return PREAMBLE + textwrap.dedent(script)


def line_of(script: str, statement: str) -> int:
  """The number of the line of `statement` in the child's source, as a traceback names it."""
  [number] = [n for n, line in enumerate(source(script).splitlines(), 1)
              if line.strip() == statement]
  return number


def child(script: str, mode: str = "filtered"):
  return subprocess.run([sys.executable, "-c", source(script), mode], env=FAULT_ENV, cwd=REPO,
                        capture_output=True, timeout=120)


def popen(script: str, **kwargs):
  return subprocess.Popen([sys.executable, "-c", source(script), "filtered"], env=FAULT_ENV,
                          cwd=REPO, **kwargs)


def thread_ids_masked(text: bytes) -> bytes:
  return re.sub(rb"0x[0-9a-f]+", b"0x...", text)


ABORT = r"""
    os.write(2, STARTUP)
    os.write(2, b"about to abort\n")
    os.abort()
"""


def test_an_abort_shows_the_line_before_and_the_fault_dump_and_ends_by_sigabrt():
  shown, unfiltered = child(ABORT), child(ABORT, mode="unfiltered")
  dump = (b"about to abort\n"
          b"Fatal Python error: Aborted\n\n"
          b"Current thread 0x... (most recent call first):\n"
          b'  File "<string>", line %d in <module>\n' % line_of(ABORT, "os.abort()"))
  assert (shown.returncode, shown.stdout, thread_ids_masked(shown.stderr)) == (
      -signal.SIGABRT, b"", dump)
  # The same child without the parent: the same bytes, after the start-up lines.
  assert (unfiltered.returncode, thread_ids_masked(unfiltered.stderr)) == (
      -signal.SIGABRT, FAULT_ENV["STARTUP_LINES"].encode() + dump)


SEGFAULT = r"""
    import ctypes, threading
    os.write(2, STARTUP)
    os.write(2, b"just before the crash\n")
    started = threading.Event()

    def crash():
      started.wait()
      ctypes.string_at(0)  # reads address 0: SIGSEGV

    thread = threading.Thread(target=crash, name="crasher")
    thread.start()
    started.set()
    thread.join(timeout=60)
"""


def test_a_segfault_in_a_thread_shows_the_line_before_and_the_fault_dump_and_ends_by_sigsegv():
  shown = child(SEGFAULT)
  assert (shown.returncode, shown.stdout) == (-signal.SIGSEGV, b"")
  text = thread_ids_masked(shown.stderr)
  head = (b"just before the crash\n"
          b"Fatal Python error: Segmentation fault\n\n"
          b"Current thread 0x... (most recent call first):\n")
  assert text.startswith(head), shown.stderr
  crashed, main_thread = text[len(head):].split(
      b"\n\nThread 0x... (most recent call first):\n")
  # The crashing thread's frames, to the line that crashed; then the main thread's, which is in
  # started.set() or in thread.join() at that moment.
  crashed = crashed.splitlines()
  assert re.fullmatch(rb'  File ".*/ctypes/__init__\.py", line \d+ in string_at', crashed[0])
  assert crashed[1] == (b'  File "<string>", line %d in crash'
                        % line_of(SEGFAULT, "ctypes.string_at(0)  # reads address 0: SIGSEGV"))
  assert main_thread.splitlines()[-1] in (
      b'  File "<string>", line %d in <module>' % line_of(SEGFAULT, statement)
      for statement in ("started.set()", "thread.join(timeout=60)")), shown.stderr


def test_what_a_childs_child_writes_is_shown_even_after_the_child_has_ended():
  # The child's child writes while the child waits for it; a second one, left running, writes only
  # once the child has ended (it sees itself handed to another parent): the filter waits for it.
  shown = child(r"""
      import subprocess
      WRITE = "import os, sys; os.write(2, os.environ['STARTUP_LINES'].encode() + sys.argv[1].encode())"
      LEFT_RUNNING = (
          "import os, sys, time\n"
          "parent, deadline = int(sys.argv[1]), time.monotonic() + 60\n"
          "while os.getppid() == parent and time.monotonic() < deadline:\n"
          "  time.sleep(0.01)\n"
          "os.write(2, os.environ['STARTUP_LINES'].encode() + b'left running\\n')\n")
      subprocess.run([sys.executable, "-c", WRITE, "from the child's child\n"], check=True,
                     timeout=60)
      subprocess.Popen([sys.executable, "-c", LEFT_RUNNING, str(os.getpid())])
      sys.exit(3)
  """)
  assert (shown.returncode, shown.stdout, shown.stderr) == (
      3, b"", b"from the child's child\nleft running\n")


def test_a_burst_written_in_one_call_that_holds_the_gil_arrives_whole_minus_startup_lines():
  # ctypes.PyDLL keeps the GIL through the call: a filter in a thread of the same process could
  # not read, and a write larger than a pipe holds would never return.
  shown = child(r"""
      import ctypes
      lines = [b"line %d of the burst\n" % i for i in range(60000)]
      for i in range(0, len(lines), 997):
        lines.insert(i, STARTUP)
      burst = b"".join(lines)
      assert ctypes.PyDLL(None).write(2, burst, len(burst)) == len(burst)
  """)
  assert (shown.returncode, shown.stdout) == (0, b""), shown.stderr[-2000:]
  assert shown.stderr == b"".join(b"line %d of the burst\n" % i for i in range(60000))


def test_every_writer_of_descriptor_2_is_filtered_and_a_last_partial_line_is_shown():
  # os.write (a start-up line cut in two), Python's sys.stderr, the C library's stdio; a near miss
  # of a start-up line; and, just before the process ends, a last line without its break that
  # looks like the start of one.
  shown = child(r"""
      import ctypes
      libc = ctypes.CDLL(None)
      os.write(2, STARTUP[:50])
      os.write(2, STARTUP[50:])
      sys.stderr.write("from sys.stderr\n")
      sys.stderr.flush()
      libc.fprintf(ctypes.c_void_p.in_dll(libc, "stderr"), b"from stdio\n")
      libc.fflush(None)
      os.write(2, b"W0000 00:00:1796659989.703957   10516 port.cc:153] a warning\n")
      os.write(2, STARTUP + b"I0000 00:00:1796659989.7")
      os._exit(5)
  """)
  assert (shown.returncode, shown.stdout, shown.stderr) == (
      5, b"", b"from sys.stderr\nfrom stdio\n"
              b"W0000 00:00:1796659989.703957   10516 port.cc:153] a warning\n"
              b"I0000 00:00:1796659989.7")


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_sent_to_the_command_reaches_the_child_and_the_command_ends_by_it(number):
  process = popen(r"""
      import time
      print("ready", flush=True)
      os.write(2, STARTUP)
      time.sleep(60)
  """, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  try:
    assert select.select([process.stdout], [], [], 60)[0], "the child never started"
    assert process.stdout.readline() == b"ready\n"
    process.send_signal(number)  # to the parent alone, as `kill` or a job scheduler sends it
    stdout, stderr = process.communicate(timeout=60)
  finally:
    process.kill()
  assert (process.returncode, stdout) == (-number, b"")
  if number == signal.SIGINT:  # Python's KeyboardInterrupt, then its death by SIGINT
    assert stderr.startswith(b"Traceback (most recent call last):\n"), stderr
    assert stderr.endswith(b"\nKeyboardInterrupt\n"), stderr
  else:
    assert stderr == b""


def read_until(fd: int, expected: bytes, received: bytearray):
  while expected not in received:
    assert select.select([fd], [], [], 60)[0], f"waited 60 s for {expected!r}: {received!r}"
    received += os.read(fd, 65536)


def test_a_progress_bar_redraws_on_a_terminal_at_once_and_follows_its_size():
  # This test is the terminal: the command's stderr is a pseudo-terminal 123 columns wide. Each
  # redraw must reach it before the child draws the next (the child waits for a line on stdin).
  terminal, command_side = os.openpty()
  fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 123, 0, 0))
  process = popen(r"""
      import time
      print(sys.stderr.isatty(), os.get_terminal_size(2), flush=True)
      os.write(2, STARTUP)
      for step in (1, 2, 3):
        os.write(2, b"\r%d/3 |" % step + b"#" * step)
        sys.stdin.readline()
      deadline = time.monotonic() + 60
      while os.get_terminal_size(2).columns != 77 and time.monotonic() < deadline:
        time.sleep(0.01)
      os.write(2, b"\n" + STARTUP + b"done at %d columns\n" % os.get_terminal_size(2).columns)
  """, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=command_side)
  os.close(command_side)
  received = bytearray()
  try:
    assert select.select([process.stdout], [], [], 60)[0], "the child never started"
    assert process.stdout.readline() == b"True os.terminal_size(columns=123, lines=30)\n"
    for step in (1, 2, 3):
      read_until(terminal, b"\r%d/3 |" % step + b"#" * step, received)
      process.stdin.write(b"\n")
      process.stdin.flush()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 77, 0, 0))
    process.send_signal(signal.SIGWINCH)  # as the terminal signals its foreground on a resize
    read_until(terminal, b"columns\r\n", received)
    assert process.wait(timeout=60) == 0
  finally:
    process.kill()
    os.close(terminal)
  # The child's bytes as written; the terminal turns each "\n" into "\r\n" itself, once.
  assert bytes(received) == b"\r1/3 |#\r2/3 |##\r3/3 |###\r\ndone at 77 columns\r\n"


def test_a_line_is_held_back_only_while_it_may_become_a_startup_line():
  shown = []
  line_filter = StartupLineFilter(shown.append)

  def fed(data: bytes) -> bytes:
    shown.clear()
    line_filter.feed(data)
    return b"".join(shown)

  # A progress bar's redraws and a prompt go on at once, and so does the rest of their line.
  assert fed(b"\r 10%|#") == b"\r 10%|#"
  assert fed(b"\r 20%|##") == b"\r 20%|##"
  assert fed(b"WARNING: All log messages before absl::InitializeLog() is called are written to "
             b"STDERR\n") == b"WARNING: All log messages before absl::InitializeLog() is called "\
                             b"are written to STDERR\n"
  assert fed(b"Input: ") == b"Input: "
  assert fed(b"\n") == b"\n"
  # The start of a start-up line waits for its line break, and goes if the line is not one.
  warning, onednn = AVX512_STARTUP.splitlines(keepends=True)[:2]
  assert fed(warning[:20]) == b""
  assert fed(warning[20:]) == b""
  assert fed(onednn[:30]) == b""
  assert fed(onednn[30:]) == b""
  assert fed(b"I0000 00:00:1796659989.703957   10516 ") == b""
  assert fed(b"other.cc:1] shown\n") == b"I0000 00:00:1796659989.703957   10516 other.cc:1] shown\n"
  assert fed(b"WARNING: All") == b""
  assert fed(b" is well\r") == b"WARNING: All is well\r"
  assert fed(b"\n") == b"\n"
  assert fed(b"I0000 00:00") == b""
  shown.clear()
  line_filter.close()  # the end of the stream: what is held is shown
  assert shown == [b"I0000 00:00"]
