"""TFRecord framing, read and checked without TensorFlow.

A TFRecord file is a sequence of records, each framed as

  uint64 length (little-endian) | uint32 masked crc32c of those 8 bytes | data | uint32 masked
  crc32c of the data

with no header, index or end marker: the only way to know a file is whole is to walk every frame
and check both CRCs. TensorFlow's reader stops at the first bad frame with a DataLossError that
names neither the record nor its offset, mid-epoch; this reader names both.

A damaged length (its CRC fails) loses the framing: where the next record starts is then unknown,
so nothing after it is read. A damaged data block leaves the framing intact: the record is reported
and reading goes on.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterator, NamedTuple, Optional, Union

import google_crc32c

from tfds_builders.errors import SourceFormatError

HEADER_BYTES = 12  # uint64 length + its masked crc32c
FOOTER_BYTES = 4  # masked crc32c of the data
_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
# Read this much at a time: records are small (a few hundred bytes for MNIST), so framing them one
# read() each would cost a system call (an HTTP request on gs://) per record.
_CHUNK = 16 << 20


def masked_crc32c(data: Union[bytes, memoryview]) -> int:
  """TFRecord's CRC: crc32c rotated right by 15 bits plus a constant (so that a CRC of data that
  itself holds CRCs does not cancel out)."""
  crc = google_crc32c.value(bytes(data) if isinstance(data, memoryview) else data)
  return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
  """One record framed as TFRecord writes it (for writing test files without TensorFlow)."""
  length = struct.pack("<Q", len(data))
  return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack(
      "<I", masked_crc32c(data))


class Record(NamedTuple):
  """One record: its 0-based index in the file, the byte offset of its frame, and either its data
  or, when the data's CRC does not match, None and the problem in words. (A tuple, not a
  dataclass: one is made per record, and a dataclass costs several times as much to make.)"""
  index: int
  offset: int
  data: Optional[bytes]
  problem: Optional[str] = None


def read_records(file: BinaryIO, name: str) -> Iterator[Record]:
  """Every record of an open TFRecord file, in order.

  Records whose data fail their CRC are yielded with `data=None` and the problem; a damaged
  length and a truncated file raise SourceFormatError naming `name`, the record and its offset
  (the records before it have been yielded).
  """
  buffer = b""
  start = 0  # file offset of buffer[0]
  pos = 0  # position in buffer of the next frame
  index = 0
  at_end = False

  def fill(needed: int) -> bool:
    """Makes `needed` bytes available from `pos`; False when the file ends first."""
    nonlocal buffer, start, pos, at_end
    while len(buffer) - pos < needed and not at_end:
      chunk = file.read(max(_CHUNK, needed - (len(buffer) - pos)))
      if not chunk:
        at_end = True
        break
      buffer = buffer[pos:] + chunk
      start += pos
      pos = 0
    return len(buffer) - pos >= needed

  while True:
    if not fill(HEADER_BYTES):
      left = len(buffer) - pos
      if left:
        raise SourceFormatError(name, f"truncated: record {index} at byte {start + pos} has "
                                f"{left} of the {HEADER_BYTES} bytes of its header")
      return
    offset = start + pos
    length, length_crc = _HEADER.unpack_from(buffer, pos)
    if masked_crc32c(buffer[pos:pos + 8]) != length_crc:
      raise SourceFormatError(name, f"record {index} at byte {offset}: the CRC of its length does "
                              "not match (the header is damaged; the records after it cannot be "
                              "found)")
    frame_bytes = HEADER_BYTES + length + FOOTER_BYTES
    if not fill(frame_bytes):
      raise SourceFormatError(name, f"truncated: record {index} at byte {offset} needs "
                              f"{frame_bytes} bytes, the file has {len(buffer) - pos}")
    data = buffer[pos + HEADER_BYTES:pos + HEADER_BYTES + length]
    (data_crc,) = _FOOTER.unpack_from(buffer, pos + HEADER_BYTES + length)
    if masked_crc32c(data) != data_crc:
      yield Record(index, offset, None, "the CRC of its data does not match (its bytes changed "
                   "after it was written)")
    else:
      yield Record(index, offset, data)
    pos += frame_bytes
    index += 1
