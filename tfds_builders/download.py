"""Checksums and the HTTP side of getting a source: one verified fetch from one URL.

Which file to fetch, and from where, is decided by `tfds_builders.sources.Resolver`; this module
fetches one URL into the download cache so that nothing unverified ever becomes a source:

- the bytes go to a temporary `.<name>.<pid>.part` beside the destination and are renamed to the
  file's name only after every check there is for them passed: size and sha256 where registered,
  the published md5 where that is all there is, and the file's own content check (a full parse)
  where no digest is published;
- an HTML page served with status 200 is refused as soon as its first bytes arrive;
- a body longer than the registered size, or than the source's size cap when none is registered,
  is cut off (an endless body never fills the disk);
- a mirror whose average rate stays below a floor over a window is given up (a server sending the
  right Content-Length at 1 byte/s never trips a per-read timeout);
- a `file://` URL that is not a regular file (a FIFO, a device) is refused before it is opened.

Checksums live in `checksums/<builder>.tsv` in TFDS's own format (url, size, sha256, file name),
one line per mirror URL; `--register_checksums` appends the lines of files and mirrors fetched
that were not registered yet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import logging
import os
import pathlib
import re
import socket
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from etils import epath

from tfds_builders.errors import ConfigurationError, SourceFormatError
from tfds_builders.formats import paths

log = logging.getLogger("tfds_builders.download")

CHECKSUMS_DIR = pathlib.Path(__file__).resolve().parent / "checksums"
if not CHECKSUMS_DIR.is_dir():  # running from a source tree that was not installed
  CHECKSUMS_DIR = pathlib.Path(__file__).resolve().parent.parent / "checksums"

MIRROR_ENV = "TFDS_BUILDERS_MIRROR"
TIMEOUT_ENV = "TFDS_BUILDERS_TIMEOUT"
MIN_RATE_ENV = "TFDS_BUILDERS_MIN_RATE"
RATE_WINDOW_ENV = "TFDS_BUILDERS_RATE_WINDOW"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MIN_RATE = 10 * 1024  # bytes per second
DEFAULT_RATE_WINDOW = 30.0  # seconds
# The cap on a body when no size is registered for the file (a source declares its own when it
# knows better): no source of these datasets is larger without a registered size.
DEFAULT_MAX_SIZE = 1 << 30
_CHUNK = 1 << 20
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<?xml")


@dataclasses.dataclass(frozen=True)
class Checksum:
  """The registered bytes of a file. Some sources publish only an md5 (no size, no sha256)."""
  size: Optional[int]
  sha256: Optional[str]
  md5: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Limits:
  """How long a mirror may take: seconds per read, and a floor on the average rate."""
  timeout: float = DEFAULT_TIMEOUT
  min_rate: float = DEFAULT_MIN_RATE
  rate_window: float = DEFAULT_RATE_WINDOW

  @classmethod
  def from_env(cls) -> "Limits":
    return cls(number_from_env(TIMEOUT_ENV, DEFAULT_TIMEOUT, "seconds per read"),
               number_from_env(MIN_RATE_ENV, DEFAULT_MIN_RATE, "bytes per second"),
               number_from_env(RATE_WINDOW_ENV, DEFAULT_RATE_WINDOW, "seconds"))


def number_from_env(name: str, default: float, unit: str) -> float:
  text = os.environ.get(name, "").strip()
  if not text:
    return default
  try:
    value = float(text)
  except ValueError:
    value = float("nan")
  if not value >= 0 or value == float("inf"):
    raise ConfigurationError(
        f"the environment variable {name}={text!r} is not a number of {unit}; set it to a "
        f"positive number (default {default:g}) or unset it")
  return value


def join_url(base: str, name: str) -> str:
  return base if base.endswith(name) else base.rstrip("/") + "/" + name


def load_checksums(path: os.PathLike) -> Dict[str, Tuple[Checksum, str]]:
  """Reads a TFDS checksums TSV: url -> (Checksum, file name)."""
  entries = {}
  with open(path, encoding="utf-8") as f:
    for line_no, line in enumerate(f, 1):
      line = line.strip()
      if not line or line.startswith("#"):
        continue
      fields = line.split("\t")
      if len(fields) not in (3, 4):
        raise ValueError(f"{path}:{line_no}: expected url, size, sha256[, file name]")
      url, size, sha256 = fields[:3]
      name = fields[3] if len(fields) == 4 else url.rsplit("/", 1)[-1]
      entries[url] = (Checksum(int(size), sha256.lower()), name)
  return entries


def checksums_path(builder_name: str, checksums_dir: Optional[os.PathLike] = None) -> pathlib.Path:
  return pathlib.Path(checksums_dir or CHECKSUMS_DIR) / f"{builder_name}.tsv"


def checksums_for(builder_name: str,
                  checksums_dir: Optional[os.PathLike] = None) -> Dict[str, Checksum]:
  """File name -> Checksum for a builder, from checksums/<builder>.tsv.

  Every mirror URL of a file must register the same bytes; a disagreement is a bug in the table.
  """
  by_name: Dict[str, Checksum] = {}
  path = checksums_path(builder_name, checksums_dir)
  if not path.exists():
    return by_name
  for url, (checksum, name) in load_checksums(path).items():
    if by_name.setdefault(name, checksum) != checksum:
      raise ValueError(f"{path}: {url} registers different bytes for {name} than another mirror")
  return by_name


def register_checksum(builder_name: str, url: str, name: str, size: int, sha256: str,
                      checksums_dir: Optional[os.PathLike] = None) -> bool:
  """Appends url's line to the builder's table unless the URL is registered; True if added."""
  path = checksums_path(builder_name, checksums_dir)
  if path.exists() and url in load_checksums(path):
    return False
  path.parent.mkdir(parents=True, exist_ok=True)
  text = path.read_text(encoding="utf-8") if path.exists() else ""
  if text and not text.endswith("\n"):
    text += "\n"
  path.write_text(f"{text}{url}\t{size}\t{sha256}\t{name}\n", encoding="utf-8")
  log.info("Registered %s (%d bytes, sha256 %s) in %s", url, size, sha256, path)
  return True


def user_mirrors(builder_name: str, explicit: Optional[Sequence[str]] = None) -> List[str]:
  """The user's own mirrors for a builder, tried before the built-in ones.

  `explicit` (the builder's `mirrors=` argument) comes first, then
  TFDS_BUILDERS_MIRROR_<BUILDER> (base URLs of this dataset's files), then TFDS_BUILDERS_MIRROR
  (base URLs holding one folder per builder: <base>/<builder>/<file>). Several URLs may be given,
  separated by spaces or commas. file:// URLs work too (a shared file system).
  """
  out = list(explicit or ())
  out += _split(os.environ.get(f"{MIRROR_ENV}_{builder_name.upper()}", ""))
  out += [join_url(base, builder_name) for base in _split(os.environ.get(MIRROR_ENV, ""))]
  return out


def _split(value: str) -> List[str]:
  return [v for v in re.split(r"[\s,]+", value) if v]


class Digests:
  """Size, sha256 and md5 of a stream of chunks, computed in one pass."""

  def __init__(self):
    self.size = 0
    self._sha256 = hashlib.sha256()
    self._md5 = hashlib.md5()

  @classmethod
  def of_file(cls, path: paths.PathLike) -> "Digests":
    digests = cls()
    with paths.open_binary(path) as f:
      while chunk := f.read(_CHUNK):
        digests.update(chunk)
    return digests

  def update(self, chunk: bytes) -> None:
    self.size += len(chunk)
    self._sha256.update(chunk)
    self._md5.update(chunk)

  @property
  def sha256(self) -> str:
    return self._sha256.hexdigest()

  def problem(self, expected: Checksum) -> Optional[str]:
    """Why the bytes are not the registered ones, or None."""
    if expected.size is not None and self.size != expected.size:
      return f"size is {self.size} bytes, the registered size is {expected.size}"
    if expected.sha256 is not None and self._sha256.hexdigest() != expected.sha256:
      return (f"sha256 is {self._sha256.hexdigest()}, the registered sha256 is "
              f"{expected.sha256}")
    if expected.md5 is not None and self._md5.hexdigest() != expected.md5:
      return f"md5 is {self._md5.hexdigest()}, the published md5 is {expected.md5}"
    return None


def mismatch(path: paths.PathLike, expected: Checksum,
             hash_contents: bool = True) -> Optional[str]:
  """Why a file does not match its registered checksum, or None when it does."""
  actual_size = paths.size_of(path)
  if expected.size is not None and actual_size != expected.size:
    return f"size is {actual_size} bytes, the registered size is {expected.size}"
  if not hash_contents:
    return None
  return Digests.of_file(path).problem(expected)


def registered_elsewhere(path: paths.PathLike, builder_name: str) -> Optional[Tuple[str, str]]:
  """(builder, file name) when the file's bytes are the ones another builder registers."""
  size = paths.size_of(path)
  others = []
  for table in sorted(CHECKSUMS_DIR.glob("*.tsv")):
    if table.stem == builder_name:
      continue
    for checksum, name in load_checksums(table).values():
      if checksum.size == size:
        others.append((checksum.sha256, table.stem, name))
  if not others:
    return None
  digest = Digests.of_file(path).sha256
  for sha256, owner, name in others:
    if sha256 == digest:
      return owner, name
  return None


class MirrorRefused(Exception):
  """A mirror's answer that is not the file, in words a user can act on."""


def _refuse_special_file_url(url: str) -> None:
  parsed = urllib.parse.urlparse(url)
  if parsed.scheme != "file":
    return
  local = urllib.request.url2pathname(parsed.path)
  try:
    mode = os.stat(local).st_mode
  except FileNotFoundError:
    raise MirrorRefused(f"no such file ({local})") from None
  if not stat.S_ISREG(mode):
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a directory" if stat.S_ISDIR(mode) else
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise MirrorRefused(f"{local} is {kind}, not a regular file; refusing to read it")


def _looks_like_html(head: bytes) -> bool:
  return head.lstrip()[:20].lower().startswith(_HTML_STARTS)


def remove_stale_parts(dest: epath.Path) -> None:
  """Deletes `.part` files that killed downloads of `dest` left behind.

  A local `.part` whose process is still alive is another download under way and is kept; in a
  bucket the process cannot be asked, and every `.part` of the file is stale by then.
  """
  for part in dest.parent.glob(f".{dest.name}.*.part"):
    pid = part.name[len(dest.name) + 2:-len(".part")]
    if paths.is_local(part) and pid.isdigit() and int(pid) != os.getpid():
      try:
        os.kill(int(pid), 0)
        continue  # alive
      except ProcessLookupError:
        pass
      except PermissionError:
        continue  # alive, someone else's
    log.info("Removing %s, left by an interrupted download", part)
    part.unlink(missing_ok=True)


def fetch_url(url: str, dest: epath.Path, expected: Optional[Checksum], limits: Limits,
              max_size: Optional[int] = None,
              check: Optional[Callable[[epath.Path], None]] = None) -> Digests:
  """Downloads url to dest, verifying the bytes; raises with the reason when they are not it.

  The bytes go to a temporary file beside dest and are renamed only once verified, so a failed or
  interrupted download never leaves a file that looks complete.
  """
  _refuse_special_file_url(url)
  tmp = dest.parent / f".{dest.name}.{os.getpid()}.part"
  size_known = expected is not None and expected.size is not None
  cap = expected.size if size_known else (max_size or DEFAULT_MAX_SIZE)
  try:
    request = urllib.request.Request(url, headers={"User-Agent": "tfds_builders"})
    with urllib.request.urlopen(request, timeout=limits.timeout) as response:
      headers = getattr(response, "headers", None)
      announced = headers.get("Content-Length") if headers is not None else None
      content_type = (headers.get("Content-Type") or "") if headers is not None else ""
      if not dest.name.endswith((".html", ".htm")) and content_type.startswith("text/html"):
        raise MirrorRefused(f"the server sent an HTML page (Content-Type {content_type}), not "
                            f"{dest.name}")
      if announced is not None and announced.isdigit() and int(announced) > cap:
        what = "the registered size" if size_known else "this source's size cap"
        raise ValueError(f"server announces {announced} bytes, {what} is {cap}")
      digests = _copy_body(response, tmp, dest.name, cap, size_known, limits)
    if announced is not None and announced.isdigit() and digests.size != int(announced):
      raise ValueError(f"connection closed after {digests.size} of {announced} bytes "
                       "(truncated body)")
    problem = digests.problem(expected) if expected is not None else None
    if problem:
      raise ValueError(problem)
    if check is not None:
      try:
        check(tmp)
      except SourceFormatError as e:
        raise ValueError(f"the content is not {dest.name}: {e.problem}") from e
    tmp.replace(dest)
    return digests
  finally:
    if tmp.exists():
      tmp.unlink()


def _copy_body(response, tmp: epath.Path, name: str, cap: int, size_known: bool,
               limits: Limits) -> Digests:
  """Copies the body to tmp in small reads, checking size, rate and the first bytes."""
  digests = Digests()
  # read1 returns what has arrived, so a trickling server is noticed between its bytes.
  read = getattr(response, "read1", None) or response.read
  window_start, window_bytes = time.monotonic(), 0
  with tmp.open("wb") as out:
    while True:
      chunk = read(_CHUNK)
      if not chunk:
        break
      if digests.size == 0 and not name.endswith((".html", ".htm")) and _looks_like_html(chunk):
        raise MirrorRefused(f"the server sent an HTML page, not {name} (an error, login or "
                            "moved page served with status 200)")
      digests.update(chunk)
      out.write(chunk)
      if digests.size > cap:
        what = f"the registered {cap} bytes" if size_known else (
            f"{cap} bytes, this source's size cap (an endless body?)")
        raise ValueError(f"server sent more than {what}")
      now = time.monotonic()
      if now - window_start >= limits.rate_window:
        rate = (digests.size - window_bytes) / (now - window_start)
        if rate < limits.min_rate:
          raise MirrorRefused(
              f"too slow: {rate:.0f} bytes/s over the last {now - window_start:.0f} s, below the "
              f"floor of {limits.min_rate:.0f} bytes/s ({MIN_RATE_ENV}, {RATE_WINDOW_ENV})")
        window_start, window_bytes = now, digests.size
  return digests


def describe_failure(e: BaseException) -> str:
  """A short reason for a failed URL, in the words a user can act on."""
  if isinstance(e, MirrorRefused):
    return str(e)
  if isinstance(e, urllib.error.HTTPError):
    return f"HTTP {e.code} {e.reason}"
  if isinstance(e, urllib.error.URLError):
    reason = e.reason
    if isinstance(reason, (socket.timeout, TimeoutError)):
      return "timed out"
    return f"connection failed ({reason})"
  if isinstance(e, (socket.timeout, TimeoutError)):
    return "timed out while reading"
  if isinstance(e, ConnectionError):
    return f"connection lost ({e.__class__.__name__})"
  if isinstance(e, http.client.IncompleteRead):
    return f"truncated body ({len(e.partial)} bytes received)"
  if isinstance(e, http.client.HTTPException):
    return f"bad HTTP response ({e.__class__.__name__}: {e})"
  if isinstance(e, ValueError):
    return f"bad bytes: {e}"
  return f"{e.__class__.__name__}: {e}"


FETCH_ERRORS = (OSError, ValueError, http.client.HTTPException, MirrorRefused)
