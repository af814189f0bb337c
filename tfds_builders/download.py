"""The one place that knows mirrors, local sources and checksum checks.

Every builder describes its files as `SourceFile`s (a name and the ordered mirrors that serve it)
and calls `Fetcher.get`. For each file, in order:

1. `manual_dir`: a file with an accepted name (the official one, or the same without `.gz`/`.xz`)
   is used as it is and no network request is made. Official names are checked against the
   registered size and sha256; a mismatch is a warning naming the file, since a user may knowingly
   keep a modified copy.
2. The download cache (`<download_dir>/<builder>/<file>`) when a previous run left a verified copy.
3. The mirrors: the user's own first (the `mirrors=` builder argument, then the environment
   variables `TFDS_BUILDERS_MIRROR_<BUILDER>` and `TFDS_BUILDERS_MIRROR`), then the built-in ones.
   An HTTP error, a timeout, a dropped connection or bytes that fail the size/sha256 check move on
   to the next mirror; bad bytes are deleted. When every mirror fails, one `DownloadError` lists
   each URL and why it failed.

Checksums live in `checksums/<builder>.tsv` in TFDS's own format (url, size, sha256, file name),
one line per mirror URL.
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
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from tfds_builders.errors import DownloadError, ManualDirError

log = logging.getLogger("tfds_builders.download")

CHECKSUMS_DIR = pathlib.Path(__file__).resolve().parent / "checksums"
if not CHECKSUMS_DIR.is_dir():  # running from a source tree that was not installed
  CHECKSUMS_DIR = pathlib.Path(__file__).resolve().parent.parent / "checksums"

MIRROR_ENV = "TFDS_BUILDERS_MIRROR"
TIMEOUT_ENV = "TFDS_BUILDERS_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
_CHUNK = 1 << 20
_COMPRESSED_SUFFIXES = (".gz", ".xz")


@dataclasses.dataclass(frozen=True)
class Checksum:
  """The registered bytes of a file. Some sources publish only an md5 (no size, no sha256)."""
  size: Optional[int]
  sha256: Optional[str]
  md5: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class SourceFile:
  """A file a builder needs.

  Attributes:
    name: the official file name (what it is called on every mirror).
    mirrors: base URLs that serve it, best first; the URL is base + name.
    local_names: other names it may have on disk (default: the name without .gz/.xz, i.e. already
      decompressed by the user or their browser).
    md5: the published md5, for files that have no size and sha256 in the checksums table.
  """
  name: str
  mirrors: Tuple[str, ...] = ()
  local_names: Tuple[str, ...] = ()
  md5: Optional[str] = None

  def urls(self) -> List[str]:
    return [join_url(base, self.name) for base in self.mirrors]

  def accepted_names(self) -> List[str]:
    names = [self.name, *self.local_names]
    for suffix in _COMPRESSED_SUFFIXES:
      if self.name.endswith(suffix) and self.name[:-len(suffix)] not in names:
        names.append(self.name[:-len(suffix)])
    return names


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


def checksums_for(builder_name: str) -> Dict[str, Checksum]:
  """File name -> Checksum for a builder, from checksums/<builder>.tsv.

  Every mirror URL of a file must register the same bytes; a disagreement is a bug in the table.
  """
  by_name: Dict[str, Checksum] = {}
  path = CHECKSUMS_DIR / f"{builder_name}.tsv"
  if not path.exists():
    return by_name
  for url, (checksum, name) in load_checksums(path).items():
    if by_name.setdefault(name, checksum) != checksum:
      raise ValueError(f"{path}: {url} registers different bytes for {name} than another mirror")
  return by_name


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


class _Digests:
  """sha256 and md5 of a stream of chunks, computed in one pass."""

  def __init__(self):
    self.size = 0
    self._sha256 = hashlib.sha256()
    self._md5 = hashlib.md5()

  @classmethod
  def of_file(cls, path: os.PathLike) -> "_Digests":
    digests = cls()
    with open(path, "rb") as f:
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


def mismatch(path: os.PathLike, expected: Checksum, hash_contents: bool = True) -> Optional[str]:
  """Why a file does not match its registered checksum, or None when it does."""
  actual_size = os.path.getsize(path)
  if expected.size is not None and actual_size != expected.size:
    return f"size is {actual_size} bytes, the registered size is {expected.size}"
  if not hash_contents:
    return None
  return _Digests.of_file(path).problem(expected)


def registered_elsewhere(path: os.PathLike, builder_name: str) -> Optional[Tuple[str, str]]:
  """(builder, file name) when the file's bytes are the ones another builder registers."""
  size = os.path.getsize(path)
  others = []
  for table in sorted(CHECKSUMS_DIR.glob("*.tsv")):
    if table.stem == builder_name:
      continue
    for checksum, name in load_checksums(table).values():
      if checksum.size == size:
        others.append((checksum.sha256, table.stem, name))
  if not others:
    return None
  digest = _Digests.of_file(path).sha256
  for sha256, owner, name in others:
    if sha256 == digest:
      return owner, name
  return None


def fetch_url(url: str, dest: pathlib.Path, expected: Optional[Checksum],
              timeout: float) -> None:
  """Downloads url to dest, verifying the bytes; raises OSError/ValueError with the reason.

  The bytes go to a temporary file beside dest and are renamed only once verified, so a failed or
  interrupted download never leaves a file that looks complete.
  """
  tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
  try:
    request = urllib.request.Request(url, headers={"User-Agent": "tfds_builders"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
      announced = response.headers.get("Content-Length") if hasattr(response, "headers") else None
      size_known = expected is not None and expected.size is not None
      if size_known and announced is not None and announced.isdigit() and int(
          announced) != expected.size:
        raise ValueError(f"server announces {announced} bytes, the registered size is "
                         f"{expected.size}")
      digests = _Digests()
      with open(tmp, "wb") as out:
        while True:
          chunk = response.read(_CHUNK)
          if not chunk:
            break
          digests.update(chunk)
          out.write(chunk)
          if size_known and digests.size > expected.size:
            raise ValueError(f"server sent more than the registered {expected.size} bytes")
    if announced is not None and announced.isdigit() and digests.size != int(announced):
      raise ValueError(f"connection closed after {digests.size} of {announced} bytes "
                       "(truncated body)")
    problem = digests.problem(expected) if expected is not None else None
    if problem:
      raise ValueError(problem)
    if expected is None:
      log.warning("%s has no registered checksum: downloaded from %s without verification",
                  dest.name, url)
    os.replace(tmp, dest)
  finally:
    if tmp.exists():
      tmp.unlink()


def describe_failure(e: BaseException) -> str:
  """A short reason for a failed URL, in the words a user can act on."""
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


def download(source: SourceFile, dest_dir: pathlib.Path, urls: Sequence[str],
             expected: Optional[Checksum], timeout: Optional[float] = None) -> pathlib.Path:
  """Tries each URL in order; returns the verified file or raises DownloadError."""
  if timeout is None:
    timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
  dest_dir.mkdir(parents=True, exist_ok=True)
  dest = dest_dir / source.name
  attempts = []
  for url in urls:
    try:
      log.info("Downloading %s from %s", source.name, url)
      fetch_url(url, dest, expected, timeout)
      return dest
    except (OSError, ValueError, http.client.HTTPException) as e:
      reason = describe_failure(e)
      log.warning("%s failed: %s; trying the next mirror", url, reason)
      attempts.append((url, reason))
  raise DownloadError(
      source.name, attempts,
      hint=(f"Put a copy of {source.name} in the manual directory (--manual_dir), or name a "
            f"mirror that has it with the {MIRROR_ENV}_<BUILDER> environment variable."))


class Fetcher:
  """Finds or downloads a builder's source files (see the module docstring for the order)."""

  def __init__(self, builder_name: str, manual_dir: Optional[os.PathLike],
               download_dir: Optional[os.PathLike], mirrors: Optional[Sequence[str]] = None,
               verify_local_hash: bool = True, timeout: Optional[float] = None):
    self.builder_name = builder_name
    self.manual_dir = pathlib.Path(manual_dir) if manual_dir else None
    self.download_dir = pathlib.Path(download_dir) / builder_name if download_dir else None
    self.mirrors = list(mirrors or ())
    self.checksums = checksums_for(builder_name)
    self.verify_local_hash = verify_local_hash
    self.timeout = timeout

  def find_local(self, source: SourceFile) -> Optional[pathlib.Path]:
    """The file in manual_dir under one of its accepted names, or None.

    `manual_dir/<builder>/` is looked in before `manual_dir/` itself, so that one manual directory
    can hold several datasets whose files share names (MNIST, Fashion-MNIST and KMNIST all have a
    `train-images-idx3-ubyte.gz`).
    """
    if self.manual_dir is None or not self.manual_dir.is_dir():
      return None
    for folder in (self.manual_dir / self.builder_name, self.manual_dir):
      for name in source.accepted_names():
        path = folder / name
        if path.is_file():
          self._check_local(path, name, source)
          return path
    return None

  def _check_local(self, path: pathlib.Path, name: str, source: SourceFile) -> None:
    expected = self.checksums.get(name)
    if expected is None and name == source.name and source.md5:
      expected = Checksum(None, None, source.md5)
    if expected is None:
      return
    problem = mismatch(path, expected, self.verify_local_hash)
    if not problem:
      return
    if self.verify_local_hash:
      owner = registered_elsewhere(path, self.builder_name)
      if owner:
        raise ManualDirError(
            f"{path} is {owner[0]}'s {owner[1]}, not {self.builder_name}'s: several datasets use "
            f"this file name. Put each dataset's files in its own folder, "
            f"{self.manual_dir / self.builder_name}{os.sep} for this one.")
    log.warning("%s does not match the official %s (%s); using it as it is, since it "
                "was put in the manual directory on purpose", path, name, problem)

  def get(self, source: SourceFile) -> pathlib.Path:
    local = self.find_local(source)
    if local is not None:
      return local
    expected = self.checksums.get(source.name)
    if expected is None and source.md5:
      expected = Checksum(None, None, source.md5)
    if self.download_dir is not None:
      cached = self.download_dir / source.name
      if cached.is_file() and (expected is None or mismatch(cached, expected) is None):
        return cached
    else:
      raise DownloadError(source.name, [], hint="No download directory was given.")
    urls = [join_url(base, source.name) for base in user_mirrors(self.builder_name, self.mirrors)]
    urls += [u for u in source.urls() if u not in urls]
    if not urls:
      raise DownloadError(source.name, [], hint="No mirror is known for it.")
    return download(source, self.download_dir, urls, expected, self.timeout)

  def get_all(self, sources: Iterable[SourceFile]) -> Dict[str, pathlib.Path]:
    return {s.name: self.get(s) for s in sources}
