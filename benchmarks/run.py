"""Benchmarks: our builders against the official TFDS builders on the same local source files.

    .venv/bin/python benchmarks/run.py                     # full size, 3 repeats, all datasets
    .venv/bin/python benchmarks/run.py --repeats 5 --datasets mnist,smallnorb
    .venv/bin/python benchmarks/run.py --size tiny --repeats 1 --out /tmp/r.md   # a quick check

Each build runs in a fresh subprocess (so peak RSS is that build's alone), ours and the official
one alternately (ours/official, then official/ours, ...) so that a change in machine load hits both.
A job prepares the dataset from the synthetic sources (`synthetic.py`) into an empty data_dir and
then reads the built train split back through tf.data, decoding the images. The official builders
are driven on the same files: `mnist` and `smallnorb` through a subclass whose
`_split_generators` extracts the local `.gz` files (what their `download_and_extract` does after a
download), `imagenet2012` through its manual_dir.

Job records go to `<results>/<dataset>.json` (a run over some datasets keeps the others' records)
and the report, machine description included, to `--out` (default `benchmarks/RESULTS.md`).
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import io
import json
import os
import pathlib
import platform
import pstats
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from typing import Dict, List, Optional

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# dataset key -> what is built and from which sub-folder of the synthetic sources.
DATASETS = {
    "mnist": dict(ours="mnist_idx", official="mnist", sources="mnist", split="train"),
    "smallnorb": dict(ours="norb_small", official="smallnorb", sources="smallnorb",
                      split="train"),
    "imagenet": dict(ours="ilsvrc2012", official="imagenet2012", sources="imagenet/train",
                     split="train"),
    "imagenet_val": dict(ours="ilsvrc2012", official="imagenet2012", sources="imagenet/val",
                         split="validation"),
}
# Command-line names -> dataset keys (`imagenet` runs the train and the validation comparison).
GROUPS = {"mnist": ["mnist"], "smallnorb": ["smallnorb"], "imagenet": ["imagenet", "imagenet_val"]}
READ_PASSES = 3
READ_BATCH = 256
# ImageNet images differ in size; a batch needs one shape, as in any input pipeline.
IMAGENET_READ_SIZE = (224, 224)
BEAM_WORKERS = 2
# Targets (medians): name -> (description, kind)
PREPARE_TARGET = 0.5
IMAGENET_SPEED_TARGET = 2.0
RSS_FLAT_TOLERANCE = 0.15
BEAM_TARGET = 1.5
READ_TARGET = 1.0


# ---------------------------------------------------------------- one job, in its own process


def _gz_count(path: pathlib.Path, header_bytes: int, fmt: str) -> int:
  with gzip.open(path, "rb") as f:
    return struct.unpack(fmt, f.read(header_bytes))[-1]


def _official_builder(key: str, sources: pathlib.Path, data_dir: str):
  """The official builder, reading `sources` instead of downloading."""
  import tensorflow_datasets as tfds
  if key == "mnist":
    from tensorflow_datasets.image_classification import mnist
    from synthetic import MNIST_FILES

    class LocalMnist(mnist.MNIST, skip_registration=True):
      name = "mnist"
      # TFDS finds a builder's metadata folder from its module; this class lives in `run` (not a
      # package), so point it at the official builder's folder.
      pkg_dir_path = mnist.MNIST._get_pkg_dir_path()

      def _split_generators(self, dl_manager):
        generators = []
        for split, (images, labels) in MNIST_FILES.items():
          files = dl_manager.extract({"data_path": sources / images,
                                      "label_path": sources / labels})
          count = _gz_count(sources / labels, 8, ">II")
          generators.append(tfds.core.SplitGenerator(
              name=split, gen_kwargs=dict(num_examples=count, **files)))
        return generators

    return LocalMnist(data_dir=data_dir)
  if key == "smallnorb":
    from synthetic import NORB_PREFIXES
    official = tfds.builder_cls("smallnorb")

    class LocalSmallnorb(official, skip_registration=True):
      name = "smallnorb"
      pkg_dir_path = official._get_pkg_dir_path()  # see LocalMnist

      def _split_generators(self, dl_manager):
        generators = []
        for split, (prefix, _) in NORB_PREFIXES.items():
          files = dl_manager.extract({f"{kind}_path": sources / f"{prefix}-{kind}.mat.gz"
                                      for kind in ("dat", "cat", "info")})
          generators.append(tfds.core.SplitGenerator(
              name=split, gen_kwargs=dict(split_prefix=f"{split}_", **files)))
        return generators

    # 2.1.0 has the `id` feature, as `norb_small` does.
    return LocalSmallnorb(data_dir=data_dir, version="2.1.0")
  return tfds.builder("imagenet2012", data_dir=data_dir)


# The code each of our builders runs, fingerprinted in every record: the builders change while
# benchmarks are kept, and a number means little without the code that produced it.
OUR_CODE = {"mnist": ["mnist_family", "formats/idx.py", "formats/png.py"],
            "smallnorb": ["smallnorb", "formats/norb.py", "formats/png.py"],
            "imagenet": ["imagenet", "formats/imagenet_archive.py", "formats/jpeg.py"]}


def code_fingerprint(key: str) -> str:
  import hashlib
  import tfds_builders
  package = pathlib.Path(tfds_builders.__file__).parent
  digest = hashlib.sha256()
  for entry in OUR_CODE[key.split("_")[0]] + ["formats/compression.py", "builder_base.py"]:
    for path in sorted((package / entry).rglob("*.py")) if (package / entry).is_dir() else [
        package / entry]:
      digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
  return digest.hexdigest()[:12]


def _dir_bytes(path) -> int:
  return sum(p.stat().st_size for p in pathlib.Path(os.fspath(path)).rglob("*") if p.is_file())


def _current_rss_mb() -> float:
  with open("/proc/self/statm") as f:
    return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _read_throughput(builder_dir, key: str) -> Dict[str, float]:
  """Examples/s reading the built split through tf.data, images decoded: the best of
  READ_PASSES passes. One pass swings up to 2× on a shared machine (both builders' reads went
  between ~2,300 and ~4,300 examples/s for the same files), so the best pass is what compares."""
  import tensorflow as tf
  import tensorflow_datasets as tfds
  passes = []
  for _ in range(READ_PASSES):
    start = time.perf_counter()
    ds = tfds.builder_from_directory(builder_dir).as_dataset(split=DATASETS[key]["split"])
    if key.startswith("imagenet"):
      ds = ds.map(lambda ex: {"image": tf.image.resize(ex["image"], IMAGENET_READ_SIZE),
                              "label": ex["label"]}, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(READ_BATCH).prefetch(tf.data.AUTOTUNE)
    count = 0
    for batch in ds:
      count += int(tf.shape(batch["image"])[0])
    passes.append((time.perf_counter() - start, count))
  seconds, count = min(passes)
  return {"read_examples": count, "read_s": seconds, "read_per_s": count / seconds,
          "read_passes_s": [round(p[0], 3) for p in passes]}


def job(spec: dict) -> dict:
  """Prepares one dataset with one builder; returns the measurements."""
  t_import = time.perf_counter()
  import tensorflow_datasets as tfds
  key, impl = spec["dataset"], spec["impl"]
  sources = pathlib.Path(spec["sources"])
  if impl == "ours":
    import tfds_builders  # noqa: F401  (registers our builders)
    builder = tfds.builder(DATASETS[key]["ours"], data_dir=spec["data_dir"])
  else:
    builder = _official_builder(key, sources, spec["data_dir"])
  beam_options = None
  if spec.get("beam_workers"):
    from apache_beam.options.pipeline_options import PipelineOptions
    beam_options = PipelineOptions(direct_num_workers=spec["beam_workers"],
                                   direct_running_mode="multi_processing")
  config = tfds.download.DownloadConfig(manual_dir=str(sources), beam_options=beam_options)
  import_s = time.perf_counter() - t_import
  # Taken now, when the builder's modules have just been imported: the files may change later.
  code = code_fingerprint(key) if impl == "ours" else None
  rss_before = _current_rss_mb()
  profiler = cProfile.Profile() if spec.get("profile") else None
  start = time.perf_counter()
  if profiler:
    profiler.enable()
  builder.download_and_prepare(download_config=config)
  if profiler:
    profiler.disable()
    profiler.dump_stats(spec["profile"])
  prepare_s = time.perf_counter() - start
  peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  children_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
  examples = sum(s.num_examples for s in builder.info.splits.values())
  record = {
      **spec, "name": builder.name, "version": str(builder.version), "import_s": import_s,
      "prepare_s": prepare_s, "examples": examples, "examples_per_s": examples / prepare_s,
      "rss_before_mb": rss_before, "peak_rss_mb": peak_mb,
      "children_peak_rss_mb": children_peak_mb, "disk_mb": _dir_bytes(builder.data_dir) / 1e6,
      "split_examples": {k: s.num_examples for k, s in builder.info.splits.items()},
  }
  if code:
    record["code"] = code

  if spec.get("read", True):
    record.update(_read_throughput(builder.data_dir, key))
  return record


# ---------------------------------------------------------------- the driver


# Set by --in-process: jobs run in this interpreter (one TensorFlow import for all; peak RSS is
# then the whole run's). Only for checking the harness quickly, never for the numbers.
IN_PROCESS = False


def run_job(spec: dict, log_dir: pathlib.Path) -> dict:
  """Runs `job(spec)` in a fresh interpreter; its data_dir is deleted afterwards."""
  data_dir = tempfile.mkdtemp(prefix=f"bench_{spec['dataset']}_{spec['impl']}_")
  spec = {**spec, "data_dir": data_dir}
  out = pathlib.Path(data_dir + ".json")
  log = log_dir / f"{pathlib.Path(data_dir).name}.log"
  env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
  try:
    if IN_PROCESS:
      return job(spec)
    with open(log, "w") as log_file:
      done = subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve()), "job",
                             json.dumps(spec), str(out)], stdout=log_file,
                            stderr=subprocess.STDOUT, env=env)
    if done.returncode != 0:
      raise RuntimeError(f"job {spec} failed (exit {done.returncode}); log: {log}\n"
                         + log.read_text()[-3000:])
    return json.loads(out.read_text())
  finally:
    shutil.rmtree(data_dir, ignore_errors=True)
    out.unlink(missing_ok=True)


def _say(text: str) -> None:
  print(text, flush=True)


def _job_line(r: dict) -> str:
  read = f", read {r['read_per_s']:.0f} ex/s" if "read_per_s" in r else ""
  code = f", code {r['code']}" if "code" in r else ""
  return (f"  {r['dataset']:<12} {r['role']:<13} prepare {r['prepare_s']:7.2f} s "
          f"({r['examples_per_s']:7.0f} ex/s), peak RSS {r['peak_rss_mb']:6.0f} MB, "
          f"disk {r['disk_mb']:7.1f} MB{read}{code}")


def bench_dataset(key: str, sources: Dict[str, pathlib.Path], repeats: int,
                  log_dir: pathlib.Path, beam: bool) -> List[dict]:
  """All jobs of one dataset key: ours/official alternately; ImageNet train also the 4×-inner-tar
  builds and the Beam build."""
  table = DATASETS[key]
  root = sources[key.split("_")[0]]
  where = root.parent / table["sources"]
  records = []

  def run(role: str, impl: str, manual: pathlib.Path, **extra) -> None:
    record = run_job({"dataset": key, "impl": impl, "sources": str(manual), **extra}, log_dir)
    record["role"] = role
    records.append(record)
    _say(_job_line(record))

  for r in range(repeats):
    for impl in (("ours", "official") if r % 2 == 0 else ("official", "ours")):
      run(impl, impl, where)
  if key == "imagenet":
    big = root / "train_4x"
    for r in range(repeats):
      for impl in (("ours", "official") if r % 2 == 0 else ("official", "ours")):
        run(f"{impl}_4x", impl, big, read=False)
    if beam:
      for r in range(repeats):
        run("ours_beam2", "ours", where, read=False, beam_workers=BEAM_WORKERS)
  return records


def profile_ours(key: str, sources: Dict[str, pathlib.Path], log_dir: pathlib.Path,
                 top: int = 25) -> str:
  """cProfile of our prepare (one job), as the text of the top functions."""
  table = DATASETS[key]
  where = sources[key.split("_")[0]].parent / table["sources"]
  stats_path = log_dir / f"profile_{key}.prof"
  run_job({"dataset": key, "impl": "ours", "sources": str(where), "read": False,
           "profile": str(stats_path)}, log_dir)
  text = []
  for order in ("tottime", "cumulative"):
    buf = io.StringIO()
    stats = pstats.Stats(str(stats_path), stream=buf)
    stats.strip_dirs().sort_stats(order).print_stats(top)
    body = buf.getvalue()
    body = body[body.find("   ncalls"):] if "   ncalls" in body else body
    text.append(f"Top {top} by {order}:\n\n```\n{body.rstrip()}\n```")
  return "\n\n".join(text)


# ---------------------------------------------------------------- the report


def _values(records: List[dict], role: str, field: str) -> List[float]:
  return [r[field] for r in records if r["role"] == role and field in r]


def _median(records, role, field) -> Optional[float]:
  values = _values(records, role, field)
  return statistics.median(values) if values else None


METRICS = [
    # (field, label, format, which of min/max is "best")
    ("prepare_s", "prepare wall time (s)", "{:.2f}"),
    ("examples_per_s", "examples/s (prepare, all splits)", "{:.0f}"),
    ("peak_rss_mb", "peak RSS (MB)", "{:.0f}"),
    ("disk_mb", "on-disk size (MB)", "{:.1f}"),
    ("read_per_s", "read throughput, train split (examples/s)", "{:.0f}"),
]


def _fmt(fmt: str, value: Optional[float]) -> str:
  return "n/a" if value is None else fmt.format(value)


def results_table(all_records: Dict[str, List[dict]]) -> List[str]:
  lines = ["| dataset | metric | ours min | ours median | official min | official median | "
           "ours/official (medians) |", "|---|---|---|---|---|---|---|"]
  for key, records in all_records.items():
    names = f"{DATASETS[key]['ours']} vs {DATASETS[key]['official']}"
    label = key if key != "imagenet_val" else "imagenet (validation)"
    for field, metric, fmt in METRICS:
      if field == "read_per_s" and DATASETS[key]["split"] != "train":
        metric = metric.replace("train split", f"{DATASETS[key]['split']} split")
      ours, official = _values(records, "ours", field), _values(records, "official", field)
      mo, mf = _median(records, "ours", field), _median(records, "official", field)
      ratio = mo / mf if mo is not None and mf else None
      lines.append(f"| {label} ({names}) | {metric} | {_fmt(fmt, min(ours) if ours else None)} "
                   f"| {_fmt(fmt, mo)} | {_fmt(fmt, min(official) if official else None)} | "
                   f"{_fmt(fmt, mf)} | {_fmt('{:.2f}', ratio)} |")
  return lines


def targets(all_records: Dict[str, List[dict]], beam_requested: bool) -> List[dict]:
  """Every target that the records allow judging: name, measured value, bound, pass."""
  out = []

  def ratio(key, field, role_a="ours", role_b="official"):
    records = all_records.get(key)
    if not records:
      return None
    a, b = _median(records, role_a, field), _median(records, role_b, field)
    return a / b if a is not None and b else None

  for key in ("mnist", "smallnorb"):
    value = ratio(key, "prepare_s")
    if value is not None:
      out.append(dict(key=key, kind="prepare", name=f"{DATASETS[key]['ours']} prepare time "
                      f"≤ {PREPARE_TARGET} × official", value=value, text=f"{value:.2f} ×",
                      ok=value <= PREPARE_TARGET))
  value = ratio("imagenet", "examples_per_s")
  if value is not None:
    out.append(dict(key="imagenet", kind="prepare", name=f"ilsvrc2012 train images/s ≥ "
                    f"{IMAGENET_SPEED_TARGET} × official (one process)", value=value,
                    text=f"{value:.2f} ×", ok=value >= IMAGENET_SPEED_TARGET))
  value = ratio("imagenet", "peak_rss_mb", "ours_4x", "ours")
  if value is not None:
    out.append(dict(key="imagenet", kind="rss", name=f"ilsvrc2012 peak RSS flat (±"
                    f"{RSS_FLAT_TOLERANCE:.0%}) when inner tars grow 4×", value=value,
                    text=f"{value:.2f} × (4× inner tars / 1×)",
                    ok=abs(value - 1) <= RSS_FLAT_TOLERANCE))
  if "imagenet" in all_records:
    value = ratio("imagenet", "prepare_s", "ours", "ours_beam2")
    if value is not None:
      out.append(dict(key="imagenet", kind="beam", name=f"ilsvrc2012 Beam DirectRunner "
                      f"{BEAM_WORKERS} workers ≥ {BEAM_TARGET} × our single process",
                      value=value, text=f"{value:.2f} × speed-up", ok=value >= BEAM_TARGET))
    else:
      reason = ("not available: run without --no-beam" if not beam_requested else
                "not available: no Beam job was recorded")
      out.append(dict(key="imagenet", kind="beam", name=f"ilsvrc2012 Beam DirectRunner "
                      f"{BEAM_WORKERS} workers ≥ {BEAM_TARGET} × our single process",
                      value=None, text=reason, ok=None))
  for key in all_records:
    value = ratio(key, "read_per_s")
    if value is not None:
      out.append(dict(key=key, kind="read", name=f"{key} read throughput ≥ {READ_TARGET} × "
                      "official", value=value, text=f"{value:.2f} ×", ok=value >= READ_TARGET))
  return out


def _version(*dists: str) -> str:
  for dist in dists:
    try:
      return metadata.version(dist)
    except metadata.PackageNotFoundError:
      continue
  return "not installed"


def machine() -> List[str]:
  cpu = "unknown"
  with open("/proc/cpuinfo") as f:
    for line in f:
      if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
  with open("/proc/meminfo") as f:
    mem_kb = int(f.readline().split()[1])
  return [
      f"- CPU: {cpu}, {os.cpu_count()} cores visible; RAM {mem_kb / 2**20:.1f} GiB",
      f"- {platform.platform()}; Python {platform.python_version()}; TensorFlow "
      f"{_version('tensorflow-cpu', 'tensorflow')}; tensorflow-datasets "
      f"{_version('tensorflow-datasets')}; apache-beam {_version('apache-beam')}; numpy "
      f"{_version('numpy')}; Pillow {_version('pillow')}",
  ]


def write_report(out: pathlib.Path, all_records: Dict[str, List[dict]], meta: dict,
                 target_rows: List[dict], profiles: Dict[str, str]) -> None:
  lines = ["# Benchmarks: tfds_builders against the official TFDS builders", "",
           "Written by `benchmarks/run.py` (do not edit by hand; rerun it). Medians and minima "
           "over the repeats; every build ran in a fresh process, ours and the official one "
           "alternately, on the same synthetic source files in the real formats "
           "(`benchmarks/synthetic.py`).", "", "## Machine", "", *machine(),
           f"- Run: {meta['started']} to {meta['finished']}; sizes `{meta['sizes']}`; builds per "
           "builder: " + ", ".join(f"{key} {len(_values(records, 'ours', 'prepare_s'))}"
                                   for key, records in all_records.items()),
           f"- Load average (1/5/15 min) at start {meta['load_start']}, at end "
           f"{meta['load_end']}. {meta.get('note', '')}".rstrip(), "",
           "## Results", "", *results_table(all_records), ""]
  if "imagenet" in all_records:
    records = all_records["imagenet"]
    lines += ["### ImageNet: memory with 4× larger inner tars, and Beam", "",
              "The `_4x` builds read the same images packed into a quarter as many inner class "
              "tars, each 4× as large (the official builder reads each inner tar into memory).", "",
              "| build | prepare median (s) | peak RSS min (MB) | peak RSS median (MB) | "
              "RSS before prepare (MB) |", "|---|---|---|---|---|"]
    for role in ("ours", "ours_4x", "official", "official_4x", "ours_beam2"):
      if _values(records, role, "prepare_s"):
        peak = _values(records, role, "peak_rss_mb")
        if role == "ours_beam2":
          peak = [max(a, b) for a, b in zip(peak, _values(records, role,
                                                           "children_peak_rss_mb"))]
        lines.append(f"| {role} | {_median(records, role, 'prepare_s'):.2f} | {min(peak):.0f} | "
                     f"{statistics.median(peak):.0f} | "
                     f"{_median(records, role, 'rss_before_mb'):.0f} |")
    lines.append("")
  lines += ["## Targets", ""]
  for t in target_rows:
    state = "n/a" if t["ok"] is None else ("PASS" if t["ok"] else "FAIL")
    lines.append(f"- **{state}** {t['name']}: {t['text']}")
  lines.append("")
  for key, text in profiles.items():
    lines += [f"## Profile of our `{DATASETS[key]['ours']}` prepare ({key})", "", text, ""]
  lines += ["## Every job", "", "```"]
  for records in all_records.values():
    lines += [_job_line(r) for r in records]
  lines += ["```", ""]
  if meta.get("notes"):
    lines += ["## Notes", "", meta["notes"], ""]
  out.write_text("\n".join(lines))


def _load() -> str:
  return " ".join(open("/proc/loadavg").read().split()[:3])


def main(argv=None) -> int:
  if argv is None:
    argv = sys.argv[1:]
  if argv and argv[0] == "job":
    record = job(json.loads(argv[1]))
    pathlib.Path(argv[2]).write_text(json.dumps(record))
    return 0
  import synthetic
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--size", choices=("full", "tiny"), default="full")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--datasets", default="mnist,smallnorb,imagenet",
                      help="comma-separated: mnist, smallnorb, imagenet")
  parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                     "tfds_builders_bench"),
                      help="where the synthetic sources are written once and reused")
  parser.add_argument("--results", default=None,
                      help="folder of per-dataset job records (default: <cache>/results-<size>)")
  parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
  parser.add_argument("--no-beam", action="store_true", help="skip the Beam DirectRunner build")
  parser.add_argument("--profile-misses", action="store_true",
                      help="cProfile our prepare for every dataset that misses a speed target")
  parser.add_argument("--in-process", action="store_true",
                      help="run the jobs in this process: a quick check of the harness only "
                      "(peak RSS is then not per build)")
  parser.add_argument("--notes-file", default=None,
                      help="a markdown file appended to the report as its Notes section")
  parser.add_argument("--report-only", action="store_true",
                      help="write the report from the stored job records; run nothing")
  parser.add_argument("--note", default="", help="a sentence for the report (e.g. machine load)")
  args = parser.parse_args(argv)
  global IN_PROCESS
  IN_PROCESS = args.in_process

  sizes = synthetic.Sizes.full() if args.size == "full" else synthetic.Sizes.tiny()
  cache = pathlib.Path(args.cache)
  results_dir = pathlib.Path(args.results or cache / f"results-{args.size}")
  results_dir.mkdir(parents=True, exist_ok=True)
  log_dir = results_dir / "logs"
  log_dir.mkdir(exist_ok=True)
  groups = [g.strip() for g in args.datasets.split(",") if g.strip()]
  unknown = [g for g in groups if g not in GROUPS]
  if unknown:
    parser.error(f"unknown dataset(s) {unknown}; choose from {sorted(GROUPS)}")
  meta_path = results_dir / "meta.json"
  meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
  if args.report_only:
    groups = []
  if not args.report_only:
    meta.update(started=meta.get("started") or time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                repeats=args.repeats, sizes=sizes.tag(), load_start=meta.get("load_start")
                or _load())
  if args.note:
    meta["note"] = args.note
  if args.in_process:
    meta["note"] = (meta.get("note", "") + " Jobs ran in one process (--in-process): peak RSS "
                    "is not per build.").strip()

  _say(f"sources: writing or reusing {cache / sizes.tag()}")
  sources = synthetic.write_all(cache, sizes, groups)
  for group in groups:
    for key in GROUPS[group]:
      _say(f"{key}:")
      records = bench_dataset(key, sources, args.repeats, log_dir, beam=not args.no_beam)
      (results_dir / f"{key}.json").write_text(json.dumps(records, indent=1))

  all_records = {key: json.loads((results_dir / f"{key}.json").read_text())
                 for key in DATASETS if (results_dir / f"{key}.json").exists()}
  target_rows = targets(all_records, beam_requested=not args.no_beam)
  profiles = {}
  for t in target_rows:
    profile_file = results_dir / f"profile_{t['key']}.md"
    if args.profile_misses and t["ok"] is False and t["kind"] == "prepare" and any(
        t["key"] in GROUPS[g] for g in groups):
      _say(f"profiling our {t['key']} prepare (missed: {t['name']})")
      all_sources = synthetic.write_all(cache, sizes, [t["key"].split("_")[0]])
      profile_file.write_text(profile_ours(t["key"], all_sources, log_dir))
    if profile_file.exists() and t["ok"] is False and t["kind"] == "prepare":
      profiles[t["key"]] = profile_file.read_text()
  if not args.report_only:
    meta.update(finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"), load_end=_load())
    meta_path.write_text(json.dumps(meta))
  if args.notes_file:
    meta["notes"] = pathlib.Path(args.notes_file).read_text().strip()
  write_report(pathlib.Path(args.out), all_records, meta, target_rows, profiles)
  _say("\n".join(results_table(all_records)))
  for t in target_rows:
    state = "n/a" if t["ok"] is None else ("PASS" if t["ok"] else "FAIL")
    _say(f"{state}: {t['name']}: {t['text']}")
  _say(f"report: {args.out}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
