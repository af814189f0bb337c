"""The one resolver: download faults that must never reach the cache, deadlines, TFDS's download
switches, and the manual directory named in every message. Mirrors are a local HTTP server on
127.0.0.1 (never an outside address)."""

import dataclasses
import gzip
import hashlib
import json
import logging
import os
import re
import shutil

import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from tfds_builders import download
from tfds_builders.download import Checksum, Limits
from tfds_builders.errors import ConfigurationError, DownloadError, ManualDirError
from tfds_builders.formats import mnist_csv as mnist_csv_format
from tfds_builders.mnist_family import mnist_csv
from tfds_builders.sources import Resolver, SourceFile
from conftest import DUMMY_DATA

GOOD = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\x03", mtime=0)
SHA = hashlib.sha256(GOOD).hexdigest()
NAME = "train-labels-idx1-ubyte.gz"
CSV = (DUMMY_DATA / "mnist_csv" / "mnist_train.csv").read_bytes()
CSV_ROWS = CSV.count(b"\n")
HTML = b"<!DOCTYPE html>\n<html><body>503: mirror overloaded, try later</body></html>\n"


@pytest.fixture
def table(monkeypatch):
  """Registers GOOD as the official bytes of NAME for a builder called `toy`."""
  monkeypatch.setattr(download, "checksums_for", lambda name, checksums_dir=None: (
      {NAME: Checksum(len(GOOD), SHA)} if name == "toy" else {}))
  for name in ("TFDS_BUILDERS_MIRROR", "TFDS_BUILDERS_MIRROR_TOY", "TFDS_BUILDERS_MIRROR_MNIST_CSV",
               download.TIMEOUT_ENV, download.MIN_RATE_ENV, download.RATE_WINDOW_ENV):
    monkeypatch.delenv(name, raising=False)


@pytest.fixture
def official_rows(monkeypatch):
  """The sample CSV stands in for pjreddie's mnist_train.csv: its row count is the official one."""
  monkeypatch.setitem(mnist_csv.OFFICIAL_ROWS, "mnist_train.csv", CSV_ROWS)


def resolver(tmp_path, name="toy", **kwargs):
  kwargs.setdefault("limits", Limits(timeout=2))
  kwargs.setdefault("manual_dir_given", False)
  return Resolver(name, tmp_path / "manual", tmp_path / "downloads", **kwargs)


def cache_listing(tmp_path, name="toy"):
  folder = tmp_path / "downloads" / name
  return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- nothing unverified is cached


def test_html_page_with_status_200_is_never_cached_and_the_fixed_mirror_is_used_later(
    tmp_path, http_server, table, official_rows):
  http_server.route("/m/mnist_train.csv", body=HTML)
  source = SourceFile("mnist_train.csv", (http_server.url("/m/"),),
                      check=mnist_csv._official_file("mnist_train.csv").check)
  with pytest.raises(DownloadError) as e:
    resolver(tmp_path, "mnist_csv").get(source)
  assert e.value.attempts == [(http_server.url("/m/mnist_train.csv"),
                               "the server sent an HTML page, not mnist_train.csv (an error, "
                               "login or moved page served with status 200)")]
  assert cache_listing(tmp_path, "mnist_csv") == []
  # The mirror is fixed: the next run fetches the real file, it is not served a stale page.
  http_server.route("/m/mnist_train.csv", body=CSV)
  path = resolver(tmp_path, "mnist_csv").get(source)
  assert path.read_bytes() == CSV
  assert cache_listing(tmp_path, "mnist_csv") == ["mnist_train.csv",
                                                  "mnist_train.csv.verified.json"]
  record = json.loads((path.parent / "mnist_train.csv.verified.json").read_text())
  assert record == {"size": len(CSV), "sha256": hashlib.sha256(CSV).hexdigest(),
                    "url": http_server.url("/m/mnist_train.csv")}


def test_html_content_type_is_refused_before_the_body_is_read(tmp_path, http_server, table,
                                                              official_rows):
  http_server.route("/m/mnist_train.csv", body=CSV, content_type="text/html; charset=utf-8")
  with pytest.raises(DownloadError) as e:
    resolver(tmp_path, "mnist_csv").get(SourceFile(
        "mnist_train.csv", (http_server.url("/m/"),),
        check=mnist_csv._official_file("mnist_train.csv").check))
  assert e.value.attempts[0][1] == ("the server sent an HTML page (Content-Type text/html; "
                                    "charset=utf-8), not mnist_train.csv")


def test_csv_cut_short_without_content_length_fails_the_full_parse(tmp_path, http_server, table,
                                                                    official_rows):
  cut = CSV[:CSV.index(b"\n", len(CSV) // 2) + 1]  # whole rows, but only half of them
  http_server.route("/short/mnist_train.csv", body=cut, behaviour="no_length")
  http_server.route("/whole/mnist_train.csv", body=CSV, behaviour="no_length")
  source = SourceFile("mnist_train.csv", (http_server.url("/short/"), http_server.url("/whole/")),
                      check=mnist_csv._official_file("mnist_train.csv").check)
  path = resolver(tmp_path, "mnist_csv").get(source)
  assert path.read_bytes() == CSV
  tmp_name = f".mnist_train.csv.{os.getpid()}.part"
  assert cut.count(b"\n") < CSV_ROWS
  # The short body was parsed in full under its temporary name and refused for its row count.
  assert http_server.requests == ["/short/mnist_train.csv", "/whole/mnist_train.csv"]
  with pytest.raises(DownloadError) as e:
    resolver(tmp_path / "again", "mnist_csv").get(SourceFile(
        "mnist_train.csv", (http_server.url("/short/"),),
        check=mnist_csv._official_file("mnist_train.csv").check))
  part = tmp_path / "again" / "downloads" / "mnist_csv" / tmp_name
  cut_rows = cut.count(b"\n")
  assert e.value.attempts[0][1] == (
      f"bad bytes: the content is not mnist_train.csv: has {cut_rows} rows; the official "
      f"mnist_train.csv has {CSV_ROWS}")
  assert not part.exists() and cache_listing(tmp_path / "again", "mnist_csv") == []


def test_endless_body_is_cut_off_at_the_size_cap(tmp_path, http_server, table):
  http_server.route("/e/endless.bin", behaviour="endless", seconds=20)
  source = SourceFile("endless.bin", (http_server.url("/e/"),), max_size=1 << 20,
                      check=lambda path: None)
  with pytest.raises(DownloadError) as e:
    resolver(tmp_path).get(source)
  assert e.value.attempts[0][1] == ("bad bytes: server sent more than 1048576 bytes, this "
                                    "source's size cap (an endless body?)")
  assert cache_listing(tmp_path) == []


def test_a_trickling_mirror_is_given_up_for_the_next_one(tmp_path, http_server, table):
  http_server.route(f"/slow/{NAME}", body=GOOD, behaviour="trickle", delay=0.05)
  http_server.route(f"/fast/{NAME}", body=GOOD)
  source = SourceFile(NAME, (http_server.url("/slow/"), http_server.url("/fast/")))
  limits = Limits(timeout=2, min_rate=1000, rate_window=0.3)
  path = resolver(tmp_path, limits=limits).get(source)
  assert path.read_bytes() == GOOD
  assert http_server.requests == [f"/slow/{NAME}", f"/fast/{NAME}"]


def test_a_trickle_alone_fails_with_the_rate_in_the_reason(tmp_path, http_server, table):
  http_server.route(f"/slow/{NAME}", body=GOOD, behaviour="trickle", delay=0.05)
  limits = Limits(timeout=2, min_rate=1000, rate_window=0.3)
  with pytest.raises(DownloadError) as e:
    resolver(tmp_path, limits=limits).get(SourceFile(NAME, (http_server.url("/slow/"),)))
  reason = e.value.attempts[0][1]
  match = re.fullmatch(r"too slow: (\d+) bytes/s over the last (\d+) s, below the floor of 1000 "
                       r"bytes/s \(TFDS_BUILDERS_MIN_RATE, TFDS_BUILDERS_RATE_WINDOW\)", reason)
  assert match, reason
  # A byte every 0.05 s is about 20 bytes/s, measured over at least the 0.3 s window.
  assert int(match.group(1)) < 1000


def test_file_mirror_that_is_a_fifo_is_refused_at_once(tmp_path, table):
  share = tmp_path / "share"
  share.mkdir()
  os.mkfifo(share / NAME)  # opening it for reading would block forever
  with pytest.raises(DownloadError) as e:
    resolver(tmp_path).get(SourceFile(NAME, (share.as_uri() + "/",)))
  assert e.value.attempts == [((share / NAME).as_uri(),
                               f"{share / NAME} is a FIFO, not a regular file; refusing to read "
                               "it")]


@pytest.mark.parametrize("variable", [download.TIMEOUT_ENV, download.MIN_RATE_ENV,
                                      download.RATE_WINDOW_ENV])
def test_unusable_timeout_setting_names_the_variable(tmp_path, table, monkeypatch, variable):
  monkeypatch.setenv(variable, "abc")
  with pytest.raises(ConfigurationError) as e:
    Resolver("toy", None, tmp_path / "downloads")
  unit = {download.TIMEOUT_ENV: "seconds per read", download.MIN_RATE_ENV: "bytes per second",
          download.RATE_WINDOW_ENV: "seconds"}[variable]
  default = {download.TIMEOUT_ENV: "60", download.MIN_RATE_ENV: "10240",
             download.RATE_WINDOW_ENV: "30"}[variable]
  assert str(e.value) == (f"the environment variable {variable}='abc' is not a number of {unit}; "
                          f"set it to a positive number (default {default}) or unset it")


def test_part_files_of_killed_downloads_are_removed_by_the_next_fetch(tmp_path, http_server,
                                                                      table):
  http_server.route(f"/m/{NAME}", body=GOOD)
  cache = tmp_path / "downloads" / "toy"
  cache.mkdir(parents=True)
  dead_pid = 2 ** 22 + 12345  # above Linux's pid_max: no process has it
  (cache / f".{NAME}.{dead_pid}.part").write_bytes(GOOD[:5])
  alive = cache / f".{NAME}.1.part"  # pid 1 is alive: another download under way
  alive.write_bytes(b"")
  resolver(tmp_path).get(SourceFile(NAME, (http_server.url("/m/"),)))
  assert cache_listing(tmp_path) == [f".{NAME}.1.part", NAME]


# ---------------------------------------------------------------- TFDS's download switches


def test_force_redownload_fetches_again_instead_of_reusing_the_cache(tmp_path, http_server, table):
  http_server.route(f"/m/{NAME}", body=GOOD)
  source = SourceFile(NAME, (http_server.url("/m/"),))
  resolver(tmp_path).get(source)
  resolver(tmp_path).get(source)
  assert http_server.requests == [f"/m/{NAME}"]
  resolver(tmp_path, force_redownload=True).get(source)
  assert http_server.requests == [f"/m/{NAME}", f"/m/{NAME}"]


def test_register_checksums_records_files_and_mirrors_not_yet_registered(tmp_path, http_server,
                                                                          table):
  http_server.route("/m/new.bin", body=b"fresh bytes")
  http_server.route(f"/m/{NAME}", body=GOOD)
  tables = tmp_path / "checksums"
  tables.mkdir()
  (tables / "toy.tsv").write_text(f"https://registered.example/{NAME}\t{len(GOOD)}\t{SHA}\t{NAME}\n")
  mirror = http_server.url("/m/")
  registering = resolver(tmp_path, register_checksums=True, checksums_dir=tables)
  registering.get(SourceFile("new.bin", (mirror,)))
  registering.get(SourceFile(NAME, (mirror,)))
  assert (tables / "toy.tsv").read_text() == (
      f"https://registered.example/{NAME}\t{len(GOOD)}\t{SHA}\t{NAME}\n"
      f"{mirror}new.bin\t11\t{hashlib.sha256(b'fresh bytes').hexdigest()}\tnew.bin\n"
      f"{mirror}{NAME}\t{len(GOOD)}\t{SHA}\t{NAME}\n")
  # Registered once: the same run again adds nothing.
  resolver(tmp_path, register_checksums=True, checksums_dir=tables,
           force_redownload=True).get(SourceFile("new.bin", (mirror,)))
  assert (tables / "toy.tsv").read_text().count("new.bin") == 2  # url and name on one line


def test_tfds_register_checksums_writes_our_table_not_a_file_beside_the_code(tmp_path,
                                                                            http_server,
                                                                            monkeypatch):
  # --register_checksums through TFDS itself, for mnist_csv (whose CSVs have no registered digest).
  monkeypatch.setattr(download, "CHECKSUMS_DIR", tmp_path / "checksums")
  monkeypatch.setitem(mnist_csv.OFFICIAL_ROWS, "mnist_train.csv", CSV_ROWS)
  test_csv = (DUMMY_DATA / "mnist_csv" / "mnist_test.csv").read_bytes()
  test_rows = mnist_csv_format.read_layout(DUMMY_DATA / "mnist_csv" / "mnist_test.csv").num_rows
  monkeypatch.setitem(mnist_csv.OFFICIAL_ROWS, "mnist_test.csv", test_rows)
  # Only the local mirror: the built-in one is an outside address.
  monkeypatch.setattr(mnist_csv, "SPLIT_FILES", dataclasses.replace(
      mnist_csv.SPLIT_FILES, defaults=tuple(dataclasses.replace(f, mirrors=())
                                            for f in mnist_csv.SPLIT_FILES.defaults)))
  http_server.route("/csv/mnist_train.csv", body=CSV)
  http_server.route("/csv/mnist_test.csv", body=test_csv)
  (tmp_path / "checksums").mkdir()
  builder = tfds.builder("mnist_csv", data_dir=tmp_path / "data",
                         mirrors=[http_server.url("/csv/")])
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      register_checksums=True))
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == {
      "train": CSV_ROWS, "test": test_rows}
  lines = sorted((tmp_path / "checksums" / "mnist_csv.tsv").read_text().splitlines())
  assert lines == sorted(
      f"{http_server.url('/csv/')}{name}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\t{name}"
      for name, data in (("mnist_train.csv", CSV), ("mnist_test.csv", test_csv)))
  code_dir = os.path.dirname(mnist_csv.__file__)
  assert not os.path.exists(os.path.join(code_dir, "checksums.tsv"))


# ---------------------------------------------------------------- the manual directory, named


def test_manual_dir_that_does_not_exist_stops_the_build_at_once(tmp_path, no_network):
  missing = tmp_path / "mnsit"  # a typo
  builder = tfds.builder("mnist_idx", data_dir=tmp_path / "data")
  with pytest.raises(ManualDirError) as e:
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=missing))
  assert str(e.value) == (
      f"mnist_idx: the manual directory {missing} does not exist. Check the path given as "
      "--manual_dir (or DownloadConfig(manual_dir=...)); nothing was downloaded.")
  assert not (tmp_path / "data" / "mnist_idx" / "1.0.0").exists()


def test_manual_dir_lacking_files_says_so_once_then_the_failed_download_names_it(
    tmp_path, http_server, monkeypatch, caplog):
  manual = tmp_path / "manual"
  manual.mkdir()
  for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-labels-idx1-ubyte.gz"):
    shutil.copy(DUMMY_DATA / "mnist_idx" / name, manual / name)
  (manual / "t10k-images-idx3-ubyte (1).gz").write_bytes(b"x")
  monkeypatch.setenv("TFDS_BUILDERS_MIRROR_MNIST_IDX", http_server.url("/mine/"))
  monkeypatch.setattr("tfds_builders.mnist_family.mnist_idx.MnistIdx.MIRRORS",
                      (http_server.url("/builtin/"),))
  builder = tfds.builder("mnist_idx", data_dir=tmp_path / "data")
  with caplog.at_level(logging.WARNING, logger="tfds_builders"), \
      pytest.raises(DownloadError) as e:
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=manual))
  name = "t10k-images-idx3-ubyte.gz"
  # The copies are the samples, not the official files: one warning lists them, then one line
  # says what is missing, before any download.
  assert caplog.messages[0].startswith("mnist_idx: 3 file(s) in the manual directory differ ")
  assert caplog.messages[1] == (
      f"mnist_idx: {manual} lacks {name}; looking in the download cache and on the mirrors")
  assert str(e.value) == f"""\
Could not download {name}: every mirror failed.
  - {http_server.url('/mine/' + name)}: HTTP 404 Not Found
  - {http_server.url('/builtin/' + name)}: HTTP 404 Not Found
The manual directory was looked in first ({manual}): it has no {name} or t10k-images-idx3-ubyte.
It holds instead:
  {manual}/t10k-images-idx3-ubyte (1).gz: looks like {name} under another name: rename it to \
{name} if it is that file
Put a copy of {name} in the manual directory (--manual_dir), or name a mirror that has it with the \
TFDS_BUILDERS_MIRROR_MNIST_IDX environment variable."""


def test_mnist_csv_reads_every_subset_in_its_own_folder_of_the_manual_dir(tmp_path, no_network,
                                                                          caplog):
  own = tmp_path / "manual" / "mnist_csv"
  own.mkdir(parents=True)
  for subset in ("train", "test", "validation"):
    shutil.copy(DUMMY_DATA / "mnist_csv" / f"mnist_{'test' if subset == 'validation' else subset}"
                ".csv", own / f"mnist_{subset}.csv")
  builder = tfds.builder("mnist_csv", data_dir=tmp_path / "data")
  with caplog.at_level(logging.WARNING):
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=tmp_path / "manual"))
  expected = {s: mnist_csv_format.read_layout(own / f"mnist_{s}.csv").num_rows
              for s in ("train", "test", "validation")}
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == expected
  assert [r for r in caplog.records if r.name.startswith("tfds_builders")] == []


def test_bundled_samples_differ_from_the_official_files_without_a_warning(tmp_path, no_network,
                                                                          caplog):
  with caplog.at_level(logging.INFO, logger="tfds_builders"):
    tfds.builder("mnist_idx", data_dir=tmp_path / "data").download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=DUMMY_DATA / "mnist_idx"))
  # Other modules log their own INFO lines (the build lock): only warnings would be wrong here.
  assert [r.getMessage() for r in caplog.records
          if r.name.startswith("tfds_builders") and r.levelno >= logging.WARNING] == []
  assert [r.getMessage() for r in caplog.records if r.name == "tfds_builders.sources"] == [
      "mnist_idx: using the bundled sample sources (4 files differ from the official ones, as "
      "samples do)"]


def test_csv_files_whose_subset_cannot_be_a_split_name_are_named_in_a_warning_and_skipped(
    tmp_path, no_network, caplog):
  manual = tmp_path / "manual"
  manual.mkdir()
  shutil.copy(DUMMY_DATA / "mnist_csv" / "mnist_train.csv", manual / "mnist_train.csv")
  shutil.copy(DUMMY_DATA / "mnist_csv" / "mnist_test.csv", manual / "mnist_my test.csv")
  shutil.copy(DUMMY_DATA / "mnist_csv" / "mnist_test.csv", manual / "mnist_t\u00e9st.csv")
  builder = tfds.builder("mnist_csv", data_dir=tmp_path / "data")
  with caplog.at_level(logging.WARNING, logger="tfds_builders"):
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
  assert sorted(builder.info.splits) == ["train"]
  assert caplog.messages == [
      f"mnist_csv: not read from {manual}: 'mnist_my test.csv', 'mnist_t\\xe9st.csv' "
      "(files must be named mnist_<subset>.csv, with a subset of ASCII letters, digits, _ and -)"]


# ------------------------------------------------------------------ the manual dir against the table


def test_the_manual_dir_check_sorts_each_file_and_passes_only_when_something_matched(tmp_path,
                                                                                     table):
  from tfds_builders import sources
  manual = tmp_path / "manual"
  manual.mkdir()
  check = resolver(tmp_path, manual_dir_given=True).check_manual_dir()
  assert [(f.name, f.state) for f in check.files] == [(NAME, sources.MISSING)]
  assert check.verdict == sources.NOTHING_COMPARED

  (manual / NAME[:-len(".gz")]).write_bytes(gzip.decompress(GOOD))
  check = resolver(tmp_path, manual_dir_given=True).check_manual_dir()
  assert [(f.state, f.path) for f in check.files] == [
      (sources.NOT_COMPARED, manual / NAME[:-len(".gz")])]
  assert check.verdict == sources.NOTHING_COMPARED

  (manual / NAME).write_bytes(GOOD)
  check = resolver(tmp_path, manual_dir_given=True).check_manual_dir()
  assert [(f.state, f.path, f.problem) for f in check.files] == [
      (sources.MATCHES, manual / NAME, None)]
  assert check.verdict == sources.PASSED
  assert check.lines() == [f"sources of toy in {manual} against toy.tsv:",
                           f"  {manual / NAME}: matches",
                           "sources: 1 registered files: 1 match, 0 differ, 0 missing"]

  (manual / NAME).write_bytes(GOOD[:-1])
  check = resolver(tmp_path, manual_dir_given=True).check_manual_dir()
  assert [(f.state, f.problem) for f in check.files] == [
      (sources.DIFFERS, f"size is {len(GOOD) - 1} bytes, the registered size is {len(GOOD)}")]
  assert check.verdict == sources.FAILED


def test_a_builder_with_no_registered_file_compares_nothing_and_says_so(tmp_path):
  from tfds_builders import sources
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / "mnist_train.csv").write_bytes(CSV)
  # mnist_csv's files have no registered size or sha256 (checksums/ has no mnist_csv.tsv).
  check = Resolver("mnist_csv", manual).check_manual_dir()
  assert check.files == () and check.verdict == sources.NOTHING_COMPARED
  assert check.lines() == [
      f"sources of mnist_csv in {manual} against mnist_csv.tsv:",
      "sources: 0 registered files: 0 match, 0 differ, 0 missing: nothing was compared",
      "  mnist_csv.tsv registers no size or sha256 for any file of mnist_csv, so there is "
      "nothing to compare its files with: run verify without --sources"]
