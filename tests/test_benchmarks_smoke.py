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

METRICS = ["prepare wall time (s)", "prepare CPU time (s)", "examples/s (prepare wall, all splits)",
           "prepare CPU µs/example", "peak RSS (MB)", "on-disk size (MB)"]
READ_METRICS = ["read CPU µs/example, {split} split",
                "read CPU µs/example, {split} split, images not decoded",
                "read wall µs/example, {split} split",
                "read throughput, {split} split (examples/s, wall)"]
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
  # The load average during the run, not only at its ends.
  assert re.search(rf"during it \(1-minute average, sampled every 5 s, [0-9]+ samples\) min "
                   rf"{NUMBER}, median {NUMBER}, max {NUMBER}", report)
  for label, split in LABELS.items():
    for metric in METRICS + [m.format(split=split) for m in READ_METRICS]:
      row = re.search(rf"^\| {re.escape(label)} \| {re.escape(metric)} \|(.*)\|$", report, re.M)
      assert row, (label, metric)
      cells = [c.strip() for c in row.group(1).split("|")]
      assert len(cells) == 5 and all(re.fullmatch(NUMBER, c) for c in cells[:4]), cells
      assert re.fullmatch(rf"{NUMBER} (ours/official|official/ours)", cells[4]), cells
  for role in ("ours", "ours_4x", "official", "official_4x"):
    assert re.search(rf"^\| {role} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|$",
                     report, re.M), role
  # Both sizes of ImageNet, one process each: a fixed and a per-image cost, and the projection for
  # the real train set from them and the disk's measured read rate.
  sizes = synthetic.Sizes.tiny()
  small, large = sizes.scale_images()
  for role in ("ours", "official"):
    assert re.search(rf"^\| {role} \({small}/{large} images\) \| 1 \|", report, re.M), role
    assert re.search(rf"^\| {role} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|$",
                     report, re.M)
  assert re.search(rf"1,281,167 images, 147\.9 GB .* sequentially at {NUMBER} MB/s", report)
  targets = re.findall(r"^- \*\*(PASS|FAIL|n/a)\*\* (.*?): (.*)$", report, re.M)
  names = [name for _, name, _ in targets]
  cpu, read = "(on CPU time; single-threaded work)", "(on CPU time; the same TFDS pipeline reads both)"
  assert names == [
      f"mnist_idx prepare time ≤ 0.5 × official {cpu}",
      "norb_small prepare time ≤ 0.5 × official (on wall time; ours encodes in a second thread)",
      f"ilsvrc2012 train images/s ≥ 2.0 × official (one process) {cpu}",
      "ilsvrc2012 peak RSS flat (±15%) when inner tars grow 4×",
      "ilsvrc2012 Beam per-image cost (DirectRunner, 2 workers, after start-up) ≤ 2.0 × one "
      "process's (on CPU time of all processes, the runner's included)",
      f"mnist read speed ≥ 1.1 × official {read}",
      f"smallnorb read speed ≥ 1.25 × official {read}",
      f"imagenet read speed ≥ 1.0 × official {read}",
      f"imagenet_val read speed ≥ 1.0 × official {read}",
  ]
  for state, name, text in targets:
    if "Beam" in name:
      assert (state, text) == ("n/a", "not available: run without --no-beam")
    else:
      assert state in ("PASS", "FAIL") and re.match(rf"{NUMBER} ×", text), (name, text)
  # Every build read back exactly its split's examples.
  records = {key: run.json.loads((tmp_path / "cache" / "results-tiny" / f"{key}.json")
                                 .read_text()) for key in run.DATASETS}
  expected_read = {"mnist": sizes.mnist_train, "smallnorb": sizes.norb_train,
                   "imagenet": sizes.imagenet_classes * sizes.imagenet_per_class,
                   "imagenet_val": sizes.imagenet_val}
  for key, records_of_key in records.items():
    for record in records_of_key:
      if "read_examples" in record:
        assert record["read_examples"] == expected_read[key], (key, record["role"])


def test_fixed_and_per_image_costs_from_two_sizes():
  records = [{"role": "ours", "images": n, "prepare_s": t} for n, t in
             ((1600, 3.0), (1600, 3.4), (1600, 2.9), (6400, 7.0), (6400, 6.9))]
  fit = run.scale_fit(records, "ours", "prepare_s")
  # Medians 3.0 s and 6.95 s: 3.95 s for 4,800 more images; the fixed part is what is left.
  assert fit["per_image_s"] == (6.95 - 3.0) / 4800
  assert abs(fit["fixed_s"] - (3.0 - 1600 * fit["per_image_s"])) < 1e-12
  assert run.scale_fit(records[:3], "ours", "prepare_s") is None  # one size: nothing to separate


def test_rewriting_the_report_keeps_the_boxes_section(tmp_path):
  out = tmp_path / "RESULTS.md"
  boxes = "## ilsvrc2012_localization: the cost of the boxes\n\nextra 4%\n"
  out.write_text("# old report\n\n## Targets\n\n- old\n\n" + boxes)
  assert run._kept_sections(out) == [boxes]
  out.write_text("# old report\n\n" + boxes + "\n## Later section\n\ntext\n")
  assert run._kept_sections(out) == [boxes]


def test_synthetic_images_keep_the_real_statistics():
  # The generators are calibrated against what is known of the real files (synthetic.CALIBRATION);
  # PNG and zlib costs depend on the pixels, so the benchmarks mean something only while they hold.
  import numpy as np
  import zlib
  real = synthetic.CALIBRATION
  rng = np.random.default_rng(0)
  mnist = synthetic.mnist_like_images(rng, 600)
  norb = synthetic.norb_like_images(rng, 600)
  emnist = synthetic.emnist_like_images(rng, 600)

  def gzip_ratio(images):
    return len(zlib.compress(images.tobytes(), 6)) / images.size

  assert abs(gzip_ratio(mnist) / real["mnist"]["gzip_ratio"] - 1) < 0.15
  assert abs((mnist > 0).mean() / real["mnist"]["nonzero"] - 1) < 0.15
  assert abs(mnist.mean() / real["mnist"]["mean"] - 1) < 0.15
  assert abs(gzip_ratio(emnist) / real["emnist"]["gzip_ratio"] - 1) < 0.15
  assert abs(gzip_ratio(norb) / real["smallnorb"]["gzip_ratio"] - 1) < 0.15
