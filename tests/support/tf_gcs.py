"""A local GCS emulator that both GCS routes of TFDS's path type can write to.

gcsfs (and google-cloud-storage) are pointed at an emulator by `STORAGE_EMULATOR_HOST`.
TensorFlow's own GCS file system cannot be: its hosts (www.googleapis.com for the JSON API and
uploads, storage.googleapis.com for reads) are compiled in. It does honour `CURL_CA_BUNDLE`,
`GOOGLE_AUTH_TOKEN_FOR_TESTING` and `NO_GCE_CHECK=true`, so `Sandbox` runs the emulator in a
private mount and network namespace (`unshare -m -n`, as root) whose `/etc/hosts` maps both hosts
to 127.0.0.1, behind a TLS front on :443 (a self-signed certificate for both names, handed to
libcurl by `CURL_CA_BUNDLE`) and a plain one on :80 (the emulator answers a resumable upload with
`Location: http://www.googleapis.com/...`). Processes that use it are started inside the same
namespaces (`nsenter`). The network namespace has nothing but its own loopback: no request made
there can leave the machine, whatever host name it was for.

gcp-storage-emulator needs, for TensorFlow's client, three fixes applied here in its own process
(`patch_emulator`): zero-length media uploads (TensorFlow's folder markers), a chunked body read
before `Content-Length` (TensorFlow's PUTs send both headers), and `GET .../storageLayout`
(asked before a folder rename) answered with a flat layout; and, for speed only, a
`100 Continue` to libcurl's `Expect: 100-continue` (else each upload waits a second for it). It
also ignores GCS's generation
preconditions (`ifGenerationMatch`), on which the bucket build lock relies: `patch_emulator`
implements them for uploads and deletes, as GCS documents them (412 when the object's live
generation differs; generation 0 means "no live object"), unless `--no-preconditions` is given.

Run as a script (`python tf_gcs.py serve ...`) it is the emulator process; `Emulator` (plain, for
gcsfs) and `Sandbox` (the namespaces and fronts, for TensorFlow) start it from a test.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import itertools
import json
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from typing import Optional, Sequence

HERE = pathlib.Path(__file__).resolve()
GCS_HOSTS = ("www.googleapis.com", "storage.googleapis.com")
# What TensorFlow's GCS client needs to use the sandbox: its CA file is added by Sandbox.env().
TF_ROUTE_ENV = {
    "GOOGLE_AUTH_TOKEN_FOR_TESTING": "emulator-token",
    "NO_GCE_CHECK": "true",
    # Fail fast rather than retry for minutes if something is wrong with the emulator.
    "GCS_REQUEST_CONNECTION_TIMEOUT_SECS": "20",
    "GCS_METADATA_REQUEST_TIMEOUT_SECS": "20",
    "GCS_READ_REQUEST_TIMEOUT_SECS": "60",
    "GCS_WRITE_REQUEST_TIMEOUT_SECS": "60",
}
# What gcsfs needs: see tests/test_cloud_paths.py (STORAGE_EMULATOR_HOST is added per emulator).
GCSFS_ROUTE_ENV = {"EPATH_USE_TF": "false", "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}


# ------------------------------------------------------------------------------------------------
# In the emulator's process.

def patch_emulator(preconditions: bool = True, audit: Optional[str] = None) -> None:
  """`audit`: a file that gets one JSON line per object write or delete, in the order served."""
  import urllib.parse
  from http import HTTPStatus
  from gcp_storage_emulator import server
  from gcp_storage_emulator.exceptions import NotFound
  from gcp_storage_emulator.handlers import objects

  def read_raw_data(request_handler, _read=server._read_raw_data):
    # TensorFlow's PUTs carry both Transfer-Encoding: chunked and a Content-Length; the body is
    # chunked (HTTP/1.1 says Transfer-Encoding wins).
    if (request_handler.headers.get("Transfer-Encoding") or "").lower() == "chunked":
      data = b""
      while True:
        line = request_handler.rfile.readline().strip()
        size = int(line.split(b";")[0], 16) if line else 0
        if size == 0:
          request_handler.rfile.readline()  # the empty line after the last chunk
          return data
        data += request_handler.rfile.read(size)
        request_handler.rfile.readline()
    return _read(request_handler)

  server._read_raw_data = read_raw_data

  def media_upload(request, response, storage, _upload=objects._media_upload):
    if request.data is None:  # a zero-length object (TensorFlow's "folder/" markers)
      request._data = b""
    return _upload(request, response, storage)

  objects._media_upload = media_upload

  def storage_layout(request, response, storage):
    storage.get_bucket(request.params["bucket_name"])
    response.json({"kind": "storage#storageLayout", "bucket": request.params["bucket_name"],
                   "location": "US", "locationType": "multi-region",
                   "hierarchicalNamespace": {"enabled": False}})

  def get_bucket_or_404(handler):
    @functools.wraps(handler)
    def wrapped(request, response, storage, *args, **kwargs):
      try:
        return handler(request, response, storage, *args, **kwargs)
      except NotFound:
        response.status = HTTPStatus.NOT_FOUND
    return wrapped

  extra = [(r"^/storage/v1/b/(?P<bucket_name>[-.\w]+)/storageLayout$",
            {"GET": get_bucket_or_404(storage_layout)})]

  replaced = {}
  if preconditions:
    def live_generation(storage, bucket, name) -> str:
      try:
        return str(storage.get_file_obj(bucket, name).get("generation") or "0")
      except NotFound:
        return "0"

    def precondition(handler, name_of):
      @functools.wraps(handler)
      def wrapped(request, response, storage, *args, **kwargs):
        want = request.query.get("ifGenerationMatch")
        name = name_of(request, storage)
        if want and name is not None:
          have = live_generation(storage, request.params["bucket_name"], name)
          if have != want[0]:
            if request.method in ("POST", "PUT"):
              request.data  # noqa: B018  (read the body, so the connection stays in step)
            response.status = HTTPStatus.PRECONDITION_FAILED
            response.json({"error": {"code": 412, "message": "At least one of the pre-conditions "
                                     "you specified did not hold.", "errors": [
                                         {"reason": "conditionNotMet", "domain": "global"}]}})
            return None
        return handler(request, response, storage, *args, **kwargs)
      return wrapped

    def upload_name(request, storage):
      if "name" in request.query:
        return request.query["name"][0]
      if "upload_id" in request.query:  # a resumable upload's chunk: checked at every chunk
        try:
          return storage.get_resumable_file_obj(request.query["upload_id"][0])["name"]
        except NotFound:
          return None
      if (request.query.get("uploadType") or [""])[0] == "multipart":
        return (request.data or {}).get("meta", {}).get("name")
      return None

    for name, name_of in (("insert", upload_name), ("upload_partial", upload_name),
                          ("delete", lambda r, _: r.params.get("object_id"))):
      original = getattr(objects, name)
      replaced[original] = precondition(original, name_of)
      setattr(objects, name, replaced[original])

  if audit:
    assert preconditions, "the audit names resumable uploads through the preconditions' patch"

    def audited(op, handler, name_of):
      @functools.wraps(handler)
      def wrapped(request, response, storage, *args, **kwargs):
        name = name_of(request, storage)  # before: a resumable upload's id is gone after
        result = handler(request, response, storage, *args, **kwargs)
        want = request.query.get("ifGenerationMatch")
        bucket = request.params.get("dest_bucket_name") or request.params.get("bucket_name")
        with open(audit, "a") as f:
          # `generation`: the object's live generation once served ("0": none), so that a test
          # can tell which write a later precondition names.
          f.write(json.dumps({"op": op, "name": urllib.parse.unquote(name or ""),
                              "if_generation_match": want[0] if want else None,
                              "status": int(response.status or 200),
                              "generation": live_generation(storage, bucket, name)
                              if name else None}) + "\n")
        return result
      return wrapped

    dest = lambda r, _: r.params.get("dest_object_id")  # noqa: E731
    for op, name_of in (("insert", upload_name), ("upload_partial", upload_name),
                        ("delete", lambda r, _: r.params.get("object_id")), ("copy", dest),
                        ("rewrite", dest)):
      original = getattr(objects, op)
      unwrapped = next((h for h, w in replaced.items() if w is original), original)
      replaced[unwrapped] = audited(op, original, name_of)
      setattr(objects, op, replaced[unwrapped])

  # The handler table holds the functions themselves: rebuild it with the wrapped ones.
  table = []
  for regex, handlers in server.HANDLERS:
    table.append((regex, {method: replaced.get(h, h) for method, h in handlers.items()}))
  server.HANDLERS = tuple(extra + table)

  # libcurl sends "Expect: 100-continue" with a PUT's body and waits a second for the go-ahead,
  # which Python's server gives only to HTTP/1.1 servers (the emulator speaks HTTP/1.0).
  parse_request = server.RequestHandler.parse_request

  def parse_request_and_continue(self):
    if not parse_request(self):
      return False
    if (self.headers.get("Expect") or "").lower() == "100-continue":
      self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
      self.wfile.flush()
    return True

  server.RequestHandler.parse_request = parse_request_and_continue

  # One request at a time, whichever front it came through: a precondition is checked and the
  # write done as one step, as GCS does.
  serialized = threading.Lock()
  handle = server.Router.handle

  def handle_one_at_a_time(self, method):
    with serialized:
      return handle(self, method)

  server.Router.handle = handle_one_at_a_time


def _bring_up_loopback() -> None:
  """`ip link set lo up`, without needing iproute2: a new network namespace's lo is down."""
  import fcntl
  import struct
  siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    request = struct.pack("16sH14x", b"lo", 0)
    flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), siocgifflags, request))[1]
    fcntl.ioctl(s.fileno(), siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def serve(args) -> None:
  from http.server import ThreadingHTTPServer
  from gcp_storage_emulator import server
  from gcp_storage_emulator.handlers import buckets
  from gcp_storage_emulator.storage import Storage

  if args.sandbox:
    _bring_up_loopback()
    subprocess.run(["mount", "--bind", args.hosts, "/etc/hosts"], check=True)
  patch_emulator(preconditions=not args.no_preconditions, audit=args.audit)
  if args.log_requests:
    import logging
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
  storage = Storage(use_memory_fs=True, data_dir=tempfile.mkdtemp(prefix="gcs-emulator-"))
  for bucket in args.bucket:
    buckets.create_bucket(bucket, storage)

  class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

  handler = functools.partial(server.RequestHandler, storage)
  fronts = [Server(("127.0.0.1", args.port), handler)]
  if args.sandbox:
    fronts.append(Server(("127.0.0.1", 80), handler))
    tls = Server(("127.0.0.1", 443), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    fronts.append(tls)
  for front in fronts:
    threading.Thread(target=front.serve_forever, daemon=True).start()
  print(json.dumps({"pid": os.getpid(), "port": fronts[0].server_address[1]}), flush=True)
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
  while True:
    time.sleep(3600)


# ------------------------------------------------------------------------------------------------
# In the test's process.


def _self_signed_certificate(folder: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
  from cryptography import x509
  from cryptography.hazmat.primitives import hashes, serialization
  from cryptography.hazmat.primitives.asymmetric import ec
  from cryptography.x509.oid import NameOID
  key = ec.generate_private_key(ec.SECP256R1())
  name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, GCS_HOSTS[0])])
  now = datetime.datetime.now(datetime.timezone.utc)
  cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
          .public_key(key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in GCS_HOSTS]),
                         critical=False)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(key, hashes.SHA256()))
  cert_path, key_path = folder / "gcs.pem", folder / "gcs.key"
  cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
  key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
  return cert_path, key_path


class Emulator:
  """The patched emulator on a free port of 127.0.0.1, for gcsfs and google-cloud-storage."""

  sandboxed = False

  def __init__(self, folder: pathlib.Path, buckets: Sequence[str], preconditions: bool = True,
               audit: bool = False):
    self.folder = pathlib.Path(folder)
    self.buckets = list(buckets)
    self.preconditions = preconditions
    self.audit = self.folder / "audit.jsonl" if audit else None
    self.process: Optional[subprocess.Popen] = None
    self.port: Optional[int] = None

  def _command(self) -> list[str]:
    # Port 0: the server takes a free port itself and reports it (support.ports).
    cmd = [sys.executable, str(HERE), "serve", "--port", "0"]
    for bucket in self.buckets:
      cmd += ["--bucket", bucket]
    if not self.preconditions:
      cmd.append("--no-preconditions")
    if self.audit:
      cmd += ["--audit", str(self.audit)]
    return cmd

  def __enter__(self):
    from support import ports
    self.folder.mkdir(parents=True, exist_ok=True)
    self._log = open(self.folder / "emulator.log", "wb")
    self.process = subprocess.Popen(self._command(), stdout=subprocess.PIPE, stderr=self._log)
    try:
      self.port = ports.reported(self.process, "the GCS emulator",
                                 log=str(self.folder / "emulator.log"))["port"]
    except BaseException:
      self.__exit__()
      raise
    return self

  def audited(self) -> list[dict]:
    """The object writes and deletes served so far (Emulator(audit=True))."""
    return [json.loads(line) for line in self.audit.read_text().splitlines()]

  def __exit__(self, *exc):
    if self.process is not None:
      self.process.terminate()
      try:
        self.process.wait(timeout=30)
      except subprocess.TimeoutExpired:
        self.process.kill()
        self.process.wait()
    self._log.close()

  @property
  def host(self) -> str:
    return f"http://127.0.0.1:{self.port}"

  def env(self, route: str = "gcsfs") -> dict:
    """The environment of a process that uses this emulator. `route`: "gcsfs" (TFDS's path type
    through gcsfs) or "tf" (through TensorFlow's own GCS file system: Sandbox only). Either way
    google-cloud-storage (the build lock) reaches it through STORAGE_EMULATOR_HOST."""
    if route != "gcsfs":
      raise ValueError("TensorFlow's GCS file system reaches the emulator only in a Sandbox")
    return dict(os.environ, STORAGE_EMULATOR_HOST=self.host, **GCSFS_ROUTE_ENV)

  def popen(self, args: Sequence[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(list(args), **kwargs)


class Sandbox(Emulator):
  """The patched emulator inside a private mount and network namespace, behind www.googleapis.com
  and storage.googleapis.com (TLS on :443, plain on :80). Needs root, `unshare` and `nsenter`."""

  sandboxed = True

  @staticmethod
  def unavailable_reason() -> Optional[str]:
    import shutil
    if os.geteuid() != 0:
      return "needs root (unshare -m -n, and a bind mount over /etc/hosts)"
    for tool in ("unshare", "nsenter", "mount"):
      if shutil.which(tool) is None:
        return f"needs {tool} (util-linux)"
    probe = subprocess.run(["unshare", "-m", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
      return f"unshare -m -n is not permitted here: {probe.stderr.strip()}"
    return None

  def _command(self) -> list[str]:
    self.cert, key = _self_signed_certificate(self.folder)
    hosts = self.folder / "hosts"
    hosts.write_text("127.0.0.1 localhost\n::1 localhost\n" +
                     "".join(f"127.0.0.1 {h}\n" for h in GCS_HOSTS))
    return (["unshare", "-m", "-n", "--"] + super()._command() +
            ["--sandbox", "--hosts", str(hosts), "--cert", str(self.cert), "--key", str(key)])

  def env(self, route: str = "tf") -> dict:
    if route == "gcsfs":
      return super().env("gcsfs")
    env = dict(os.environ, STORAGE_EMULATOR_HOST=self.host, CURL_CA_BUNDLE=str(self.cert),
               **TF_ROUTE_ENV)
    env.pop("EPATH_USE_TF", None)
    return env

  def popen(self, args: Sequence[str], **kwargs) -> subprocess.Popen:
    """A process in the sandbox's namespaces (its own /etc/hosts, its own loopback only)."""
    return subprocess.Popen(["nsenter", "-t", str(self.process.pid), "-m", "-n", "--"] +
                            list(args), **kwargs)


WRITES = ("insert", "upload_partial", "copy", "rewrite")


def assert_published_under_lock(audited: list[dict], version_dir: str) -> list[str]:
  """From the audit of an Emulator(audit=True): the build of `version_dir` (the version folder's
  object name, e.g. "tfds/mnist_idx/1.0.0") created its lock `.<version>.lock` beside it with
  ifGenerationMatch=0, then wrote the folder's files, dataset_info.json last, while it held the
  lock (every renewal naming the generation the one before it wrote), then deleted the lock,
  naming its last generation. Returns the names of the files written into the folder."""
  parent, _, version = version_dir.rpartition("/")
  lock = f"{parent}/.{version}.lock"
  served = [(i, e) for i, e in enumerate(audited) if 200 <= e["status"] < 300]
  on_lock = [(i, e) for i, e in served if e["name"] == lock]
  assert len(on_lock) >= 2, (f"{version_dir}: the lock {lock} was never created and deleted "
                             f"(requests on it: {[e for _, e in on_lock]})")
  (created_at, create), *renewals, (deleted_at, delete) = on_lock
  assert (create["op"], create["if_generation_match"]) == ("insert", "0"), (lock, create)
  generation = create["generation"]
  for _, renewal in renewals:
    assert (renewal["op"], renewal["if_generation_match"]) == ("insert", generation), (
        lock, renewal, generation)
    generation = renewal["generation"]
  assert (delete["op"], delete["if_generation_match"], delete["generation"]) == (
      "delete", generation, "0"), (lock, delete, generation)
  files = [(i, e["name"]) for i, e in served
           if e["op"] in WRITES and e["name"].startswith(version_dir + "/")]
  commit = f"{version_dir}/dataset_info.json"
  assert [name for _, name in files].count(commit) == 1, (commit, files)
  assert files[-1][1] == commit, f"{commit} was not the last file written: {files}"
  assert created_at < files[0][0] and files[-1][0] < deleted_at, (
      f"{version_dir} was written outside the lock {lock}: lock created at request "
      f"{created_at}, deleted at {deleted_at}; the folder's writes at {[i for i, _ in files]}")
  return sorted({name for _, name in files})


class BuildProcess:
  """`tf_gcs.py build <extra> --name <each of names>` in a sandbox (`Sandbox.popen`), its stdout
  and stderr in `<folder>/<tag>.out|err`, its pickled examples in `<folder>/<tag>/`."""

  def __init__(self, sandbox: "Sandbox", folder: pathlib.Path, tag: str, data_dir: str,
               names: Sequence[str], *extra, env: Optional[dict] = None):
    from tfds_builders.builder_base import sample_sources_dir
    self.tag = tag
    self.out, self.err = folder / f"{tag}.out", folder / f"{tag}.err"
    self.dump = folder / tag
    self.dump.mkdir()
    cmd = [sys.executable, str(HERE), "build", "--data-dir", data_dir, "--manual-dir",
           str(sample_sources_dir()), "--dump", str(self.dump), *map(str, extra)]
    for name in names:
      cmd += ["--name", name]
    with open(self.out, "w") as out, open(self.err, "w") as err:
      self.process = sandbox.popen(cmd, env=dict(sandbox.env("tf"), TF_CPP_MIN_LOG_LEVEL="2",
                                                 **(env or {})), stdout=out, stderr=err)

  def lines(self) -> list[str]:
    return self.out.read_text().splitlines()

  def tails(self) -> str:
    return (f"{self.tag} exited with {self.process.returncode}; stdout:\n"
            f"{self.out.read_text()[-3000:]}\nstderr:\n{self.err.read_text()[-5000:]}")

  def finish(self, timeout: float = 600) -> int:
    """Its exit status; killed (and the test failed) if it has not ended within `timeout` s."""
    try:
      self.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      self.kill()
      raise AssertionError(f"{self.tag} did not end within {timeout:.0f} s\n{self.tails()}")
    return self.process.returncode

  def kill(self) -> None:
    if self.process.poll() is None:
      self.process.kill()
      self.process.wait()

  def examples(self, name: str) -> dict:
    import pickle
    [dump] = self.dump.glob(f"{name.replace('/', '+')}.*.pkl")
    with open(dump, "rb") as f:
      return pickle.load(f)


def wait_until(condition, what: str, running: Sequence[BuildProcess] = (),
               timeout: float = 300) -> None:
  """Polls `condition` until true; fails after `timeout` s, or at once if one of `running` ends."""
  deadline = time.monotonic() + timeout
  while not condition():
    for build in running:
      assert build.process.poll() is None, f"{build.tag} ended before {what}\n{build.tails()}"
    assert time.monotonic() < deadline, f"not {what} after {timeout:.0f} s"
    time.sleep(0.05)


# ------------------------------------------------------------------------------------------------
# In a process that uses the bucket (started by Emulator.popen / Sandbox.popen).

def single_process_examples(data_dir, name: str = "mnist_idx") -> dict:
  """`examples` of a plain local build of `name` from the bundled samples into `data_dir`: what
  every build in a bucket must equal."""
  import tensorflow_datasets as tfds
  from tfds_builders.builder_base import sample_sources_dir
  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=sample_sources_dir() / tfds.builder_cls(name.split("/")[0]).sources_name()))
  return examples(builder)


def examples(builder_or_datasets, info=None) -> dict:
  """split -> every example as stored (images undecoded), in the dataset's order."""
  import tensorflow_datasets as tfds
  if info is None:
    builder = builder_or_datasets
    info = builder.info
    datasets = {}
    for split in sorted(info.splits):
      datasets[split] = builder.as_dataset(split=split, shuffle_files=False,
                                           decoders=skip_image_decoding(info))
  else:
    datasets = builder_or_datasets
  return {split: [{k: (v.tobytes() if hasattr(v, "tobytes") else v) for k, v in ex.items()}
                  for ex in tfds.as_numpy(datasets[split])]
          for split in sorted(datasets)}


def skip_image_decoding(info) -> dict:
  import tensorflow_datasets as tfds
  return {k: tfds.decode.SkipDecoding() for k, f in info.features.items()
          if isinstance(f, tfds.features.Image)}


# The longest a build process waits for the test (a file to appear, or to be killed): a test that
# died cannot leave it running for ever.
CHILD_WAIT_S = 600.0


def _wait_for_file(path: str, what: str) -> None:
  deadline = time.monotonic() + CHILD_WAIT_S
  while not os.path.exists(path):
    if time.monotonic() > deadline:
      sys.exit(f"tf_gcs.py build: {path} did not appear within {CHILD_WAIT_S:.0f} s ({what})")
    time.sleep(0.02)


def _stall(marker: str) -> None:
  pathlib.Path(marker).write_text(str(os.getpid()))
  time.sleep(CHILD_WAIT_S)  # the test kills this process long before
  sys.exit(f"tf_gcs.py build: stalled for {CHILD_WAIT_S:.0f} s and never killed ({marker})")


def _probe(name: str, data_dir: str) -> None:
  """What a reader finds there now: the splits TFDS restores, and whether tfds.load without
  download reads a dataset."""
  import tensorflow_datasets as tfds
  builder = tfds.builder(name, data_dir=data_dir)
  splits = {split: info.num_examples for split, info in builder.info.splits.items()}
  error = None
  try:
    tfds.load(name, data_dir=data_dir, download=False, split=None)
    load = "read"
  except Exception as e:  # noqa: BLE001  (its type is the answer)
    load, error = type(e).__name__, e
  print(f"probe {name} splits={json.dumps(splits)} load={load}", flush=True)
  if error is not None:
    print(f"probe {name} error: {error}", flush=True)


def build(args) -> None:
  """Builds (or waits for, then reads) each dataset with tfds.load, and pickles its examples."""
  import logging
  import pickle
  import tensorflow_datasets as tfds
  import tfds_builders  # noqa: F401  (registers the builders)
  from tfds_builders import publishing

  if args.no_cloud_storage:
    sys.modules["google.cloud.storage"] = None  # what `import` finds where it is not installed
  handler = logging.StreamHandler(sys.stdout)
  handler.setFormatter(logging.Formatter("%(message)s"))
  logging.getLogger("tfds_builders").addHandler(handler)
  logging.getLogger("tfds_builders").setLevel(logging.INFO)

  for name in args.name:
    cls = tfds.builder_cls(name.split("/")[0])
    generate = cls._generate_examples

    def counted(self, *a, _generate=generate, **kw):
      # Proof of who generated: one line per call, from every process, in one file.
      if args.count:
        with open(args.count, "a") as f:
          f.write(f"{os.getpid()} {self.info.full_name}\n")
      if args.slow_generation:
        time.sleep(args.slow_generation)
      examples = _generate(self, *a, **kw)
      if args.endless_generation:
        return endless(examples)
      if not args.stall_generation:
        return examples  # a generator, or Beam's own object on Beam

      def stalled():
        for i, example in enumerate(examples):
          if i == 3:
            _stall(args.stall_generation)
          yield example
      return stalled()

    def endless(examples):
      # The first 3 examples, then the last of them again and again under new keys: a build that
      # ends only when something stops it.
      first = [next(examples) for _ in range(3)]
      yield from first
      pathlib.Path(args.endless_generation).write_text(str(os.getpid()))
      key, example = first[-1]
      deadline = time.monotonic() + CHILD_WAIT_S
      for i in itertools.count():
        if time.monotonic() > deadline:
          sys.exit(f"tf_gcs.py build: generated for {CHILD_WAIT_S:.0f} s and never stopped")
        time.sleep(0.05)
        yield f"{key}-again-{i}", example

    cls._generate_examples = counted

  if args.stall_publish or args.slow_publish or args.publishing or args.hold_publish:
    publish = publishing.publish_file
    copied = []

    def publish_slowly_or_stall(source, target):
      publish(source, target)
      copied.append(target)
      if args.publishing and len(copied) == 1:
        pathlib.Path(args.publishing).touch()
      if args.hold_publish and len(copied) == 1:
        # Half published until the test has seen what another process makes of it, however
        # slow this machine is.
        _wait_for_file(args.hold_publish, "--hold-publish")
      if args.stall_publish and len(copied) == 2:
        _stall(args.stall_publish)
      time.sleep(args.slow_publish)

    publishing.publish_file = publish_slowly_or_stall

  print("ready", flush=True)
  if args.wait_for:
    _wait_for_file(args.wait_for, "--wait-for")
  for name in args.name:
    start = time.monotonic()
    config = {}
    if args.beam:
      import apache_beam as beam
      config["beam_options"] = beam.options.pipeline_options.PipelineOptions(
          ["--runner=apache_beam.runners.portability.fn_api_runner.FnApiRunner",
           "--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    if args.probe_first:
      _probe(name, args.data_dir)
    folder = tfds.builder_cls(name.split("/")[0]).sources_name()
    decoders = skip_image_decoding(tfds.builder(name, data_dir=args.data_dir).info)
    datasets, info = tfds.load(
        name, data_dir=args.data_dir, split=None, shuffle_files=False, with_info=True,
        decoders=decoders, download_and_prepare_kwargs={
            "download_config": tfds.download.DownloadConfig(
                manual_dir=os.path.join(args.manual_dir, folder), **config)})
    found = examples(datasets, info)
    counts = {split: len(found[split]) for split in found}
    with open(os.path.join(args.dump, f"{name.replace('/', '+')}.{os.getpid()}.pkl"), "wb") as f:
      pickle.dump(found, f)
    print(f"read {name} {json.dumps(counts, sort_keys=True)} after "
          f"{time.monotonic() - start:.1f} s", flush=True)


def steal(args) -> None:
  """Rewrites the object unconditionally, as a build that took a lock over does."""
  from google.cloud import storage
  bucket, _, name = args.url[len("gs://"):].partition("/")
  storage.Client(project=None).bucket(bucket).blob(name).upload_from_string(json.dumps(
      {"holder": "a test", "token": "stolen", "lease_s": 3600, "renewed": time.time()}))


def list_objects(args) -> None:
  """Every object under a gs:// prefix, one name a line, through google-cloud-storage."""
  from google.cloud import storage
  bucket, _, prefix = args.prefix[len("gs://"):].partition("/")
  for blob in storage.Client(project=None).list_blobs(bucket, prefix=prefix):
    print(blob.name)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser()
  sub = parser.add_subparsers(dest="command", required=True)
  s = sub.add_parser("serve")
  s.add_argument("--port", type=int, required=True)
  s.add_argument("--bucket", action="append", default=[])
  s.add_argument("--no-preconditions", action="store_true")
  s.add_argument("--sandbox", action="store_true")
  s.add_argument("--log-requests", action="store_true")
  s.add_argument("--audit", help="append one JSON line per object write or delete here")
  s.add_argument("--hosts")
  s.add_argument("--cert")
  s.add_argument("--key")
  b = sub.add_parser("build")
  b.add_argument("--data-dir", required=True)
  b.add_argument("--manual-dir", required=True, help="holds one folder of sources a builder")
  b.add_argument("--name", action="append", required=True)
  b.add_argument("--dump", required=True, help="a folder for the pickled examples")
  b.add_argument("--beam", action="store_true")
  b.add_argument("--wait-for", help="start only once this file exists")
  b.add_argument("--count", help="append a line here at each _generate_examples call")
  b.add_argument("--slow-generation", type=float, default=0)
  b.add_argument("--stall-generation", help="stop in the 4th example, after creating this file")
  b.add_argument("--probe-first", action="store_true", help="print what a reader finds first")
  b.add_argument("--stall-publish", help="stop after 2 files are published, creating this")
  b.add_argument("--slow-publish", type=float, default=0, help="seconds to wait after each file")
  b.add_argument("--publishing", help="create this once the first file is published")
  b.add_argument("--hold-publish", help="after the first file is published, wait for this file")
  b.add_argument("--endless-generation", help="never end generating, after creating this")
  b.add_argument("--no-cloud-storage", action="store_true",
                 help="as if google-cloud-storage were not installed")
  ls = sub.add_parser("list")
  ls.add_argument("prefix")
  st = sub.add_parser("steal")
  st.add_argument("url")
  args = parser.parse_args(argv)
  {"serve": serve, "build": build, "list": list_objects, "steal": steal}[args.command](args)


if __name__ == "__main__":
  main()
