"""ilsvrc2012 on Apache Beam (the Python FnApiRunner, 2 worker processes) gives exactly the
examples of the plain run, keys and bytes included; the plain path never imports apache_beam."""

import os
import subprocess
import sys

import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import REPO
from imagenet.test_ilsvrc2012 import SOURCES, examples


def test_beam_two_workers_equals_the_plain_run(tmp_path, monkeypatch):
  import apache_beam as beam
  from tfds_builders.imagenet import beam_generation
  units_per_split = []
  original = beam_generation.examples_transform
  monkeypatch.setattr(beam_generation, "examples_transform",
                      lambda units, *args: units_per_split.append(len(units)) or original(
                          units, *args))
  options = beam.options.pipeline_options.PipelineOptions(
      # The Python runner by name, as docs/beam.md's recipe: DirectRunner would first try Prism,
      # which runs wherever its binary is cached, so the outcome would depend on the machine.
      ["--runner=apache_beam.runners.portability.fn_api_runner.FnApiRunner",
       "--direct_running_mode=multi_processing", "--direct_num_workers=2"])
  results = {}
  for name, config in (("plain", tfds.download.DownloadConfig(manual_dir=os.fspath(SOURCES))),
                       ("beam", tfds.download.DownloadConfig(manual_dir=os.fspath(SOURCES),
                                                             beam_options=options))):
    builder = tfds.builder("ilsvrc2012", data_dir=tmp_path / name)
    builder.download_and_prepare(download_config=config)
    results[name] = {split: examples(builder, split)
                     for split in ("train", "validation", "test")}
    assert {s: i.num_examples for s, i in builder.info.splits.items()} == {
        "train": 21, "validation": 7, "test": 4}
  assert units_per_split == [7, 1, 1]  # Beam really ran: one unit per class tar, one val chunk
  for split in ("train", "validation", "test"):
    plain, beamed = results["plain"][split], results["beam"][split]
    assert sorted(plain) == sorted(beamed)
    for key in sorted(plain):
      assert plain[key] == beamed[key], key


def test_plain_build_and_reading_never_import_apache_beam(tmp_path):
  script = f"""
import sys, tensorflow_datasets as tfds, tfds_builders
b = tfds.builder("ilsvrc2012", data_dir={str(tmp_path)!r})
b.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir={str(SOURCES)!r}))
n = sum(1 for _ in b.as_dataset(split="train"))
print(n, "apache_beam" in sys.modules)
"""
  out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                       timeout=600)
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.split()[-2:] == ["21", "False"]


def test_beam_options_without_apache_beam_installed_say_how_to_install(monkeypatch):
  import pytest
  monkeypatch.setitem(sys.modules, "apache_beam", None)  # what an absent package looks like
  monkeypatch.delitem(sys.modules, "tfds_builders.imagenet.beam_generation", raising=False)
  monkeypatch.delattr(tfds_builders.imagenet, "beam_generation", raising=False)
  builder = tfds.builder("ilsvrc2012")
  # What download_and_prepare hands the builder when Beam options are given.
  builder._download_config = tfds.download.DownloadConfig(beam_options=object())
  with pytest.raises(ImportError, match=r"apache-beam is not installed\. Install it with "
                     r"`pip install 'tfds_builders\[beam\]'`, or build without Beam options"):
    builder._generate_examples([])
