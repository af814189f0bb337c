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


def set_encrypted_flag(data: bytes) -> bytes:
  """The zip with general-purpose flag bit 0 (encrypted) set in its local header and its central
  directory entry, as a password-protected zip has it."""
  data = bytearray(data)
  for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
    start = data.index(signature)
    assert data.count(signature) == 1
    data[start + flags_at] |= 0x1
  return bytes(data)


def test_an_encrypted_member_is_refused_by_name(tmp_path):
  archive = tmp_path / "gzip.zip"
  with zipfile.ZipFile(archive, "w") as z:
    z.writestr("gzip/emnist-digits-train-labels-idx1-ubyte.gz", b"payload")
  archive.write_bytes(set_encrypted_flag(archive.read_bytes()))
  with zipfile.ZipFile(archive) as z:  # zipfile itself raises a bare RuntimeError
    with pytest.raises(RuntimeError, match="password required"):
      z.open("gzip/emnist-digits-train-labels-idx1-ubyte.gz")
  with pytest.raises(SourceFormatError) as e:
    with ZipMember(archive, "gzip/emnist-digits-train-labels-idx1-ubyte.gz").open():
      pass
  assert str(e.value) == (f"{archive}: member gzip/emnist-digits-train-labels-idx1-ubyte.gz is "
                          "encrypted; EMNIST's gzip.zip is not: download it again")
