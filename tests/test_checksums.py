"""The checksum tables: TFDS's TSV format, one line per mirror URL, agreeing with each other and
with the checksums the installed tensorflow_datasets package registers for the same URLs."""

import pathlib

import pytest
import tensorflow_datasets as tfds

import tfds_builders
from tfds_builders import download

TABLES = sorted(download.CHECKSUMS_DIR.glob("*.tsv"))


def tfds_registered():
  """url -> Checksum from every checksum file the installed TFDS ships."""
  root = pathlib.Path(tfds.__file__).parent
  found = {}
  for path in list(root.glob("url_checksums/*.txt")) + list(root.glob("datasets/*/checksums.tsv")):
    for line in path.read_text(errors="replace").splitlines():
      fields = line.split("\t")
      if len(fields) >= 3 and fields[1].isdigit():  # a few old files use other layouts
        found[fields[0]] = download.Checksum(int(fields[1]), fields[2].lower())
  return found


def test_there_is_a_table_for_every_builder_that_downloads():
  names = {p.stem for p in TABLES}
  assert "mnist_idx" in names
  assert names <= set(tfds_builders.builder_names()) | {"mnist_idx"}


@pytest.mark.parametrize("table", TABLES, ids=lambda p: p.stem)
def test_table_is_well_formed_and_consistent(table):
  entries = download.load_checksums(table)
  assert entries
  for line in table.read_text().splitlines():
    assert len(line.split("\t")) == 4, line
  by_name = {}
  for url, (checksum, name) in entries.items():
    assert url.endswith("/" + name), url
    assert len(checksum.sha256) == 64 and int(checksum.sha256, 16) >= 0
    assert by_name.setdefault(name, checksum) == checksum, f"mirrors disagree on {name}"


@pytest.mark.parametrize("table", TABLES, ids=lambda p: p.stem)
def test_table_agrees_with_tensorflow_datasets(table):
  official = tfds_registered()
  assert len(official) > 1000  # the installed package's tables were really read
  for url, (checksum, _) in download.load_checksums(table).items():
    if url in official:
      assert official[url] == checksum, url


def test_mnist_has_every_file_on_every_mirror():
  from tfds_builders.mnist_family.mnist_idx import MnistIdx
  entries = download.load_checksums(download.CHECKSUMS_DIR / "mnist_idx.tsv")
  expected = {s.name: s for s in MnistIdx.source_files().values()}
  urls = [u for s in expected.values() for u in s.urls()]
  assert sorted(urls) == sorted(entries)
  assert len(urls) == 12
  assert download.checksums_for("mnist_idx")["train-images-idx3-ubyte.gz"] == download.Checksum(
      9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609")
