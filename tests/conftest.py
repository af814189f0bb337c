"""Shared fixtures. Tests never reach an outside address: see tests/support/local_http.py."""

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
DUMMY_DATA = REPO / "dummy_data"
sys.path.insert(0, str(REPO / "tests"))  # for `from support import ...`

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@pytest.fixture(autouse=True, scope="session")
def only_loopback_network():
  """Any look-up or connection to an outside address fails at once, as on a machine whose DNS
  answers "no such name" at once.

  Without this, how long the suite takes depends on the machine's network: where the resolver
  does not answer, or a firewall drops packets, each attempt waits for a timeout. Errors are the
  OSErrors a real failure raises, so code under test sees what it would see offline.
  """
  import ipaddress
  import socket

  real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

  def getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or name in LOOPBACK_HOSTS or _is_loopback(name):
      return real_getaddrinfo(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, f"outside address {name!r} refused by the tests")

  def connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
      raise ConnectionRefusedError(f"outside address {address[0]!r} refused by the tests")
    return real_connect(sock, address)

  def _is_loopback(name):
    try:
      return ipaddress.ip_address(name).is_loopback
    except ValueError:
      return name in LOOPBACK_HOSTS

  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(socket, "getaddrinfo", getaddrinfo)
    patch.setattr(socket.socket, "connect", connect)
    yield


@pytest.fixture
def http_server():
  from support.local_http import LocalHttpServer
  with LocalHttpServer() as server:
    yield server


@pytest.fixture
def no_network(monkeypatch):
  """Makes any attempt to open a network connection fail the test loudly."""
  import socket

  def refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args!r}")

  monkeypatch.setattr(socket.socket, "connect", refuse)
  monkeypatch.setattr(socket, "create_connection", refuse)
  # A name look-up is network access too, and where no DNS server answers it waits seconds.
  monkeypatch.setattr(socket, "getaddrinfo", refuse)


def pytest_configure(config):
  # protobuf's deprecation notice, raised inside tensorflow_datasets on every feature spec.
  config.addinivalue_line("filterwarnings",
                          "ignore:label\\(\\) is deprecated:DeprecationWarning")
