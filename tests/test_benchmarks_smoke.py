"""The benchmark harness, run end to end on tiny synthetic sources so that it never rots.

Jobs run in-process here (one TensorFlow import instead of one per build) and Beam is skipped; the
numbers mean nothing at this size, only the shape of the report is checked.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import run  # noqa: E402
import synthetic  # noqa: E402

METRICS = ["prepare wall time (s)", "examples/s (prepare, all splits)", "peak RSS (MB)",
           "on-disk size (MB)"]
LABELS = {
    "mnist (mnist_idx vs mnist)": "train",
    "smallnorb (norb_small vs smallnorb)": "train",
    "imagenet (ilsvrc2012 vs imagenet2012)": "train",
    "imagenet (validation) (ilsvrc2012 vs imagenet2012)": "validation",
}
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def test_synthetic_sources_have_the_real_layout(tmp_path):
  sizes = synthetic.Sizes.tiny()
  folders = synthetic.write_all(tmp_path, sizes)
  assert sorted(p.name for p in folders["mnist"].iterdir() if p.suffix == ".gz") == sorted(
      n for pair in synthetic.MNIST_FILES.values() for n in pair)
  table = synthetic.norb_table(24_300, (4, 6, 7, 8, 9))
  # The full factorial: every (category, instance, elevation, azimuth, lighting) exactly once.
  assert len({tuple(row) for row in table}) == 24_300
  assert sorted(set(table[:, 3])) == list(range(0, 35, 2))
  import tarfile
  with tarfile.open(folders["imagenet"] / "train_4x" / synthetic.IMAGENET_TRAIN) as big, \
      tarfile.open(folders["imagenet"] / "train" / synthetic.IMAGENET_TRAIN) as small:
    assert len(small.getnames()) == 4 * len(big.getnames()) == sizes.imagenet_classes
    assert big.getmembers()[0].size > 3 * small.getmembers()[0].size


def test_harness_writes_every_row_and_target(tmp_path):
  out = tmp_path / "RESULTS.md"
  assert run.main(["--size", "tiny", "--repeats", "1", "--cache", str(tmp_path / "cache"),
                   "--out", str(out), "--in-process", "--no-beam"]) == 0
  report = out.read_text()
  assert "## Machine" in report and "TensorFlow 2." in report
  for label, split in LABELS.items():
    for metric in METRICS + [f"read throughput, {split} split (examples/s)"]:
      row = re.search(rf"^\| {re.escape(label)} \| {re.escape(metric)} \|(.*)\|$", report, re.M)
      assert row, (label, metric)
      cells = [c.strip() for c in row.group(1).split("|")]
      assert len(cells) == 5 and all(re.fullmatch(NUMBER, c) for c in cells), cells
  for role in ("ours", "ours_4x", "official", "official_4x"):
    assert re.search(rf"^\| {role} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|$", report,
                     re.M), role
  targets = re.findall(r"^- \*\*(PASS|FAIL|n/a)\*\* (.*?): (.*)$", report, re.M)
  names = [name for _, name, _ in targets]
  assert names == [
      "mnist_idx prepare time ≤ 0.5 × official",
      "norb_small prepare time ≤ 0.5 × official",
      "ilsvrc2012 train images/s ≥ 2.0 × official (one process)",
      "ilsvrc2012 peak RSS flat (±15%) when inner tars grow 4×",
      "ilsvrc2012 Beam DirectRunner 2 workers ≥ 1.5 × our single process",
      "mnist read throughput ≥ 1.0 × official",
      "smallnorb read throughput ≥ 1.0 × official",
      "imagenet read throughput ≥ 1.0 × official",
      "imagenet_val read throughput ≥ 1.0 × official",
  ]
  for state, name, text in targets:
    if "Beam" in name:
      assert (state, text) == ("n/a", "not available: run without --no-beam")
    else:
      assert state in ("PASS", "FAIL") and re.match(rf"{NUMBER} ×", text), (name, text)
  # Every build read back exactly its split's examples.
  records = {key: run.json.loads((tmp_path / "cache" / "results-tiny" / f"{key}.json")
                                 .read_text()) for key in run.DATASETS}
  sizes = synthetic.Sizes.tiny()
  expected_read = {"mnist": sizes.mnist_train, "smallnorb": sizes.norb_train,
                   "imagenet": sizes.imagenet_classes * sizes.imagenet_per_class,
                   "imagenet_val": sizes.imagenet_val}
  for key, records_of_key in records.items():
    for record in records_of_key:
      if "read_examples" in record:
        assert record["read_examples"] == expected_read[key], (key, record["role"])
