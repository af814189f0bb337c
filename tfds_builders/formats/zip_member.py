"""One member of a zip archive, read in place (EMNIST's single `gzip.zip` holds every config).

No TensorFlow here: the member is opened as a file object for the IDX reader, and errors name
`archive!member`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import zipfile
from typing import BinaryIO, Iterator

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import paths

# Bit 0 of a zip entry's general-purpose flags: the member's data is encrypted.
_ENCRYPTED = 0x1


@dataclasses.dataclass(frozen=True)
class ZipMember:
  """One file inside the zip, read in place: only what a config needs, nothing extracted."""
  archive: paths.PathLike
  member: str

  @contextlib.contextmanager
  def open(self) -> Iterator[BinaryIO]:
    name = f"{self.archive}!{self.member}"
    with contextlib.ExitStack() as stack:
      try:
        raw = stack.enter_context(paths.open_binary(self.archive))
        z = stack.enter_context(zipfile.ZipFile(raw))
        info = z.getinfo(self.member)
        if info.flag_bits & _ENCRYPTED:
          # zipfile would raise a bare RuntimeError asking for a password.
          raise SourceFormatError(self.archive, f"member {self.member} is encrypted; EMNIST's "
                                                "gzip.zip is not: download it again")
        f = stack.enter_context(z.open(info))
      except KeyError as e:
        raise SourceFormatError(self.archive, f"has no member {self.member}; is it EMNIST's "
                                              "gzip.zip?") from e
      except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as e:
        raise SourceFormatError(self.archive, f"is not a readable zip file ({e}); download it "
                                              "again") from e
      f.name = name  # errors in the member name both
      f.read = _named_errors(f.read, name)
      yield f


def _named_errors(read, name: str):
  """`read`, raising SourceFormatError naming the member where zipfile finds the member's bytes
  disagree with its CRC or size (at its end, while it is being read)."""
  def checked_read(*args):
    try:
      return read(*args)
    except zipfile.BadZipFile as e:
      # zipfile's message ends "for file <name>", which the error names already.
      what = str(e).split(" for file ")[0]
      raise SourceFormatError(name, f"is damaged in the zip ({what}); download the zip "
                                    "again") from e
  return checked_read
