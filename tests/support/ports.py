"""Ports for the tests' servers, without a race.

Asking the kernel for a free port and handing its number to a server (bind port 0, read the
number, close, pass it on) leaves a window in which any other process may take that port. Here a
server binds port 0 itself and reports the port it got: a child process prints one JSON line,
`{"port": N, ...}`, on its stdout (`report`), which the test reads with a timeout
(`reported`), so that a server that hangs before it reports fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from typing import IO, Optional

START_TIMEOUT_S = 120.0


def report(port: int, **more) -> None:
  """In the server's process, once it listens: the line `reported` waits for."""
  print(json.dumps({"port": port, "pid": os.getpid(), **more}), flush=True)


def read_line(stream: IO[bytes], timeout: float, what: str) -> bytes:
  """The next line of a child's stdout pipe, or TimeoutError naming `what` after `timeout` s.
  Reads the file descriptor directly (os.read), so no bytes are left in a Python buffer."""
  fd = stream.fileno()
  line = b""
  deadline = time.monotonic() + timeout
  with selectors.DefaultSelector() as selector:
    selector.register(fd, selectors.EVENT_READ)
    while not line.endswith(b"\n"):
      left = deadline - time.monotonic()
      if left <= 0 or not selector.select(left):
        raise TimeoutError(f"{what}: no line after {timeout:.0f} s (got {line!r})")
      chunk = os.read(fd, 1)  # one byte at a time: what follows the line stays in the pipe
      if not chunk:
        return line  # the child closed its stdout (it exited)
      line += chunk
  return line


def reported(process: subprocess.Popen, what: str, log: Optional[str] = None,
             timeout: float = START_TIMEOUT_S) -> dict:
  """What a child started with stdout=PIPE reported (`report`); RuntimeError with the end of its
  log if it exited first."""
  line = read_line(process.stdout, timeout, what)
  if not line:
    try:
      process.wait(timeout=30)
    except subprocess.TimeoutExpired:
      process.kill()
      process.wait()
    tail = open(log).read()[-3000:] if log and os.path.exists(log) else ""
    raise RuntimeError(f"{what} exited with {process.returncode} before reporting its port:\n"
                       f"{tail}")
  return json.loads(line)


__all__ = ["read_line", "report", "reported"]
