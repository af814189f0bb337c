"""The shared download helper against a local HTTP server on 127.0.0.1 (never an outside address)."""

import gzip
import hashlib
import logging

import pytest

from tfds_builders import download
from tfds_builders.download import Checksum, Limits
from tfds_builders.sources import Resolver, SourceFile
from tfds_builders.errors import DownloadError, ManualDirError

GOOD = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\x03", mtime=0)
SHA = hashlib.sha256(GOOD).hexdigest()
NAME = "train-labels-idx1-ubyte.gz"


@pytest.fixture
def table(monkeypatch):
  """Registers GOOD as the official bytes of NAME for a builder called `toy`."""
  monkeypatch.setattr(download, "checksums_for",
                      lambda name, checksums_dir=None: {NAME: Checksum(len(GOOD), SHA)} if name == "toy" else {})
  monkeypatch.delenv("TFDS_BUILDERS_MIRROR", raising=False)
  monkeypatch.delenv("TFDS_BUILDERS_MIRROR_TOY", raising=False)


def fetcher(tmp_path, timeout=2, **kwargs):
  kwargs.setdefault("manual_dir_given", False)
  return Resolver("toy", tmp_path / "manual", tmp_path / "downloads", limits=Limits(timeout=timeout),
                  **kwargs)


def test_falls_back_past_a_404_and_wrong_bytes_to_the_good_mirror(tmp_path, http_server, table):
  http_server.route(f"/one/{NAME}", status=404)
  http_server.route(f"/two/{NAME}", body=b"X" * len(GOOD))  # right length, wrong bytes
  http_server.route(f"/three/{NAME}", body=GOOD)
  source = SourceFile(NAME, tuple(http_server.url(f"/{m}/") for m in ("one", "two", "three")))
  path = fetcher(tmp_path).get(source)
  assert path == tmp_path / "downloads" / "toy" / NAME
  assert path.read_bytes() == GOOD
  assert http_server.requests == [f"/one/{NAME}", f"/two/{NAME}", f"/three/{NAME}"]
  # Bad bytes were never kept: only the verified file is in the download folder.
  assert sorted(p.name for p in path.parent.iterdir()) == [NAME]


def test_every_mirror_bad_gives_one_error_listing_each_url_and_reason(tmp_path, http_server,
                                                                      table):
  urls = [
      http_server.route(f"/a/{NAME}", status=403),
      http_server.route(f"/b/{NAME}", status=500),
      http_server.route(f"/c/{NAME}", body=GOOD, behaviour="reset"),
      http_server.route(f"/d/{NAME}", behaviour="hang", hang_seconds=10),
      http_server.route(f"/e/{NAME}", body=GOOD, behaviour="truncate"),
      http_server.route(f"/f/{NAME}", body=b"Y" * len(GOOD)),
      http_server.route(f"/g/{NAME}", body=GOOD + b"extra"),
  ]
  source = SourceFile(NAME, tuple(u[: -len(NAME)] for u in urls))
  with pytest.raises(DownloadError) as e:
    fetcher(tmp_path, timeout=1).get(source)
  reasons = dict(e.value.attempts)
  assert list(reasons) == urls
  assert reasons[urls[0]] == "HTTP 403 Forbidden"
  assert reasons[urls[1]] == "HTTP 500 Internal Server Error"
  assert reasons[urls[2]].startswith(("connection lost", "truncated body"))
  assert reasons[urls[3]] in ("timed out while reading", "timed out")
  assert reasons[urls[4]].startswith(("truncated body", "bad bytes: connection closed after"))
  assert reasons[urls[5]] == (
      f"bad bytes: sha256 is {hashlib.sha256(b'Y' * len(GOOD)).hexdigest()}, the registered "
      f"sha256 is {SHA}")
  assert reasons[urls[6]] == (
      f"bad bytes: server announces {len(GOOD) + 5} bytes, the registered size is {len(GOOD)}")
  message = str(e.value)
  assert message.startswith(f"Could not download {NAME}: every mirror failed.\n")
  for url in urls:
    assert f"  - {url}: {reasons[url]}" in message
  assert not (tmp_path / "downloads" / "toy" / NAME).exists()
  assert list((tmp_path / "downloads" / "toy").iterdir()) == []


def test_users_own_mirror_comes_first(tmp_path, http_server, table, monkeypatch):
  http_server.route(f"/builtin/{NAME}", body=GOOD)
  http_server.route(f"/institution/{NAME}", body=GOOD)
  monkeypatch.setenv("TFDS_BUILDERS_MIRROR_TOY", http_server.url("/institution/"))
  fetcher(tmp_path).get(SourceFile(NAME, (http_server.url("/builtin/"),)))
  assert http_server.requests == [f"/institution/{NAME}"]


def test_generic_mirror_variable_uses_one_folder_per_builder(tmp_path, http_server, table,
                                                            monkeypatch):
  http_server.route(f"/datasets/toy/{NAME}", body=GOOD)
  monkeypatch.setenv("TFDS_BUILDERS_MIRROR", http_server.url("/datasets"))
  fetcher(tmp_path).get(SourceFile(NAME, ()))
  assert http_server.requests == [f"/datasets/toy/{NAME}"]


def test_mirrors_argument_and_file_urls(tmp_path, table):
  share = tmp_path / "share"
  share.mkdir()
  (share / NAME).write_bytes(GOOD)
  path = fetcher(tmp_path, mirrors=[share.as_uri() + "/"]).get(SourceFile(NAME, ()))
  assert path.read_bytes() == GOOD


def test_verified_cache_is_reused_without_a_request(tmp_path, http_server, table):
  http_server.route(f"/m/{NAME}", body=GOOD)
  source = SourceFile(NAME, (http_server.url("/m/"),))
  fetcher(tmp_path).get(source)
  fetcher(tmp_path).get(source)
  assert http_server.requests == [f"/m/{NAME}"]


def test_manual_dir_is_used_without_network(tmp_path, table, no_network, caplog):
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / NAME).write_bytes(GOOD)
  source = SourceFile(NAME, ("https://mirror.invalid/",))
  with caplog.at_level(logging.WARNING):
    assert fetcher(tmp_path).get(source) == manual / NAME
  assert caplog.records == []


def test_gunzipped_copy_in_manual_dir_is_accepted(tmp_path, table, no_network):
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / NAME[:-3]).write_bytes(gzip.decompress(GOOD))
  assert fetcher(tmp_path).get(SourceFile(NAME, ("https://mirror.invalid/",))) == (
      manual / NAME[:-3])


def test_modified_copies_in_manual_dir_give_one_warning_listing_them(tmp_path, table, no_network,
                                                                    caplog):
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / NAME).write_bytes(GOOD[:-1] + b"!")
  with caplog.at_level(logging.WARNING, logger="tfds_builders"):
    fetcher(tmp_path).get(SourceFile(NAME, ()))
  assert caplog.messages == [
      "toy: 1 file(s) in the manual directory differ from the official ones and are used as "
      f"they are (put there on purpose?):\n  {manual / NAME} (sha256 is "
      f"{hashlib.sha256(GOOD[:-1] + b'!').hexdigest()}, the registered sha256 is {SHA})"]


def test_md5_only_sources_are_verified_and_unverifiable_ones_refused(tmp_path, http_server, table):
  other = "published-with-md5-only.xz"
  md5 = hashlib.md5(GOOD).hexdigest()
  http_server.route(f"/bad/{other}", body=b"Z" * len(GOOD))
  http_server.route(f"/good/{other}", body=GOOD)
  source = SourceFile(other, (http_server.url("/bad/"), http_server.url("/good/")), md5=md5)
  assert fetcher(tmp_path).get(source).read_bytes() == GOOD
  with pytest.raises(DownloadError) as e:
    fetcher(tmp_path / "again").get(SourceFile(other, (http_server.url("/bad/"),), md5=md5))
  assert e.value.attempts == [(http_server.url(f"/bad/{other}"), (
      f"bad bytes: md5 is {hashlib.md5(b'Z' * len(GOOD)).hexdigest()}, the published md5 is "
      f"{md5}"))]
  # A file with no checksum and no content check is not fetched at all: nothing could verify it.
  http_server.route("/x/unregistered.csv", body=b"1,2,3\n")
  requests_before = list(http_server.requests)
  with pytest.raises(DownloadError) as e:
    fetcher(tmp_path).get(SourceFile("unregistered.csv", (http_server.url("/x/"),)))
  assert str(e.value) == (
      "Could not download unregistered.csv.\nNo size, digest or content check is registered for "
      "unregistered.csv, so a download of it could not be verified. Run `tfds build` with "
      "--register_checksums to record the one you trust, or put the file in the manual "
      "directory.")
  assert http_server.requests == requests_before


def test_a_builders_own_folder_in_manual_dir_comes_first(tmp_path, table, no_network):
  manual = tmp_path / "manual"
  (manual / "toy").mkdir(parents=True)
  (manual / NAME).write_bytes(b"another dataset's file of the same name")
  (manual / "toy" / NAME).write_bytes(GOOD)
  assert fetcher(tmp_path).get(SourceFile(NAME, ())) == manual / "toy" / NAME


def test_another_datasets_file_of_the_same_name_is_refused(tmp_path, table, monkeypatch,
                                                          no_network):
  # Fashion-MNIST's real train labels would be found where MNIST's are expected; here the
  # registered tables are stand-ins: `other` registers the bytes that are in manual_dir.
  foreign = b"the other dataset's labels file"
  other_table = tmp_path / "checksums"
  other_table.mkdir()
  (other_table / "other.tsv").write_text(
      f"https://host/{NAME}\t{len(foreign)}\t{hashlib.sha256(foreign).hexdigest()}\t{NAME}\n")
  monkeypatch.setattr(download, "CHECKSUMS_DIR", other_table)
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / NAME).write_bytes(foreign)
  with pytest.raises(ManualDirError) as e:
    fetcher(tmp_path).get(SourceFile(NAME, ()))
  assert str(e.value) == (
      f"{manual / NAME} is other's {NAME}, not toy's: several datasets use this file name. Put "
      f"each dataset's files in its own folder, {manual / 'toy'}/ for this one.")
