"""benchmarks/boxes.py, run end to end on tiny synthetic sources so that it never rots: box
archives in the real layout for every image of the synthetic tars, both configs built, and its
section appended to a report without touching the report's other sections."""

import gzip
import pathlib
import re
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import boxes  # noqa: E402
import synthetic  # noqa: E402

NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def test_box_archives_cover_the_synthetic_images(tmp_path):
  folder = boxes.write_manual_dir(tmp_path, synthetic.Sizes.tiny())
  train_images = boxes._image_names(folder / synthetic.IMAGENET_TRAIN)
  with tarfile.open(folder / boxes.TRAIN_BOXES) as tar:
    train_xmls = [m.name for m in tar if m.isfile()]
  # Every XML is named after an image of the train tar, in its class folder.
  stems = {name.rsplit(".", 1)[0] for name in train_images}
  assert train_xmls and all(xml.split("/")[1][:-4] in stems for xml in train_xmls)
  assert all(xml.split("/")[0] == xml.split("/")[1].split("_")[0] for xml in train_xmls)
  with tarfile.open(folder / synthetic.IMAGENET_VAL) as images, \
      tarfile.open(folder / boxes.VAL_BOXES) as xmls:
    assert [f"val/{m.name[:-5]}.xml" for m in images] == [m.name for m in xmls]
  assert gzip.open(folder / boxes.VAL_BOXES).read(2)  # gzipped, as distributed


def test_the_section_is_written_and_replaces_only_its_earlier_run(tmp_path):
  report = tmp_path / "RESULTS.md"
  report.write_text("# Benchmarks\n\n## Results\n\nrun.py's\n")
  args = ["--size", "tiny", "--repeats", "1", "--cache", str(tmp_path / "cache"),
          "--in-process", "--append", str(report)]
  assert boxes.main(args) == 0
  assert boxes.main(args) == 0  # a second run replaces the first section
  text = report.read_text()
  assert text.startswith("# Benchmarks\n\n## Results\n\nrun.py's\n\n" + boxes.SECTION)
  assert text.count(boxes.SECTION) == 1
  for config in boxes.CONFIGS:
    assert re.search(rf"^\| {config} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|$", text,
                     re.M)
  assert re.search(rf"^- \*\*(PASS|FAIL)\*\* localization prepare time ≤ 1\.10 × default \(CPU "
                   rf"time, .*\): [+-]{NUMBER}% CPU, [+-]{NUMBER}% wall \([+-]{NUMBER} s\)\.$",
                   text, re.M)
  parts = "; ".join(rf"{re.escape(part)} {NUMBER} s against {NUMBER} s \([+-]{NUMBER} s\)"
                    for _, _, _, part in boxes.ACCOUNTED)
  assert re.search(rf"^- Where the extra CPU time goes \(medians, measured inside the builds\): "
                   rf"{parts}; everything else [+-]{NUMBER} s \(.*\)\. Reading the box archives "
                   rf"is {NUMBER} µs per XML\.$", text, re.M)
  # Default never reads the box archives nor encodes `objects`.
  records = [r for r in [boxes.job({"config": "default", "manual_dir": str(
      tmp_path / "cache" / synthetic.Sizes.tiny().tag() / "boxes"), "data_dir": str(
          tmp_path / "data")})]]
  assert records[0]["cpu_in"]["reading the box archives"] == 0.0
  assert records[0]["cpu_in"]["TFDS encoding `objects`"] == 0.0
  assert records[0]["cpu_in"]["TFDS serializing the examples"] > 0
