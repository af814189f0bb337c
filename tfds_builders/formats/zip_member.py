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


@dataclasses.dataclass(frozen=True)
class ZipMember:
  """One file inside the zip, read in place: only what a config needs, nothing extracted."""
  archive: paths.PathLike
  member: str

  @contextlib.contextmanager
  def open(self) -> Iterator[BinaryIO]:
    try:
      with paths.open_binary(self.archive) as raw, zipfile.ZipFile(raw) as z, \
          z.open(self.member) as f:
        f.name = f"{self.archive}!{self.member}"  # errors in the member name both
        yield f
    except KeyError as e:
      raise SourceFormatError(self.archive, f"has no member {self.member}; is it EMNIST's "
                                            "gzip.zip?") from e
    except zipfile.BadZipFile as e:
      raise SourceFormatError(self.archive, f"is not a readable zip file ({e}); download it "
                                            "again") from e
