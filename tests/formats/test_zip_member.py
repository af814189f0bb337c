"""Reading one member of a zip in place, and the errors that name the archive."""

import zipfile

import pytest

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats.zip_member import ZipMember


def test_member_is_read_in_place_and_named_with_its_archive(tmp_path):
  archive = tmp_path / "gzip.zip"
  with zipfile.ZipFile(archive, "w") as z:
    z.writestr("gzip/a.gz", b"payload")
  with ZipMember(archive, "gzip/a.gz").open() as f:
    assert f.read() == b"payload"
    assert f.name == f"{archive}!gzip/a.gz"


def test_missing_member_and_not_a_zip(tmp_path):
  archive = tmp_path / "gzip.zip"
  with zipfile.ZipFile(archive, "w") as z:
    z.writestr("gzip/a.gz", b"payload")
  with pytest.raises(SourceFormatError) as e:
    with ZipMember(archive, "gzip/b.gz").open():
      pass
  assert str(e.value) == f"{archive}: has no member gzip/b.gz; is it EMNIST's gzip.zip?"
  broken = tmp_path / "broken.zip"
  broken.write_bytes(b"not a zip at all")
  with pytest.raises(SourceFormatError, match=r"broken\.zip: is not a readable zip file \(") as e:
    with ZipMember(broken, "gzip/a.gz").open():
      pass
