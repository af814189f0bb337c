"""The archive walkers: listing by headers, streamed inner tars in flat memory, unsafe names and
truncation stopping with the member's name."""

import io
import tarfile
import tracemalloc

import pytest

from conftest import DUMMY_DATA
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import imagenet_archive as archive

SOURCES = DUMMY_DATA / "ilsvrc2012"


def tar_bytes(members):
  out = io.BytesIO()
  with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
    for name, data in members:
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  return out.getvalue()


def contents_by_tarfile(data):
  with tarfile.open(fileobj=io.BytesIO(data)) as tar:
    return [(m.name.rsplit("/", 1)[-1], tar.extractfile(m).read()) for m in tar if m.isfile()]


def test_val_and_test_members_equal_tarfile_extraction():
  for name in ("ILSVRC2012_img_val.tar", "ILSVRC2012_img_test_v10102019.tar"):
    members = archive.list_members(SOURCES / name)
    got = [(m.name, data) for m, data in archive.read_members(members)]
    assert got == contents_by_tarfile((SOURCES / name).read_bytes())
  test_members = archive.list_members(SOURCES / "ILSVRC2012_img_test_v10102019.tar")
  assert [m.path for m in test_members][0] == "test/ILSVRC2012_test_00000001.JPEG"
  assert [m.name for m in test_members][0] == "ILSVRC2012_test_00000001.JPEG"


def test_train_inner_tars_stream_the_same_images_as_tarfile():
  outer = SOURCES / "ILSVRC2012_img_train.tar"
  inner = archive.train_inner_tars(outer)
  assert [archive.wnid_of_inner(m) for m in inner] == [
      "n01735189", "n01739381", "n01751748", "n02105855", "n03125729", "n04263257", "n09193705"]
  expected = {name: contents_by_tarfile(data)
              for name, data in contents_by_tarfile(outer.read_bytes())}
  for member in inner:
    assert list(archive.iter_inner_tar(member)) == expected[member.name]


def test_inner_tar_is_streamed_in_flat_memory(tmp_path):
  image = bytes(range(256)) * 400  # 100 KB
  inner = tar_bytes([(f"n01440764_{i}.JPEG", image) for i in range(160)])  # 16 MB
  path = tmp_path / "train.tar"
  path.write_bytes(tar_bytes([("n01440764.tar", inner)]))
  member, = archive.train_inner_tars(path)
  tracemalloc.start()
  count = sum(1 for _ in archive.iter_inner_tar(member))
  _, peak = tracemalloc.get_traced_memory()
  tracemalloc.stop()
  assert count == 160
  assert peak < 4 << 20, f"peak {peak} bytes: the inner tar was not streamed"


def test_truncated_outer_tar_names_the_member(tmp_path):
  data = (SOURCES / "ILSVRC2012_img_val.tar").read_bytes()
  last = archive.list_members(SOURCES / "ILSVRC2012_img_val.tar")[-1]
  path = tmp_path / "ILSVRC2012_img_val.tar"
  path.write_bytes(data[:last.offset + 100])
  with pytest.raises(SourceFormatError) as e:
    archive.list_members(path)
  assert str(e.value) == (
      f"{path}: truncated: member ILSVRC2012_val_00001108.JPEG needs bytes up to "
      f"{last.offset + last.size} but the file has {last.offset + 100}; copy or download it again")


def test_truncated_inner_tar_names_both_archives_and_the_member(tmp_path):
  inner = tar_bytes([("n01440764_1.JPEG", b"a" * 3000), ("n01440764_2.JPEG", b"b" * 3000)])
  path = tmp_path / "train.tar"
  path.write_bytes(tar_bytes([("n01440764.tar", inner[:512 + 3072 + 512 + 1000])]))
  member, = archive.train_inner_tars(path)
  with pytest.raises(SourceFormatError) as e:
    list(archive.iter_inner_tar(member))
  assert str(e.value).startswith(
      f"{path}:n01440764.tar: truncated or damaged tar at member n01440764_2.JPEG")


@pytest.mark.parametrize("bad", ["../evil.JPEG", "/etc/evil.JPEG", "val/../../evil.JPEG"])
def test_unsafe_member_names_are_refused(tmp_path, bad):
  path = tmp_path / "ILSVRC2012_img_val.tar"
  path.write_bytes(tar_bytes([("ILSVRC2012_val_00000001.JPEG", b"x"), (bad, b"y")]))
  with pytest.raises(SourceFormatError) as e:
    archive.list_members(path)
  assert str(e.value) == (f"{path}: member {bad!r} has an absolute path or '..' in it; refusing "
                          "to read this archive (it is not an ILSVRC2012 archive as distributed)")


def test_train_tar_with_a_stray_member_is_rejected(tmp_path):
  path = tmp_path / "ILSVRC2012_img_train.tar"
  path.write_bytes(tar_bytes([("n01440764.tar", tar_bytes([])), ("readme.txt", b"x")]))
  with pytest.raises(SourceFormatError, match="member 'readme.txt' is not a <wnid>.tar class"):
    archive.train_inner_tars(path)


def test_not_a_tar(tmp_path):
  path = tmp_path / "ILSVRC2012_img_val.tar"
  path.write_bytes(b"<html>login required</html>")
  with pytest.raises(SourceFormatError, match=r"is not a readable tar archive"):
    archive.list_members(path)


def test_validation_index():
  assert archive.validation_index("ILSVRC2012_val_00001108.JPEG", "v") == 1108
  with pytest.raises(SourceFormatError, match="is not named ILSVRC2012_val_<8 digits>.JPEG"):
    archive.validation_index("val_1.JPEG", "v")


def test_walks_do_not_keep_a_header_per_member(tmp_path):
  # 20,000 empty members: tarfile would keep ~20,000 TarInfo objects (~10 MB) if they were not
  # dropped as the walk passes them; the val tar has 50,000, the train box archive 545k.
  count = 20_000
  data = tar_bytes([(f"val/ILSVRC2012_val_{i:08d}.JPEG", b"") for i in range(1, count + 1)])
  path = tmp_path / "many.tar"
  path.write_bytes(data)
  tracemalloc.start()
  try:
    seen = sum(1 for _ in archive.walk_tar_stream(io.BytesIO(data), "many.tar",
                                                  max_bytes=archive.check_image_size))
    _, streamed_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    members = archive.list_members(path)
    _, listed_peak = tracemalloc.get_traced_memory()
  finally:
    tracemalloc.stop()
  assert seen == len(members) == count
  assert streamed_peak < 1 << 20, f"streaming held {streamed_peak} bytes"
  # What list_members keeps is its own Member list (~220 bytes each); no TarInfo (~500) beside it.
  assert listed_peak - before < 300 * count, f"listing held {listed_peak - before} bytes"


def test_a_walk_passes_over_unwanted_members_unread():
  data = tar_bytes([("a/readme.txt", b"x" * 5000), ("a/b.xml", b"<a/>")])

  def too_large(size, where):
    raise AssertionError(f"{where} ({size} bytes) should not have been sized")

  got = [(info.name, body) for info, body in archive.walk_tar_stream(
      io.BytesIO(data), "boxes.tar", max_bytes=lambda size, where: None,
      wanted=lambda name: name.endswith(".xml"))]
  assert got == [("a/readme.txt", None), ("a/b.xml", b"<a/>")]
  with pytest.raises(AssertionError, match=r"boxes.tar:a/b.xml \(4 bytes\)"):
    list(archive.walk_tar_stream(io.BytesIO(data), "boxes.tar", max_bytes=too_large,
                                 wanted=lambda name: name.endswith(".xml")))
