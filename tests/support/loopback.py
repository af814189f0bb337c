"""The one loopback guard of the tests: where it is on, a process reaches only this machine.

Any name look-up or connection to an outside address fails at once with the OSError a real
failure raises (`socket.gaierror`, `ConnectionRefusedError`), as on a machine whose DNS answers
"no such name" at once: the code under test sees what it would see offline, and how long the
suite takes does not depend on the machine's network. Only the standard library is used, so that
the file's own text can serve as a child process's `sitecustomize` (`install()` at its end).
"""

import contextlib
import ipaddress
import pathlib
import socket

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host) -> bool:
  """True for this machine's names and addresses, and for no host at all (binding)."""
  if isinstance(host, bytes):
    host = host.decode()
  if host in (None, "") or host in LOOPBACK_NAMES:
    return True
  try:
    return ipaddress.ip_address(host).is_loopback
  except ValueError:
    return False


def _guarded(getaddrinfo, connect, refused: list):
  def getaddrinfo_loopback(host, *args, **kwargs):
    if not is_loopback(host):
      refused.append(("lookup", host))
      raise socket.gaierror(socket.EAI_NONAME, f"outside address {host!r} refused by the tests")
    return getaddrinfo(host, *args, **kwargs)

  def connect_loopback(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
      refused.append(("connect", address[0]))
      raise ConnectionRefusedError(f"outside address {address[0]!r} refused by the tests")
    return connect(sock, address)

  return getaddrinfo_loopback, connect_loopback


def install() -> None:
  """For the rest of this process's life."""
  socket.getaddrinfo, socket.socket.connect = _guarded(socket.getaddrinfo, socket.socket.connect,
                                                       [])


@contextlib.contextmanager
def only_loopback():
  """While active; what was there before comes back afterwards. Yields the list of what was
  refused, `("lookup" | "connect", host)`, for a test that must fail on any attempt."""
  saved = socket.getaddrinfo, socket.socket.connect
  refused = []
  socket.getaddrinfo, socket.socket.connect = _guarded(*saved, refused)
  try:
    yield refused
  finally:
    socket.getaddrinfo, socket.socket.connect = saved


def sitecustomize_dir(parent) -> pathlib.Path:
  """A folder whose `sitecustomize.py` installs this guard: put it on a child's PYTHONPATH, and
  the child and every Python process it starts (Beam's workers, the `tfds` command) reach only
  this machine."""
  folder = pathlib.Path(parent) / "loopback_only"
  folder.mkdir(parents=True, exist_ok=True)
  (folder / "sitecustomize.py").write_text(pathlib.Path(__file__).read_text() + "\n\ninstall()\n")
  return folder
