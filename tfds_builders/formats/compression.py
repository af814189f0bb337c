"""Opening a source file that may be gzip- or xz-compressed, judged by its bytes, not its name.

Users put files in manual_dir gzipped with the official names, already gunzipped, or renamed by a
browser; the magic bytes are the only thing that can be trusted. Reads are chunked so that a header
that lies about its size can never make us allocate more than the bytes that really arrive.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import lzma
import os
import zlib
from typing import BinaryIO, Iterator, Optional, Union

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import paths

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
# Deflate cannot expand its input more than about 1032:1; a gzip file whose header claims more
# data than that is lying, and we can say so before reading anything.
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 8 << 20

Source = Union[str, os.PathLike, BinaryIO]


def source_name(source: Source) -> str:
  """The name used in error messages for a path or a file object."""
  if isinstance(source, (str, os.PathLike)):
    return os.fspath(source)
  return str(getattr(source, "name", repr(source)))


def sniff_compression(head: bytes) -> Optional[str]:
  """'gzip', 'xz' or None (stored as is) from a file's first bytes."""
  if head.startswith(GZIP_MAGIC):
    return "gzip"
  if head.startswith(XZ_MAGIC):
    return "xz"
  return None


class SourceStream:
  """A binary stream over a (maybe compressed) source, with exact, checked reads.

  Attributes:
    name: the file's name for messages.
    compression: 'gzip', 'xz' or None.
    max_size: an upper bound on the decompressed size when one is known (exact for stored files,
      the deflate bound for gzip), else None.
  """

  def __init__(self, raw: BinaryIO, name: str, compression: Optional[str],
               max_size: Optional[int]):
    self.name = name
    self.compression = compression
    self.max_size = max_size
    self._raw = raw
    if compression == "gzip":
      self._stream = gzip.GzipFile(fileobj=raw, mode="rb")
    elif compression == "xz":
      self._stream = lzma.LZMAFile(raw, mode="rb")
    else:
      self._stream = raw
    self.position = 0  # bytes of decompressed data consumed so far

  def _what(self) -> str:
    return {"gzip": "gzip stream", "xz": "xz stream"}.get(self.compression, "file")

  def _read_chunk(self, n: int) -> bytes:
    try:
      return self._stream.read(n)
    except EOFError as e:
      raise SourceFormatError(
          self.name, f"the {self._what()} is truncated (it ends after {self.position} "
          f"decompressed bytes): the file was cut short, download or copy it again") from e
    except (gzip.BadGzipFile, zlib.error) as e:
      raise SourceFormatError(
          self.name, f"the gzip stream is corrupt near decompressed byte {self.position} ({e}); "
          "download or copy the file again") from e
    except lzma.LZMAError as e:
      raise SourceFormatError(
          self.name, f"the xz stream is corrupt near decompressed byte {self.position} ({e}); "
          "download or copy the file again") from e
    except OSError as e:  # after gzip's own errors, which are OSErrors too
      raise SourceFormatError(
          self.name, f"could not be read near decompressed byte {self.position} "
          f"({e.strerror or e}); check the file and the disk it is on") from e

  def read_exact(self, n: int, what: str) -> bytearray:
    """Reads exactly n bytes or raises, naming `what` was being read.

    Memory grows only with the bytes that really arrive, never with n alone.
    """
    out = bytearray()
    while len(out) < n:
      chunk = self._read_chunk(min(_CHUNK, n - len(out)))
      if not chunk:
        break
      out += chunk
      self.position += len(chunk)
    if len(out) != n:
      raise SourceFormatError(
          self.name, f"truncated: expected {n} bytes of {what} at offset "
          f"{self.position - len(out)}, found only {len(out)}")
    return out

  def read_chunks(self, total: int, chunk_size: int, what: str) -> Iterator[bytearray]:
    """Yields `total` bytes in pieces of at most chunk_size, each exact."""
    left = total
    while left > 0:
      n = min(chunk_size, left)
      yield self.read_exact(n, what)
      left -= n

  def read_up_to(self, n: int) -> bytes:
    """Up to n bytes: fewer only at the end of the data."""
    out = bytearray()
    while len(out) < n:
      chunk = self._read_chunk(n - len(out))
      if not chunk:
        break
      out += chunk
    self.position += len(out)
    return bytes(out)

  def expect_end(self, what: str) -> None:
    """Raises if anything follows the data the header announced.

    At most one chunk past the end is read: an xz stream can decompress to any size, so counting
    every trailing byte could take minutes for a file of a few kilobytes.
    """
    end = self.position
    extra = len(self.read_up_to(_CHUNK))
    if extra:
      count = f"more than {extra}" if self._read_chunk(1) else f"{extra}"
      raise SourceFormatError(
          self.name, f"{count} unexpected trailing bytes after the {what} (the header says the "
          f"data ends at offset {end}); the header does not match the data")

  def check_claim(self, offset: int, claimed: int) -> None:
    """Rejects a header claiming more data than the file can hold, before any allocation."""
    if self.max_size is not None and offset + claimed > self.max_size:
      if self.compression == "gzip":
        bound = f"a {self._raw_size} byte gzip file can hold at most {self.max_size} bytes"
      else:
        bound = f"the file holds {self.max_size} bytes"
      raise SourceFormatError(
          self.name, f"the header claims {claimed} bytes of data after a {offset} byte header, "
          f"but {bound}: the header is wrong or the file is truncated")

  _raw_size = None


def _file_size(f: BinaryIO) -> Optional[int]:
  try:
    here = f.tell()
    end = f.seek(0, io.SEEK_END)
    f.seek(here)
    return end - here
  except SourceFormatError:
    raise  # the reader found the file damaged while seeking (a zip member's CRC): say so
  except (OSError, AttributeError, ValueError):
    return None


@contextlib.contextmanager
def open_source(source: Source) -> Iterator[SourceStream]:
  """Opens a path or binary file object, decompressing gzip/xz judged by the magic bytes."""
  name = source_name(source)
  if isinstance(source, (str, os.PathLike)):
    try:
      raw = paths.open_binary(source)
    except FileNotFoundError as e:
      raise SourceFormatError(name, "file not found") from e
    except IsADirectoryError as e:
      raise SourceFormatError(name, "is a directory, expected a file") from e
    owned = True
  else:
    raw, owned = source, False
  try:
    size = _file_size(raw)
    head = raw.read(6)
    if not head:
      raise SourceFormatError(name, "the file is empty")
    if hasattr(raw, "seek"):
      raw.seek(-len(head), io.SEEK_CUR)
      compression = sniff_compression(head)
    else:  # a non-seekable stream: put the sniffed bytes back in front
      compression = sniff_compression(head)
      raw = _Prepend(head, raw)
    if compression is None:
      max_size = size
    elif compression == "gzip" and size is not None:
      max_size = size * _DEFLATE_MAX_RATIO + 1024
    else:
      max_size = None
    stream = SourceStream(raw, name, compression, max_size)
    stream._raw_size = size
    yield stream
  finally:
    if owned:
      raw.close()


class _Prepend(io.RawIOBase):
  """A read-only stream of `head` followed by the rest of `rest`."""

  def __init__(self, head: bytes, rest: BinaryIO):
    self._head = head
    self._rest = rest

  def readable(self):
    return True

  def readinto(self, b):
    if self._head:
      n = min(len(b), len(self._head))
      b[:n] = self._head[:n]
      self._head = self._head[n:]
      return n
    data = self._rest.read(len(b))
    b[:len(data)] = data
    return len(data)
