"""`python -m tfds_builders verify`: a built dataset read end to end, each kind of damage named.

mnist_idx is built once per format from the bundled samples (train 24, test 12, one shard each);
each test damages its own copy the way a copy rots, and asserts the exact lines printed.
"""

import io
import json
import pathlib
import re
import shutil
import struct

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from tfds_builders.__main__ import main
from tfds_builders.builder_base import sample_sources_dir

from conftest import DUMMY_DATA
# The local GCS emulator (gs://tfds-builders-test) of the cloud-path tests, reused as it is.
from test_cloud_paths import bucket  # noqa: F401

VERSION = "1.0.0"


def _build(data_dir, file_format):
  tfds.disable_progress_bar()
  builder = tfds.builder("mnist_idx", data_dir=data_dir, file_format=file_format)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=sample_sources_dir() / "mnist_idx"))
  return data_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  """file format -> a data dir holding mnist_idx built from the samples (never modified)."""
  root = tmp_path_factory.mktemp("verify_built")
  return {fmt: _build(root / fmt, fmt) for fmt in ("tfrecord", "array_record")}


@pytest.fixture
def data_dir(built, tmp_path):
  """A copy of the TFRecord build, for a test to damage."""
  return pathlib.Path(shutil.copytree(built["tfrecord"], tmp_path / "data"))


def dataset_path(data_dir):
  return data_dir / "mnist_idx" / VERSION


def shard(data_dir, split, file_format="tfrecord"):
  return dataset_path(data_dir) / f"mnist_idx-{split}.{file_format}-00000-of-00001"


def verify(capsys, *args):
  code = main(["verify", "mnist_idx", *map(str, args)])
  captured = capsys.readouterr()
  return code, captured.out.splitlines(), captured.err.splitlines()


def frames(path):
  """(offset, length) of every record of a TFRecord file, walked from the format's definition
  (length, its CRC, data, its CRC), independently of the reader under test."""
  data, offset, out = path.read_bytes(), 0, []
  while offset < len(data):
    (length,) = struct.unpack_from("<Q", data, offset)
    out.append((offset, length))
    offset += 12 + length + 4
  return out


def header(data_dir, file_format="tfrecord"):
  return f"verify mnist_idx/{VERSION} ({file_format}) in {dataset_path(data_dir)}"


WHOLE_TEST = "  test: 12 examples in 1 shard: whole"
ONE_BAD_TRAIN = [
    "  train: 24 examples in 1 shard: 1 of 1 shards damaged",
]
DAMAGED_SUMMARY = "damaged: 1 of 2 shards (train 1); copy them again or rebuild"


def damaged_train(data_dir, problem, file_format="tfrecord"):
  return [header(data_dir, file_format), *ONE_BAD_TRAIN,
          f"    {shard(data_dir, 'train', file_format)}: {problem}", WHOLE_TEST, DAMAGED_SUMMARY]


def test_a_whole_dataset_passes(data_dir, capsys):
  code, out, err = verify(capsys, "--data_dir", data_dir)
  assert out == [
      header(data_dir),
      "  train: 24 examples in 1 shard: whole",
      "  test: 12 examples in 1 shard: whole",
      "whole: 2 splits, 2 shards, 36 examples: every record is intact and every example decodes",
  ]
  assert code == 0 and err == []


def test_a_truncated_shard_is_named_as_truncated(data_dir, capsys):
  path = shard(data_dir, "train")
  offset, length = frames(path)[-1]
  path.write_bytes(path.read_bytes()[:offset + 100])  # the last record loses its tail
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == damaged_train(
      data_dir, f"truncated: record 23 at byte {offset} needs {12 + length + 4} bytes, the file "
      "has 100")
  assert code == 1


def test_a_shard_cut_inside_a_header_is_named_as_truncated(data_dir, capsys):
  path = shard(data_dir, "train")
  offset, _ = frames(path)[-1]
  path.write_bytes(path.read_bytes()[:offset + 5])
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == damaged_train(
      data_dir, f"truncated: record 23 at byte {offset} has 5 of the 12 bytes of its header")
  assert code == 1


def test_one_flipped_byte_names_the_shard_the_record_and_its_offset(data_dir, capsys):
  path = shard(data_dir, "train")
  offset, length = frames(path)[5]
  data = bytearray(path.read_bytes())
  data[offset + 12 + length // 2] ^= 0x01  # inside record 5's data
  path.write_bytes(bytes(data))
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == damaged_train(
      data_dir, f"record 5 at byte {offset}: the CRC of its data does not match (its bytes changed "
      "after it was written)")
  assert code == 1


def test_a_flipped_byte_in_a_length_stops_the_shard_there(data_dir, capsys):
  path = shard(data_dir, "train")
  offset, _ = frames(path)[3]
  data = bytearray(path.read_bytes())
  data[offset] ^= 0x40
  path.write_bytes(bytes(data))
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == damaged_train(
      data_dir, f"record 3 at byte {offset}: the CRC of its length does not match (the header is "
      "damaged; the records after it cannot be found)")
  assert code == 1


def test_a_missing_shard_is_named(data_dir, capsys):
  shard(data_dir, "train").unlink()
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == damaged_train(data_dir, "missing")
  assert code == 1


def test_a_record_count_that_lies_is_named(data_dir, capsys):
  info_file = dataset_path(data_dir) / "dataset_info.json"
  info = json.loads(info_file.read_text())
  [train] = [s for s in info["splits"] if s["name"] == "train"]
  assert train["shardLengths"] == ["24"]
  train["shardLengths"] = ["25"]
  info_file.write_text(json.dumps(info))
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == [header(data_dir), "  train: 25 examples in 1 shard: 1 of 1 shards damaged",
                 f"    {shard(data_dir, 'train')}: holds 24 records, dataset_info.json says 25",
                 WHOLE_TEST, DAMAGED_SUMMARY]
  assert code == 1


def rewrite_record(path, index, change):
  """Rewrites a TFRecord shard with record `index` changed by `change(tf.train.Example)`, every
  CRC correct (written by TensorFlow's own writer): damage only decoding can find."""
  records = [r.numpy() for r in tf.data.TFRecordDataset(str(path))]
  example = tf.train.Example.FromString(records[index])
  change(example)
  records[index] = example.SerializeToString()
  with tf.io.TFRecordWriter(str(path)) as writer:
    for record in records:
      writer.write(record)


def test_an_image_that_does_not_decode_is_named(data_dir, capsys):
  def garbage_image(example):
    example.features.feature["image"].bytes_list.value[:] = [b"not a PNG at all"]

  rewrite_record(shard(data_dir, "train"), 7, garbage_image)
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  # TensorFlow's own words, which list the formats the installed release decodes (2.16: "One of
  # JPEG, PNG, GIF, BMP required."; 2.21 adds JPEG XL and WebP).
  with pytest.raises(tf.errors.InvalidArgumentError) as decoding:
    tf.io.decode_image(b"not a PNG at all")
  tensorflow_says = re.search(r"Unknown image file format\. One of JPEG, [^.]* required\.",
                              decoding.value.message).group(0)
  assert out == damaged_train(data_dir, f"record 7: does not decode: image: {tensorflow_says}")
  assert code == 1


def test_an_image_of_another_shape_is_named(data_dir, capsys):
  import numpy as np

  def small_image(example):
    png = tf.io.encode_png(np.zeros((20, 20, 1), np.uint8)).numpy()
    example.features.feature["image"].bytes_list.value[:] = [png]

  rewrite_record(shard(data_dir, "train"), 3, small_image)
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == damaged_train(
      data_dir, "record 3: does not decode: image: Tensor's shape (20, 20, 1) is not compatible "
      "with supplied shape (28, 28, 1).")
  assert code == 1


def test_a_label_out_of_range_is_named(data_dir, capsys):
  def label_12(example):
    example.features.feature["label"].int64_list.value[:] = [12]

  rewrite_record(shard(data_dir, "train"), 2, label_12)
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == damaged_train(
      data_dir, "record 2: label: 12 is not a class (there are 10: 0 to 9, or -1)")
  assert code == 1


def test_array_record_passes_and_a_damaged_shard_is_named(built, tmp_path, capsys):
  data_dir = pathlib.Path(shutil.copytree(built["array_record"], tmp_path / "data"))
  code, out, err = verify(capsys, "--data_dir", data_dir)
  assert out == [
      header(data_dir, "array_record"),
      "  train: 24 examples in 1 shard: whole",
      "  test: 12 examples in 1 shard: whole",
      "whole: 2 splits, 2 shards, 36 examples: every record is intact and every example decodes",
  ]
  assert code == 0 and err == []

  # A truncated copy loses ArrayRecord's footer, which indexes every record.
  path = shard(data_dir, "train", "array_record")
  path.write_bytes(path.read_bytes()[:-100])
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == damaged_train(
      data_dir, "not a readable ArrayRecord file: its footer (the index of its records) is damaged "
      "or missing; truncated?", "array_record")
  assert code == 1


def test_a_flipped_byte_in_an_array_record_shard_names_the_record(built, tmp_path, capsys):
  data_dir = pathlib.Path(shutil.copytree(built["array_record"], tmp_path / "data"))
  path = shard(data_dir, "train", "array_record")
  data = bytearray(path.read_bytes())
  data[3000] ^= 0xFF  # inside a record's chunk (each record is a chunk of its own, group_size 1)
  path.write_bytes(bytes(data))
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert len(out) == 5 and out[2].startswith(
      f"    {path}: record 7: Corrupted Riegeli/records file: chunk data hash mismatch")
  assert out[:2] == damaged_train(data_dir, "", "array_record")[:2]
  assert out[3:] == [WHOLE_TEST, DAMAGED_SUMMARY]
  assert code == 1


# ------------------------------------------------------------------ shards that cannot be read


UNREADABLE_SUMMARY = ("unreadable: 1 of 2 shards (train 1) could not be read, so what they hold is "
                      "unknown: fix what the error names (permissions, credentials, the network) "
                      "and verify again")


def unreadable_train(data_dir, error, file_format="tfrecord"):
  return [header(data_dir, file_format), "  train: 24 examples in 1 shard: 1 of 1 shards unreadable",
          f"    {shard(data_dir, 'train', file_format)}: cannot be read after {error}", WHOLE_TEST,
          UNREADABLE_SUMMARY]


@pytest.mark.parametrize("file_format", ["tfrecord", "array_record"])
def test_a_shard_that_cannot_be_opened_is_named_with_its_error_not_as_damage(built, tmp_path,
                                                                              capsys, file_format):
  # A folder where the shard should be: present, but open() fails as on a file this process may
  # not read (the tests run as root, who may read any file). The array_record reader alone would
  # say only that its footer is missing.
  data_dir = pathlib.Path(shutil.copytree(built[file_format], tmp_path / "data"))
  path = shard(data_dir, "train", file_format)
  path.unlink()
  path.mkdir()
  code, out, err = verify(capsys, "--data_dir", data_dir)
  assert out == unreadable_train(
      data_dir, f"0 records: IsADirectoryError: [Errno 21] Is a directory: '{path}'", file_format)
  assert (code, err) == (3, [])


class FailingBucketFile(io.RawIOBase):
  """A shard read as from a bucket that stops answering: its first `good` bytes, then the error
  TensorFlow's GCS file system raises."""

  def __init__(self, data: bytes, good: int):
    self.data, self.good, self.offset = data, good, 0

  def readable(self):
    return True

  def read(self, size=-1):
    if self.offset >= self.good:
      raise tf.errors.UnavailableError(None, None, "Error executing an HTTP request: HTTP "
                                       "response code 503 with body 'Service Unavailable'")
    chunk = self.data[self.offset:self.good]
    self.offset = self.good
    return chunk


def test_an_error_of_tensorflows_file_system_mid_shard_is_named_not_taken_for_damage(
    data_dir, capsys, monkeypatch):
  from tfds_builders.formats import paths
  path = shard(data_dir, "train")
  good = frames(path)[3][0]  # the first three records arrive, then the bucket fails
  real_as_path = paths.as_path

  class Flaky(type(real_as_path(path))):
    def open(self, mode="r", **kwargs):
      return FailingBucketFile(path.read_bytes(), good)

  monkeypatch.setattr(paths, "as_path", lambda p: Flaky(p) if str(p) == str(path)
                      else real_as_path(p))
  code, out, err = verify(capsys, "--data_dir", data_dir)
  # Before: the error was dropped inside tf.data, and the shard said to "hold 0 records".
  assert out == unreadable_train(
      data_dir, "3 records: UnavailableError: Error executing an HTTP request: HTTP response code "
      "503 with body 'Service Unavailable'")
  assert (code, err) == (3, [])


def test_a_bug_in_the_reader_is_named_with_its_traceback_not_taken_for_damage(data_dir, capsys,
                                                                              monkeypatch):
  from tfds_builders.formats import tfrecord
  real = tfrecord.read_records

  def buggy(file, name):
    for record in real(file, name):
      if record.index == 5 and "train" in name:
        raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")
      yield record

  monkeypatch.setattr(tfrecord, "read_records", buggy)
  code, out, err = verify(capsys, "--data_dir", data_dir)
  path = shard(data_dir, "train")
  assert out == unreadable_train(
      data_dir, "5 records: TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'")
  assert code == 3
  assert err[:2] == [f"verify: reading {path} raised an error that is not an I/O error; its "
                     "traceback:", "Traceback (most recent call last):"]
  assert err[-1] == "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'"
  assert any(line.strip() == 'raise TypeError("unsupported operand type(s) for +: \'int\' and '
             '\'NoneType\'")' for line in err)


def test_damage_and_an_unreadable_shard_are_both_named_and_unreadable_is_the_status(data_dir,
                                                                                    capsys):
  train = shard(data_dir, "train")
  offset, length = frames(train)[5]
  data = bytearray(train.read_bytes())
  data[offset + 12 + length // 2] ^= 0x01
  train.write_bytes(bytes(data))
  test = shard(data_dir, "test")
  test.unlink()
  test.mkdir()
  code, out, _ = verify(capsys, "--data_dir", data_dir)
  assert out == [
      header(data_dir), *ONE_BAD_TRAIN,
      f"    {train}: record 5 at byte {offset}: the CRC of its data does not match (its bytes "
      "changed after it was written)",
      "  test: 12 examples in 1 shard: 1 of 1 shards unreadable",
      f"    {test}: cannot be read after 0 records: IsADirectoryError: [Errno 21] Is a directory: "
      f"'{test}'",
      DAMAGED_SUMMARY,
      "unreadable: 1 of 2 shards (test 1) could not be read, so what they hold is unknown: fix "
      "what the error names (permissions, credentials, the network) and verify again"]
  assert code == 3


def test_the_exit_statuses_are_in_the_module_docstring():
  from tfds_builders import verify as verify_module
  assert verify_module.__doc__.endswith("\n" + verify_module.EXIT_STATUS)
  statuses = [line.split()[0] for line in verify_module.EXIT_STATUS.splitlines()
              if line[:3].strip().isdigit()]
  assert statuses == ["0", "1", "2", "3", "4"]
  assert (verify_module.WHOLE, verify_module.DAMAGED, verify_module.NOT_FOUND,
          verify_module.UNREADABLE, verify_module.NOTHING_COMPARED) == (0, 1, 2, 3, 4)


def test_an_unknown_name_or_an_empty_data_dir_is_one_error_line(tmp_path, capsys):
  code = main(["verify", "mnist_idy", "--data_dir", str(tmp_path)])
  captured = capsys.readouterr()
  assert (code, captured.out, captured.err.splitlines()) == (2, "", [
      "error: no dataset named 'mnist_idy'; did you mean 'mnist_idx'? (tfds build finds this "
      "package's datasets only with --imports tfds_builders)"])

  code, out, err = verify(capsys, "--data_dir", tmp_path)
  assert (code, out, err) == (2, [], [
      f"error: {tmp_path} holds no built mnist_idx {VERSION} (no "
      f"{tmp_path}/mnist_idx/{VERSION}/dataset_info.json)"])


# ------------------------------------------------------------------ a gs:// data dir


def test_a_data_dir_in_a_bucket_verifies(built, bucket, capsys):
  from etils import epath
  local = dataset_path(built["tfrecord"])
  remote = epath.Path(f"{bucket}/verify_data")
  for path in sorted(local.iterdir()):
    (remote / "mnist_idx" / VERSION / path.name).write_bytes(path.read_bytes())
  code, out, err = verify(capsys, "--data_dir", remote)
  assert out == [
      f"verify mnist_idx/{VERSION} (tfrecord) in {remote}/mnist_idx/{VERSION}",
      "  train: 24 examples in 1 shard: whole",
      "  test: 12 examples in 1 shard: whole",
      "whole: 2 splits, 2 shards, 36 examples: every record is intact and every example decodes",
  ]
  assert code == 0 and err == []

  # And a shard lost in the bucket is named by its gs:// path.
  (remote / "mnist_idx" / VERSION / "mnist_idx-test.tfrecord-00000-of-00001").unlink()
  code, out, _ = verify(capsys, "--data_dir", remote)
  assert out[3:] == [
      f"    {remote}/mnist_idx/{VERSION}/mnist_idx-test.tfrecord-00000-of-00001: missing",
      "damaged: 1 of 2 shards (test 1); copy them again or rebuild"]
  assert code == 1


# ------------------------------------------------------------------ --sources


SAMPLE_SIZES = {name: (DUMMY_DATA / "mnist_idx" / name).stat().st_size for name in (
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz")}
REGISTERED_SIZES = {"t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542,
                    "train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881}
WHOLE = [
    "  train: 24 examples in 1 shard: whole",
    "  test: 12 examples in 1 shard: whole",
    "whole: 2 splits, 2 shards, 36 examples: every record is intact and every example decodes",
]


def test_sources_on_the_bundled_samples_list_their_differences_and_pass(built, capsys):
  samples = sample_sources_dir() / "mnist_idx"
  code, out, err = verify(capsys, "--data_dir", built["tfrecord"], "--sources", "--manual_dir",
                          samples)
  assert out[1:4] == WHOLE
  assert out[4:] == [
      f"sources of mnist_idx in {samples} against mnist_idx.tsv:",
      *(f"  {samples / name}: a sample, not the official file (size is {SAMPLE_SIZES[name]} "
        f"bytes, the registered size is {REGISTERED_SIZES[name]})"
        for name in sorted(SAMPLE_SIZES)),
      "sources: 4 registered files: 0 match, 4 differ, 0 missing: the bundled sample sources, "
      "which differ from the official files by design",
  ]
  assert code == 0 and err == []


def test_sources_name_a_mismatch_and_a_missing_file(built, tmp_path, capsys):
  manual = tmp_path / "manual"
  (manual / "mnist_idx").mkdir(parents=True)
  # One wrong file (a sample under the official name), one missing, and two decompressed copies
  # (one in manual/mnist_idx/, one in manual/: both folders are looked in, as a build does).
  shutil.copy(DUMMY_DATA / "mnist_idx" / "train-images-idx3-ubyte.gz",
              manual / "mnist_idx" / "train-images-idx3-ubyte.gz")
  shutil.copy(DUMMY_DATA / "mnist_idx" / "t10k-images-idx3-ubyte.gz",
              manual / "mnist_idx" / "t10k-images-idx3-ubyte")
  shutil.copy(DUMMY_DATA / "mnist_idx" / "t10k-labels-idx1-ubyte.gz",
              manual / "t10k-labels-idx1-ubyte")
  code, out, err = verify(capsys, "--data_dir", built["tfrecord"], "--sources", "--manual_dir",
                          manual)
  own = manual / "mnist_idx"
  assert out[4:] == [
      f"sources of mnist_idx in {manual} against mnist_idx.tsv:",
      f"  {own / 't10k-images-idx3-ubyte'}: a decompressed copy of t10k-images-idx3-ubyte.gz, "
      "not compared (the registered size and sha256 are of the compressed file)",
      f"  {manual / 't10k-labels-idx1-ubyte'}: a decompressed copy of t10k-labels-idx1-ubyte.gz, "
      "not compared (the registered size and sha256 are of the compressed file)",
      f"  {own / 'train-images-idx3-ubyte.gz'}: size is "
      f"{SAMPLE_SIZES['train-images-idx3-ubyte.gz']} bytes, the registered size is 9912422",
      f"  train-labels-idx1-ubyte.gz: missing (looked in {own}, {manual})",
      "sources: 4 registered files: 0 match, 1 differ, 1 missing, 2 not compared",
  ]
  assert code == 1 and err == []


def test_sources_with_the_registered_bytes_match(built, tmp_path, capsys, monkeypatch):
  """A file whose size and sha256 are the registered ones is said to match (the registered table
  is pointed at the sample's own digest: the real files are not in the repository)."""
  import hashlib
  from tfds_builders import download
  manual = tmp_path / "manual"
  manual.mkdir()
  name = "train-labels-idx1-ubyte.gz"
  data = (DUMMY_DATA / "mnist_idx" / name).read_bytes()
  (manual / name).write_bytes(data)
  real = download.checksums_for
  monkeypatch.setattr(download, "checksums_for", lambda builder, checksums_dir=None: {
      **real(builder, checksums_dir),
      name: download.Checksum(len(data), hashlib.sha256(data).hexdigest())})
  code, out, _ = verify(capsys, "--data_dir", built["tfrecord"], "--sources", "--manual_dir",
                        manual)
  assert f"  {manual / name}: matches" in out
  # Wrong bytes of the right size: the sha256 is named.
  (manual / name).write_bytes(bytes(len(data)))
  code, out, _ = verify(capsys, "--data_dir", built["tfrecord"], "--sources", "--manual_dir",
                        manual)
  assert (f"  {manual / name}: sha256 is {hashlib.sha256(bytes(len(data))).hexdigest()}, the "
          f"registered sha256 is {hashlib.sha256(data).hexdigest()}") in out
  assert code == 1


def test_sources_that_compare_nothing_do_not_pass_and_say_what_to_pass(built, tmp_path, capsys):
  # Only decompressed copies: what the registered size and sha256 describe is not there. This
  # used to exit 0 ("0 match, 0 differ, 0 missing, 4 not compared").
  manual = tmp_path / "manual"
  manual.mkdir()
  for name in sorted(SAMPLE_SIZES):
    (manual / name[:-len(".gz")]).write_bytes(b"decompressed")
  code, out, err = verify(capsys, "--data_dir", built["tfrecord"], "--sources", "--manual_dir",
                          manual)
  assert out[1:4] == WHOLE
  assert out[4:] == [
      f"sources of mnist_idx in {manual} against mnist_idx.tsv:",
      *(f"  {manual / name[:-len('.gz')]}: a decompressed copy of {name}, not compared (the "
        "registered size and sha256 are of the compressed file)" for name in sorted(SAMPLE_SIZES)),
      "sources: 4 registered files: 0 match, 0 differ, 0 missing, 4 not compared: nothing was "
      "compared",
      "  the registered size and sha256 are of the compressed files, and only decompressed copies "
      "of 4 of them were found",
      "  pass as --manual_dir a folder that holds the files as downloaded: "
      + ", ".join(sorted(SAMPLE_SIZES)),
  ]
  assert (code, err) == (4, [])

  # A folder that holds none of the files (the wrong --manual_dir): nothing compared either.
  empty = tmp_path / "empty"
  empty.mkdir()
  code, out, err = verify(capsys, "--data_dir", built["tfrecord"], "--sources", "--manual_dir",
                          empty)
  assert out[4:] == [
      f"sources of mnist_idx in {empty} against mnist_idx.tsv:",
      *(f"  {name}: missing (looked in {empty})" for name in sorted(SAMPLE_SIZES)),
      "sources: 4 registered files: 0 match, 0 differ, 4 missing: nothing was compared",
      f"  4 of them are in none of {empty}",
      "  pass as --manual_dir a folder that holds the files as downloaded: "
      + ", ".join(sorted(SAMPLE_SIZES)),
  ]
  assert (code, err) == (4, [])


# ------------------------------------------------------------------ the TFRecord framing reader


def test_the_framing_is_tensorflows_byte_for_byte(tmp_path):
  """frame() writes what TensorFlow's writer writes (both CRCs masked as TFRecord masks them), and
  read_records() gives back each record, its index and its offset."""
  import io
  from tfds_builders.formats import tfrecord
  records = [b"", b"a", b"\x00" * 1000, bytes(range(256)) * 3]
  path = tmp_path / "x.tfrecord"
  with tf.io.TFRecordWriter(str(path)) as writer:
    for record in records:
      writer.write(record)
  written = path.read_bytes()
  assert b"".join(tfrecord.frame(r) for r in records) == written
  read = list(tfrecord.read_records(io.BytesIO(written), "x.tfrecord"))
  assert [(r.index, r.offset, r.data, r.problem) for r in read] == [
      (0, 0, b"", None), (1, 16, b"a", None), (2, 33, b"\x00" * 1000, None),
      (3, 1049, bytes(range(256)) * 3, None)]
