"""ImageNet inputs that lie: sparse members claiming gigabytes, a ground truth of 100 M lines, an
image header claiming 60000x60000, names that are not UTF-8 or repeat, files the process may not
read. Each is refused naming the file, in bounded memory (measured in a child process)."""

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap

import pytest

from conftest import DUMMY_DATA, REPO
from faults._children import MODES_APPLY_TO_ROOT_TOO, run_fresh
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import imagenet_archive as archive
from tfds_builders.formats.imagenet_archive import Member

SOURCES = DUMMY_DATA / "ilsvrc2012"
GIB3 = 3 << 30
RSS_BOUND_MB = 300


def _octal(value: int, width: int) -> bytes:
  return b"%0*o\0" % (width - 1, value)


def sparse_member(name: str, claimed: int, stored: bytes = b"\xff" * 512) -> bytes:
  """A GNU sparse tar member (type 'S') storing `stored` but claiming `claimed` bytes of data."""
  header = bytearray(512)
  header[0:len(name)] = name.encode()
  header[100:108] = b"0000644\0"
  header[108:116] = b"0000000\0"
  header[116:124] = b"0000000\0"
  header[124:136] = _octal(len(stored), 12)
  header[136:148] = _octal(0, 12)
  header[156:157] = b"S"
  header[257:265] = b"ustar  \0"  # the GNU magic
  header[386:398] = _octal(claimed - len(stored), 12)  # one data region, at the very end
  header[398:410] = _octal(len(stored), 12)
  header[483:495] = _octal(claimed, 12)  # the size it claims once expanded
  header[148:156] = b" " * 8
  header[148:156] = b"%06o\0 " % sum(header)
  padding = b"\0" * (-len(stored) % 512)
  return bytes(header) + stored + padding


def tar_of(members, end=True) -> bytes:
  return b"".join(members) + (b"\0" * 1024 if end else b"")


def plain_member(name: str, data: bytes) -> bytes:
  info = tarfile.TarInfo(name)
  info.size = len(data)
  return info.tobuf(format=tarfile.GNU_FORMAT) + data + b"\0" * (-len(data) % 512)


def _val_tar_with(tmp_path, name, data):
  manual = tmp_path / "manual"
  manual.mkdir()
  out = io.BytesIO()
  with tarfile.open(fileobj=out, mode="w") as tar:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
  return manual, out.getvalue()


def _sparse_train_tar(folder):
  """A 10 KB train tar whose one image claims 3 GiB."""
  manual = folder / "sparse_train"
  manual.mkdir()
  outer = tar_of([plain_member("n01440764.tar", tar_of([sparse_member("n01440764_1.JPEG",
                                                                      GIB3)]))])
  assert len(outer) < 10_000
  (manual / "ILSVRC2012_img_train.tar").write_bytes(outer)
  return manual


def _with_val_and_devkit(folder, name, devkit: bytes):
  manual = folder / name
  manual.mkdir()
  os.symlink(SOURCES / "ILSVRC2012_img_val.tar", manual / "ILSVRC2012_img_val.tar")
  (manual / "ILSVRC2012_devkit_t12.tar.gz").write_bytes(devkit)
  return manual


def _long_ground_truth_devkit() -> bytes:
  """100 M lines of "1": 200 MB of text in about 200 KB of gzip."""
  lines = b"1\n" * 10_000_000
  devkit = io.BytesIO()
  with gzip.GzipFile(fileobj=devkit, mode="wb", mtime=0) as gz:
    # A real meta.mat first, so that nothing but the ground truth's size can stop the read.
    gz.write(plain_member("ILSVRC2012_devkit_t12/data/meta.mat",
                          (SOURCES / "ILSVRC2012_devkit_t12" / "data" / "meta.mat").read_bytes()))
    header = tarfile.TarInfo("ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt")
    header.size = len(lines) * 10
    gz.write(header.tobuf(format=tarfile.GNU_FORMAT))
    for _ in range(10):
      gz.write(lines)
    gz.write(b"\0" * 1024)
  assert len(devkit.getvalue()) < 1_000_000
  return devkit.getvalue()


def _giant_header_val_tar(folder):
  with tarfile.open(SOURCES / "ILSVRC2012_img_val.tar") as tar:
    member = sorted(tar.getmembers(), key=lambda m: m.name)[0]
    data = bytearray(tar.extractfile(member).read())
  sof = next(i for i in range(2, len(data) - 1)
             if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2))
  data[sof + 5:sof + 9] = (60000).to_bytes(2, "big") * 2  # height, then width
  manual, tar_bytes = _val_tar_with(folder / "giant", member.name, bytes(data))
  (manual / "ILSVRC2012_img_val.tar").write_bytes(tar_bytes)
  return manual, member.name


@pytest.fixture(scope="module")
def hostile_builds(tmp_path_factory):
  """Builds ilsvrc2012 from each hostile manual dir, all in one fresh process (TensorFlow is
  imported once): case -> (manual dir, error text, whether a dataset was left), and how much the
  process's peak RSS grew over what it was before the first build (the peak over every case)."""
  folder = tmp_path_factory.mktemp("hostile")
  (folder / "giant").mkdir()
  giant, giant_member = _giant_header_val_tar(folder)
  cases = {
      "sparse_train": _sparse_train_tar(folder),
      "long_ground_truth": _with_val_and_devkit(folder, "long_gt", _long_ground_truth_devkit()),
      "sparse_meta_mat": _with_val_and_devkit(folder, "sparse_meta", gzip.compress(tar_of(
          [sparse_member("ILSVRC2012_devkit_t12/data/meta.mat", GIB3)]), mtime=0)),
      "giant_header": giant,
  }
  script = textwrap.dedent(f"""
      import json, os, resource, sys
      import tensorflow_datasets as tfds, tfds_builders
      cases = json.loads(sys.argv[1])
      before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
      out = {{}}
      for case, manual in cases.items():
        data_dir = os.path.join({str(folder)!r}, "data_" + case)
        builder = tfds.builder("ilsvrc2012", data_dir=data_dir)
        try:
          builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
              manual_dir=manual))
          error = None
        except Exception as e:
          error = f"{{type(e).__name__}}: {{e}}"
        left = os.path.exists(os.path.join(data_dir, "ilsvrc2012", "1.0.0"))
        out[case] = [manual, error, left]
      after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
      print(json.dumps({{"cases": out, "grew_mb": (after - before) / 1024}}))
  """)
  result = run_fresh(script, json.dumps({k: str(v) for k, v in cases.items()}))
  result["giant_member"] = giant_member
  print(f"hostile ImageNet builds: peak RSS grew {result['grew_mb']:.0f} MB over 4 builds")
  return result


def test_every_hostile_build_stays_within_the_memory_bound(hostile_builds):
  assert hostile_builds["grew_mb"] < RSS_BOUND_MB
  # Nothing tfds.load would accept was left by any of them.
  assert [left for _, _, left in hostile_builds["cases"].values()] == [False] * 4


def test_sparse_member_claiming_3_gib_in_a_10_kb_train_tar_is_refused(hostile_builds):
  manual, error, _ = hostile_builds["cases"]["sparse_train"]
  assert error == (
      f"SourceFormatError: {manual}/ILSVRC2012_img_train.tar:n01440764.tar: member "
      f"'n01440764_1.JPEG' is a sparse file claiming {GIB3} bytes; ILSVRC2012's archives hold none")


def test_a_100m_line_ground_truth_is_refused_before_it_is_read(hostile_builds):
  manual, error, _ = hostile_builds["cases"]["long_ground_truth"]
  assert error == (
      f"SourceFormatError: {manual}/ILSVRC2012_devkit_t12.tar.gz:ILSVRC2012_devkit_t12/data/"
      "ILSVRC2012_validation_ground_truth.txt: is 200000000 bytes; the devkit's "
      "data/ILSVRC2012_validation_ground_truth.txt is never more than 1048576")


def test_a_sparse_meta_mat_in_a_small_devkit_is_refused(hostile_builds):
  manual, error, _ = hostile_builds["cases"]["sparse_meta_mat"]
  assert error == (
      f"SourceFormatError: {manual}/ILSVRC2012_devkit_t12.tar.gz: member "
      f"ILSVRC2012_devkit_t12/data/meta.mat is a sparse file claiming {GIB3} bytes; the devkit "
      "holds none")


def test_image_header_claiming_60000x60000_is_refused_at_build_time_in_ilsvrc2012(
    hostile_builds):
  manual, error, _ = hostile_builds["cases"]["giant_header"]
  assert error == (
      f"SourceFormatError: {manual}/ILSVRC2012_img_val.tar:{hostile_builds['giant_member']}: "
      "claims to be 60000x60000 (3600000000 pixels), more than 67108864: the image header is "
      "damaged")


def test_ground_truth_longer_than_the_validation_set_is_refused():
  from tfds_builders.formats.imagenet_devkit import read_ground_truth
  classes = {1: object()}
  with pytest.raises(SourceFormatError) as e:
    read_ground_truth("1\n" * 50_001, "devkit:gt.txt", classes)
  assert str(e.value) == ("devkit:gt.txt: has more than 50000 labels (line 50001); ILSVRC2012 has "
                          "50000 validation images")


def test_an_image_member_larger_than_any_photograph_is_refused_before_it_is_read(tmp_path):
  member = Member(str(tmp_path / "val.tar"), "ILSVRC2012_val_00000001.JPEG", 512, 100 << 20)
  (tmp_path / "val.tar").write_bytes(b"\0" * 1024)
  with pytest.raises(SourceFormatError) as e:
    list(archive.read_members([member]))
  assert str(e.value) == (f"{tmp_path}/val.tar:ILSVRC2012_val_00000001.JPEG: is 104857600 bytes, "
                          "more than any ILSVRC2012 image (67108864 at most): not an image of this "
                          "dataset")


def test_non_utf8_names_in_the_test_tar_and_the_test_folder_are_named(tmp_path):
  good = (SOURCES / "test").iterdir().__next__().read_bytes()
  bad_name = os.fsdecode(b"ILSVRC2012_test_\xff.JPEG")
  manual, tar_bytes = _val_tar_with(tmp_path, bad_name, good)
  (manual / "ILSVRC2012_img_test.tar").write_bytes(tar_bytes)
  with pytest.raises(SourceFormatError) as e:
    archive.list_members(manual / "ILSVRC2012_img_test.tar")
  assert str(e.value) == (f"{manual}/ILSVRC2012_img_test.tar: holds a file name that is not UTF-8 "
                          "text ('ILSVRC2012_test_\\udcff.JPEG'); ILSVRC2012's names are ASCII: "
                          "rename the file")
  folder = tmp_path / "test"
  folder.mkdir()
  (folder / bad_name).write_bytes(good)
  with pytest.raises(SourceFormatError) as e:
    archive.flat_or_by_class(folder)
  assert str(e.value) == (f"{folder}: holds a file name that is not UTF-8 text "
                          "('ILSVRC2012_test_\\udcff.JPEG'); ILSVRC2012's names are ASCII: rename "
                          "the file")


def _train_tar(tmp_path, inner_tars):
  manual = tmp_path / "manual"
  manual.mkdir(parents=True)
  (manual / "ILSVRC2012_img_train.tar").write_bytes(
      tar_of([plain_member(name, tar_of([plain_member(n, d) for n, d in images]))
              for name, images in inner_tars]))
  return manual


def test_the_same_image_twice_in_the_train_tar_names_the_places(tmp_path):
  from tfds_builders.imagenet import planning
  image = next((SOURCES / "train" / "n01735189").iterdir()).read_bytes()
  # One inner tar twice.
  manual = _train_tar(tmp_path / "a", [("n01735189.tar", [("n01735189_1.JPEG", image)])] * 2)
  with pytest.raises(SourceFormatError) as e:
    planning.train_units(manual / "ILSVRC2012_img_train.tar")
  assert str(e.value) == (
      f"{manual}/ILSVRC2012_img_train.tar: holds 1 file name(s) more than once, e.g. "
      f"n01735189.tar at {manual}/ILSVRC2012_img_train.tar:n01735189.tar and "
      f"{manual}/ILSVRC2012_img_train.tar:n01735189.tar; each image must have its own name")
  # One image name twice in a class tar.
  manual = _train_tar(tmp_path / "b", [("n01735189.tar", [("n01735189_1.JPEG", image)] * 2)])
  [unit] = planning.train_units(manual / "ILSVRC2012_img_train.tar")
  with pytest.raises(SourceFormatError) as e:
    list(planning.examples_of(unit))
  assert str(e.value) == (f"{manual}/ILSVRC2012_img_train.tar:n01735189.tar: holds "
                          "n01735189_1.JPEG twice")
  # The same name in two class tars: it is named for one class only.
  manual = _train_tar(tmp_path / "c", [("n01735189.tar", [("n01735189_1.JPEG", image)]),
                                       ("n01739381.tar", [("n01735189_1.JPEG", image)])])
  units = planning.train_units(manual / "ILSVRC2012_img_train.tar")
  with pytest.raises(SourceFormatError) as e:
    for unit in units:
      list(planning.examples_of(unit))
  assert str(e.value) == (
      f"{manual}/ILSVRC2012_img_train.tar:n01739381.tar:n01735189_1.JPEG: is in the class tar of "
      "n01739381 but is not named n01739381_<n>.JPEG like every ILSVRC2012 train image")


def test_a_source_the_process_may_not_read_is_named(tmp_path):
  unreadable_archive = tmp_path / "ILSVRC2012_img_val.tar"
  shutil.copy(SOURCES / "ILSVRC2012_img_val.tar", unreadable_archive)
  os.chmod(unreadable_archive, 0o000)
  script = MODES_APPLY_TO_ROOT_TOO + textwrap.dedent(f"""
      from tfds_builders.formats import imagenet_archive
      try:
        imagenet_archive.list_members({str(unreadable_archive)!r})
      except Exception as e:
        print(type(e).__name__ + ": " + str(e))
  """)
  out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                       cwd=REPO)
  assert out.stdout.strip() == (
      f"SourceFormatError: {unreadable_archive}: permission denied: this process may not read it "
      "(check the file's permissions and owner)"), out.stderr[-2000:]
