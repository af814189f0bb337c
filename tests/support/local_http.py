"""A local HTTP server on 127.0.0.1 for download tests; started and stopped by the tests.

Routes map a path to a behaviour, so one server can play every kind of broken mirror:

    with LocalHttpServer() as server:
      server.route("/a/file.gz", body=b"...")               # 200 with the bytes
      server.route("/b/file.gz", status=404)                # an HTTP error
      server.route("/c/file.gz", behaviour="reset")         # connection reset mid-response
      server.route("/d/file.gz", behaviour="hang")          # accepts, never answers
      server.route("/e/file.gz", body=b"...", behaviour="truncate")  # short body, full length
      server.route("/f/file.gz", body=b"...", behaviour="no_length")  # body ends the connection
      server.route("/g/file.gz", behaviour="endless")       # no length, bytes until the client goes
      server.route("/h/file.gz", body=b"...", behaviour="trickle", delay=0.05)  # a byte at a time
      server.route("/i/file.csv", body=b"<html>...", content_type="text/html")
      urls = server.url("/a/file.gz")

It never talks to any other address. `requests` records every path asked for.
"""

from __future__ import annotations

import http.server
import socket
import struct
import threading
import time
from typing import Dict, List, Optional


class _Handler(http.server.BaseHTTPRequestHandler):
  protocol_version = "HTTP/1.1"

  def log_message(self, *args):  # keep test output clean
    pass

  def do_GET(self):  # noqa: N802
    server: "LocalHttpServer" = self.server.owner
    server.requests.append(self.path)
    spec = server.routes.get(self.path)
    if spec is None:
      self._send_status(404)
      return
    behaviour = spec.get("behaviour")
    if spec.get("status", 200) != 200:
      self._send_status(spec["status"])
      return
    body = spec.get("body", b"")
    if behaviour == "hang":
      server.stop_event.wait(spec.get("hang_seconds", 30))
      return
    if behaviour == "reset":
      # SO_LINGER 0 makes close() send an RST: the client sees "connection reset".
      self.send_response(200)
      self.send_header("Content-Length", str(len(body)))
      self.end_headers()
      self.wfile.write(body[: len(body) // 2])
      self.wfile.flush()
      self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
      self.connection.close()
      self.close_connection = True
      return
    if behaviour in ("no_length", "endless"):
      # An HTTP/1.0-style body: no Content-Length, it ends when the server closes the connection.
      self.send_response(200)
      self.send_header("Connection", "close")
      self.end_headers()
      self.close_connection = True
      if behaviour == "no_length":
        self.wfile.write(body)
        return
      deadline = time.monotonic() + spec.get("seconds", 20)
      try:
        while time.monotonic() < deadline and not server.stop_event.is_set():
          self.wfile.write(b"0" * 65536)
      except (BrokenPipeError, ConnectionResetError):
        pass
      return
    self.send_response(200)
    self.send_header("Content-Length", str(spec.get("length", len(body))))
    if spec.get("content_type"):
      self.send_header("Content-Type", spec["content_type"])
    self.end_headers()
    if behaviour == "trickle":
      try:
        for i in range(len(body)):
          if server.stop_event.wait(spec.get("delay", 0.05)):
            return
          self.wfile.write(body[i:i + 1])
          self.wfile.flush()
      except (BrokenPipeError, ConnectionResetError):
        pass
      return
    if behaviour == "truncate":
      self.wfile.write(body[: len(body) // 2])
      self.wfile.flush()
      self.close_connection = True
      return
    self.wfile.write(body)

  def _send_status(self, code: int):
    self.send_response(code)
    self.send_header("Content-Length", "0")
    self.end_headers()


class LocalHttpServer:
  """A threaded HTTP server bound to 127.0.0.1 on a free port."""

  def __init__(self):
    self.routes: Dict[str, dict] = {}
    self.requests: List[str] = []
    self.stop_event = threading.Event()
    self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    self._httpd.daemon_threads = True
    self._httpd.owner = self
    self._thread: Optional[threading.Thread] = None

  @property
  def base_url(self) -> str:
    host, port = self._httpd.server_address[:2]
    return f"http://{host}:{port}"

  def url(self, path: str) -> str:
    return self.base_url + path

  def route(self, path: str, body: bytes = b"", status: int = 200,
            behaviour: Optional[str] = None, **extra) -> str:
    self.routes[path] = dict(body=body, status=status, behaviour=behaviour, **extra)
    return self.url(path)

  def __enter__(self) -> "LocalHttpServer":
    self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self.stop_event.set()
    self._httpd.shutdown()
    self._httpd.server_close()
    time.sleep(0)  # let handler threads observe the stop event
