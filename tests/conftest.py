"""Shared fixtures. Tests never reach an outside address: see tests/support/local_http.py."""

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
DUMMY_DATA = REPO / "dummy_data"
sys.path.insert(0, str(REPO / "tests"))  # for `from support import ...`

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True, scope="session")
def only_loopback_network():
  """Any look-up or connection to an outside address fails at once (tests/support/loopback.py):
  how long the suite takes must not depend on the machine's network, and code under test sees
  the OSErrors it would see offline."""
  from support import loopback
  with loopback.only_loopback():
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
