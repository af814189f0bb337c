"""The extra prepare time of `ilsvrc2012_localization` (boxes) over `ilsvrc2012`.

    .venv/bin/python benchmarks/boxes.py                       # full size, 3 repeats each
    .venv/bin/python benchmarks/boxes.py --size tiny --repeats 1 --out /tmp/boxes.md

Both builders are built from the same manual_dir: the ImageNet-like synthetic train and val tars of
`synthetic.py`, plus box archives in the real layout written here from the images the tars hold
(`ILSVRC2012_bbox_train_v2.tar.gz` with a box XML for 42.5% of the train images, as 544,546 of
1,281,167 in ImageNet, 1.13 boxes per XML as 615,299 / 544,546, a few boxes past the image edge,
and `ILSVRC2012_bbox_val_v3.tgz` with one XML per validation image). `ilsvrc2012` never reads the box
archives, so the difference is what the boxes cost: reading and indexing the XMLs, cutting the
index per unit, and encoding `objects`. Each build runs in a fresh process, the two configs
alternating, `--repeats` times; the report gives both configs' wall and CPU times, the extra, and
where the extra CPU time goes (CPU seconds inside the box reading and inside TFDS's encoding and
serializing, counted during the builds), and with `--append` is added to RESULTS.md as a section
of its own (the rest of that file is `run.py`'s).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Dict, List

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TRAIN_BOXES = "ILSVRC2012_bbox_train_v2.tar.gz"
VAL_BOXES = "ILSVRC2012_bbox_val_v3.tgz"
XML_FRACTION = 544_546 / 1_281_167
BOXES_PER_XML = 615_299 / 544_546
TARGET = 0.10  # localization's prepare time at most 10% over default's
# The report's labels of the two builds, and the builder each is.
CONFIGS = ("default", "localization")
BUILDERS = {"default": "ilsvrc2012", "localization": "ilsvrc2012_localization"}
SECTION = "## ilsvrc2012_localization: the cost of the boxes"


def _sample_generator():
  """dummy_data/ilsvrc2012/generate.py, whose `box_xml` writes an XML as ImageNet's are written."""
  import importlib.util
  path = HERE.parent / "dummy_data" / "ilsvrc2012" / "generate.py"
  spec = importlib.util.spec_from_file_location("ilsvrc2012_generate", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _objects(rng, wnid: str, size):
  """1 box, or 2 for BOXES_PER_XML - 1 of the XMLs; 1 in 50 reaches a pixel past the edge."""
  width, height = size
  out = []
  for _ in range(2 if rng.random() < BOXES_PER_XML - 1 else 1):
    xmin, ymin = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
    xmax, ymax = int(rng.integers(xmin + 1, width + 1)), int(rng.integers(ymin + 1, height + 1))
    if rng.random() < 0.02:
      xmax = width + 1
    out.append((wnid, xmin, ymin, xmax, ymax))
  return out


def _image_names(train_tar: pathlib.Path) -> List[str]:
  """The file names in every inner class tar of a train tar, in archive order."""
  names = []
  with tarfile.open(train_tar) as outer:
    for member in outer:
      with tarfile.open(fileobj=outer.extractfile(member)) as inner:
        names += [m.name for m in inner if m.isfile()]
  return names


def _gz_tar(path: pathlib.Path, members) -> None:
  with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
    with tarfile.open(fileobj=gz, mode="w|", format=tarfile.GNU_FORMAT) as tar:
      for name, data in members:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), 1_330_000_000
        tar.addfile(info, io.BytesIO(data))


def write_manual_dir(root: pathlib.Path, sizes) -> pathlib.Path:
  """<root>/<sizes tag>/boxes/: links to the synthetic train and val tars, and box archives."""
  import numpy as np
  import synthetic
  imagenet = synthetic.write_all(root, sizes, ["imagenet"])["imagenet"]
  folder = imagenet.parent / "boxes"
  if (folder / ".complete").exists():
    return folder
  folder.mkdir(parents=True, exist_ok=True)
  train_tar = imagenet / "train" / synthetic.IMAGENET_TRAIN
  val_tar = imagenet / "val" / synthetic.IMAGENET_VAL
  for tar in (train_tar, val_tar):
    if not (folder / tar.name).exists():
      os.symlink(tar, folder / tar.name)
  box_xml = _sample_generator().box_xml
  rng = np.random.default_rng(2012)
  train = []
  for name in _image_names(train_tar):
    if rng.random() < XML_FRACTION:
      stem, wnid = name.rsplit(".", 1)[0], name.split("_")[0]
      size = (500, 375)
      train.append((f"{wnid}/{stem}.xml", box_xml(wnid, stem, size, _objects(rng, wnid, size))))
  _gz_tar(folder / TRAIN_BOXES, train)
  with tarfile.open(val_tar) as tar:
    val_names = [m.name for m in tar if m.isfile()]
  from tfds_builders.imagenet import classes
  wnids = classes.wnids()
  val = []
  for name in val_names:
    stem = name.rsplit(".", 1)[0]
    size = (500, 333)
    # The label the builder gives the image does not matter to the boxes' cost.
    wnid = wnids[int(stem.rsplit("_", 1)[1]) % len(wnids)]
    val.append((f"val/{stem}.xml", box_xml("val", stem, size, _objects(rng, wnid, size))))
  _gz_tar(folder / VAL_BOXES, val)
  (folder / ".complete").write_text(json.dumps({"train_xmls": len(train), "val_xmls": len(val)}))
  return folder


# ---------------------------------------------------------------- one build, in its own process


def job(spec: dict) -> dict:
  import tensorflow_datasets as tfds
  import tfds_builders  # noqa: F401  (registers the builders)
  builder = tfds.builder(BUILDERS[spec["config"]], data_dir=spec["data_dir"])
  config = tfds.download.DownloadConfig(manual_dir=spec["manual_dir"])
  parts, restore = _account_cpu()
  try:
    cpu_start, start = _cpu_s(), time.perf_counter()
    builder.download_and_prepare(download_config=config)
    prepare_s, prepare_cpu_s = time.perf_counter() - start, _cpu_s() - cpu_start
  finally:
    restore()
  record = {**spec, "prepare_s": prepare_s, "prepare_cpu_s": prepare_cpu_s, "cpu_in": parts,
            "examples": sum(s.num_examples for s in builder.info.splits.values()),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
  if spec["config"] == "localization":
    from tfds_builders.formats import imagenet_boxes
    from tfds_builders.imagenet import classes
    xmls = boxes = 0
    for name in (TRAIN_BOXES, VAL_BOXES):
      index = imagenet_boxes.read_boxes(pathlib.Path(spec["manual_dir"]) / name,
                                        classes.wnids(), classes.bundled_words()).index
      xmls, boxes = xmls + len(index), boxes + len(index.labels)
    record.update(xmls=xmls, boxes=boxes, with_boxes=sum(
        1 for ex in builder.as_dataset(split="train",
                                       decoders={"image": tfds.decode.SkipDecoding()})
        if ex["objects"]["bbox"].shape[0]))
  return record


# CPU seconds spent inside each of these during a build: (module, class or None, function, part).
# The wrappers cost both configs the same ~1 µs a call.
ACCOUNTED = (
    ("tfds_builders.formats.imagenet_boxes", None, "read_boxes", "reading the box archives"),
    ("tensorflow_datasets.core.features.sequence_feature", "Sequence", "encode_example",
     "TFDS encoding `objects`"),
    ("tensorflow_datasets.core.example_serializer", "ExampleSerializer", "serialize_example",
     "TFDS serializing the examples"),
)


def _account_cpu():
  """{part: CPU seconds}, counted from now on, and the function that stops counting."""
  import importlib
  totals: Dict[str, float] = {}
  originals = []
  for module_name, class_name, function, part in ACCOUNTED:
    owner = importlib.import_module(module_name)
    owner = getattr(owner, class_name) if class_name else owner
    original = getattr(owner, function)
    totals[part] = 0.0

    def wrapper(*args, _original=original, _part=part, **kwargs):
      start = _cpu_s()
      try:
        return _original(*args, **kwargs)
      finally:
        totals[_part] += _cpu_s() - start

    originals.append((owner, function, original))
    setattr(owner, function, wrapper)

  def restore():
    for owner, function, original in originals:
      setattr(owner, function, original)

  return totals, restore


def _cpu_s() -> float:
  """CPU seconds (user + system) of this process and its threads so far."""
  usage = resource.getrusage(resource.RUSAGE_SELF)
  return usage.ru_utime + usage.ru_stime


def run_job(spec: dict, in_process: bool) -> dict:
  data_dir = tempfile.mkdtemp(prefix=f"bench_boxes_{spec['config']}_")
  spec = {**spec, "data_dir": data_dir}
  try:
    if in_process:
      return job(spec)
    out = pathlib.Path(data_dir + ".json")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve()), "job",
                           json.dumps(spec), str(out)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
      raise RuntimeError(f"job {spec} failed:\n{done.stderr[-3000:]}")
    record = json.loads(out.read_text())
    out.unlink()
    return record
  finally:
    shutil.rmtree(data_dir, ignore_errors=True)


def report(records: List[dict], meta: Dict[str, object]) -> List[str]:
  def median(config, field):
    return statistics.median(r[field] for r in records if r["config"] == config)

  extra = {field: median("localization", field) / median("default", field) - 1
           for field in ("prepare_s", "prepare_cpu_s")}
  loc = [r for r in records if r["config"] == "localization"]
  examples = loc[0]["examples"]
  parts = {part: {c: statistics.median(r["cpu_in"][part] for r in records if r["config"] == c)
                  for c in CONFIGS} for _, _, _, part in ACCOUNTED}
  extra_cpu = median("localization", "prepare_cpu_s") - median("default", "prepare_cpu_s")
  explained = sum(p["localization"] - p["default"] for p in parts.values())
  state = "PASS" if extra["prepare_cpu_s"] <= TARGET else "FAIL"
  return [
      SECTION, "",
      f"Written by `benchmarks/boxes.py` ({meta['when']}; sizes `{meta['sizes']}`; "
      f"{meta['repeats']} build(s) of each config, alternating, {meta['where']}; load "
      f"average at start {meta['load']}). Both configs read the same manual_dir: the synthetic "
      f"train tar ({examples - meta['val_images']} images) and val tar "
      f"({meta['val_images']} images), plus box archives in the real layout: {loc[0]['xmls']} "
      f"XMLs, {loc[0]['boxes']} boxes ({loc[0]['with_boxes']} train images with boxes).", "",
      "| config | prepare wall min (s) | wall median (s) | CPU median (s) | peak RSS median (MB) |",
      "|---|---|---|---|---|",
      *[f"| {c} | {min(r['prepare_s'] for r in records if r['config'] == c):.2f} | "
        f"{median(c, 'prepare_s'):.2f} | {median(c, 'prepare_cpu_s'):.2f} | "
        f"{median(c, 'peak_rss_mb'):.0f} |" for c in CONFIGS], "",
      f"- **{state}** localization prepare time ≤ {1 + TARGET:.2f} × default (CPU time, user + "
      f"system, of the build process: on a shared machine it varies far less than wall time): "
      f"{extra['prepare_cpu_s']:+.1%} CPU, {extra['prepare_s']:+.1%} wall "
      f"({median('localization', 'prepare_s') - median('default', 'prepare_s'):+.2f} s).",
      "- Where the extra CPU time goes (medians, measured inside the builds): " + "; ".join(
          f"{part} {p['localization']:.2f} s against {p['default']:.2f} s "
          f"({p['localization'] - p['default']:+.2f} s)" for part, p in parts.items())
      + f"; everything else {extra_cpu - explained:+.2f} s (looking each image's boxes up, the "
      f"tallies, and shuffling and writing the larger records). Reading the box archives is "
      f"{parts['reading the box archives']['localization'] / loc[0]['xmls'] * 1e6:.0f} µs per "
      "XML.", ""]


def _load() -> str:
  return " ".join(open("/proc/loadavg").read().split()[:3])


def main(argv=None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  if argv and argv[0] == "job":
    pathlib.Path(argv[2]).write_text(json.dumps(job(json.loads(argv[1]))))
    return 0
  import synthetic
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--size", choices=("full", "tiny"), default="full")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                     "tfds_builders_bench"))
  parser.add_argument("--out", default=None, help="write the section to this file")
  parser.add_argument("--append", default=None,
                      help="append the section to this file (e.g. benchmarks/RESULTS.md), "
                      "replacing an earlier one of the same title")
  parser.add_argument("--in-process", action="store_true",
                      help="run the builds in this process: a quick check of the script only")
  args = parser.parse_args(argv)
  sizes = synthetic.Sizes.full() if args.size == "full" else synthetic.Sizes.tiny()
  load = _load()
  manual_dir = write_manual_dir(pathlib.Path(args.cache), sizes)
  records = []
  for r in range(args.repeats):
    for config in (CONFIGS if r % 2 == 0 else CONFIGS[::-1]):
      record = run_job({"config": config, "manual_dir": str(manual_dir)}, args.in_process)
      records.append(record)
      print(f"  {config:<13} prepare {record['prepare_s']:6.2f} s, peak RSS "
            f"{record['peak_rss_mb']:5.0f} MB", flush=True)
  meta = {"when": time.strftime("%Y-%m-%d %H:%M %Z"), "sizes": sizes.tag(),
          "repeats": args.repeats, "load": load, "val_images": sizes.imagenet_val,
          "where": "all in this process (--in-process: a check of the script, not a measurement)"
          if args.in_process else "each in a fresh process"}
  lines = report(records, meta)
  text = "\n".join(lines)
  print(text)
  if args.out:
    pathlib.Path(args.out).write_text(text)
  if args.append:
    path = pathlib.Path(args.append)
    old = path.read_text() if path.exists() else ""
    if SECTION in old:  # the earlier run of this section goes; every other section stays
      start = old.index(SECTION)
      rest = old[start + len(SECTION):]
      end = rest.find("\n## ")
      old = old[:start] + (rest[end + 1:] if end >= 0 else "")
    path.write_text(old.rstrip("\n") + "\n\n" + text)
  return 0


if __name__ == "__main__":
  sys.exit(main())
