"""Benchmarks: our builders against the official TFDS builders on the same local source files.

    .venv/bin/python benchmarks/run.py                     # full size, 5 rounds, all datasets
    .venv/bin/python benchmarks/run.py --repeats 7 --datasets mnist,smallnorb
    .venv/bin/python benchmarks/run.py --size tiny --repeats 1 --out /tmp/r.md   # a quick check

Each build runs in a fresh subprocess (so peak RSS is that build's alone), ours and the official
one alternately (ours/official, then official/ours, ...) so that a change in machine load hits both.
A job prepares the dataset from the synthetic sources (`synthetic.py`) into an empty data_dir and
then reads the built train split back through tf.data, decoding the images. The official builders
are driven on the same files: `mnist` and `smallnorb` through a subclass whose
`_split_generators` extracts the local `.gz` files (what their `download_and_extract` does after a
download), `imagenet2012` through its manual_dir.

Every build and read is measured in wall time and in CPU time (process time of all the process's
threads, plus its waited-for children: Beam's worker processes), per example. On a machine that
other work shares, CPU time is the figure that holds: a busy neighbour stretches wall time, much
less the CPU a job itself spends. Targets are judged on CPU time where the work is single-threaded
(or, for reads, the same TFDS pipeline for both builders) and on wall time where ours runs work in
parallel; each target says which. The 1-minute load average is sampled every few seconds and
reported.

ImageNet is also built at two sizes (`synthetic.Sizes.scale_images()`: 1,600 and 6,400 images),
in one process (ours, the official) and on Beam's DirectRunner (in one process, `in_memory`, and
with 2 worker processes, `multi_processing`): the difference between the sizes is the per-image
cost, the rest the fixed start-up. The same two sizes run a Beam pipeline of the same shape as
TFDS's Beam writer over plain bytes of the same size (no TFDS, no code of ours): the runner's own
floor. From the per-image costs and this disk's measured sequential read rate, the report
projects the build of the real ILSVRC2012 train set on this machine.

Job records go to `<results>/<dataset>.json` (a run over some datasets keeps the others' records)
and the report, machine description included, to `--out` (default `benchmarks/RESULTS.md`); a
section another script appended to that file (`boxes.py`'s) is kept.
"""

from __future__ import annotations

import argparse
import contextlib
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
import threading
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
    # ImageNet at the two sizes of synthetic.Sizes.scale_images(): prepare only.
    "imagenet_scale": dict(ours="ilsvrc2012", official="imagenet2012",
                           sources="imagenet/scale_{images}", split="train"),
}
# Command-line names -> dataset keys (`imagenet` runs the train and the validation comparison).
GROUPS = {"mnist": ["mnist"], "smallnorb": ["smallnorb"], "imagenet": ["imagenet", "imagenet_val"]}
READ_PASSES = 3
READ_BATCH = 256
# ImageNet images differ in size; a batch needs one shape, as in any input pipeline.
IMAGENET_READ_SIZE = (224, 224)
BEAM_WORKERS = 2
# Rounds of the scale section's Beam builds (each takes up to a minute) and of the runner-floor
# pipelines; the one-process builds there run every round.
BEAM_ROUNDS = 3
FLOOR_ROUNDS = 2
# Targets (medians).
PREPARE_TARGET = 0.5
IMAGENET_SPEED_TARGET = 2.0
RSS_FLAT_TOLERANCE = 0.15
BEAM_PER_IMAGE_TARGET = 2.0  # Beam's per-image CPU at most 2x one process's
READ_TARGETS = {"mnist": 1.1, "smallnorb": 1.25, "imagenet": 1.0, "imagenet_val": 1.0}
# What is judged on CPU (single-threaded work) and what on wall time (ours works in parallel).
PREPARE_BASIS = {"mnist": "cpu", "smallnorb": "wall", "imagenet": "cpu"}
BASIS_WHY = {
    "cpu": "on CPU time; single-threaded work",
    "wall": "on wall time; ours encodes in a second thread",
    "read": "on CPU time; the same TFDS pipeline reads both",
    "beam": "on CPU time of all processes, the runner's included",
}
# The real ILSVRC2012 train set: images and bytes (the registered size of the train tar).
REAL_TRAIN_IMAGES = 1_281_167
REAL_TRAIN_BYTES = 147_897_477_120
# Scale roles: what builds each of the two sizes.
SCALE_ROLES = {
    "ours": dict(impl="ours"),
    "official": dict(impl="official"),
    "ours_beam_in_memory": dict(impl="ours", beam_mode="in_memory", beam_workers=1),
    "ours_beam_2workers": dict(impl="ours", beam_mode="multi_processing",
                               beam_workers=BEAM_WORKERS),
    "floor_in_memory": dict(impl="floor", beam_mode="in_memory", beam_workers=1),
    "floor_2workers": dict(impl="floor", beam_mode="multi_processing", beam_workers=BEAM_WORKERS),
}


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


def _cpu_s(who=resource.RUSAGE_SELF) -> float:
  usage = resource.getrusage(who)
  return usage.ru_utime + usage.ru_stime


def _load1() -> float:
  return float(open("/proc/loadavg").read().split()[0])


def _read_throughput(builder_dir, key: str) -> Dict[str, float]:
  """Reading the built split through tf.data, images decoded, READ_PASSES times: wall and CPU
  time per example of each pass, and their medians. CPU time counts every thread of tf.data's
  pipeline; on a shared machine it moves much less than wall time, which swung 2x between passes
  over the same files."""
  import tensorflow as tf
  import tensorflow_datasets as tfds

  def one_pass(decode: bool):
    start, cpu = time.perf_counter(), time.process_time()
    builder = tfds.builder_from_directory(builder_dir)
    decoders = None if decode else {
        name: tfds.decode.SkipDecoding() for name, feature in builder.info.features.items()
        if isinstance(feature, tfds.features.Image)}
    ds = builder.as_dataset(split=DATASETS[key]["split"], decoders=decoders)
    if key.startswith("imagenet") and decode:
      ds = ds.map(lambda ex: {"image": tf.image.resize(ex["image"], IMAGENET_READ_SIZE),
                              "label": ex["label"]}, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(READ_BATCH).prefetch(tf.data.AUTOTUNE)
    count, label = 0, "label_category" if key == "smallnorb" else "label"
    for batch in ds:
      count += int(tf.shape(batch[label])[0])
    return time.perf_counter() - start, time.process_time() - cpu, count

  passes = [one_pass(decode=True) for _ in range(READ_PASSES)]
  # The same pipeline with the images left encoded: what the rest of the read costs, so the
  # difference is the image decoding (and for ImageNet the resize), the only part the builders'
  # encodings change.
  undecoded = one_pass(decode=False)
  wall_us = statistics.median(p[0] / p[2] * 1e6 for p in passes)
  cpu_us = statistics.median(p[1] / p[2] * 1e6 for p in passes)
  return {"read_examples": passes[0][2], "read_wall_us": wall_us, "read_cpu_us": cpu_us,
          "read_per_s": 1e6 / wall_us, "read_passes_wall_s": [round(p[0], 3) for p in passes],
          "read_passes_cpu_s": [round(p[1], 3) for p in passes],
          "read_undecoded_cpu_us": undecoded[1] / undecoded[2] * 1e6}


def _beam_options(spec: dict):
  from apache_beam.options.pipeline_options import PipelineOptions
  # flags=[]: PipelineOptions would otherwise parse this process's own arguments. The Python
  # runner by name: DirectRunner would run on Prism wherever Prism's binary is cached.
  return PipelineOptions(flags=[],
                         runner="apache_beam.runners.portability.fn_api_runner.FnApiRunner",
                         direct_num_workers=spec["beam_workers"],
                         direct_running_mode=spec["beam_mode"])


def floor_pipeline(images: int, image_bytes: int, options) -> None:
  """TFDS's Beam writer's shape over plain bytes: units of 200 through a Reshuffle, expanded to
  (key, bytes) elements of `image_bytes`; a side input computed from all of them (the writer's
  largest key and count) gates a keyed GroupByKey into shards, whose sizes are summed. No TFDS and
  no code of ours runs: what this costs per element is the runner's own cost of moving the bytes."""
  import apache_beam as beam
  blob = os.urandom(image_bytes)

  def unit_elements(first):
    return [(i, blob[:-4] + i.to_bytes(4, "big")) for i in range(first, min(first + 200, images))]

  with beam.Pipeline(options=options) as pipeline:
    elements = (pipeline | beam.Create(list(range(0, images, 200))) | beam.Reshuffle()
                | beam.FlatMap(unit_elements))
    largest = beam.pvalue.AsSingleton(elements | beam.Keys() | beam.combiners.Top.Largest(1))
    _ = (elements
         | beam.Map(lambda element, top: (element[0] % 4, element), top=largest)
         | beam.GroupByKey()
         | beam.Map(lambda shard: sum(len(value) for _, value in shard[1])))


def job(spec: dict) -> dict:
  """Prepares one dataset with one builder; returns the measurements."""
  t_import = time.perf_counter()
  import tensorflow_datasets as tfds
  key, impl = spec["dataset"], spec["impl"]
  sources = pathlib.Path(spec["sources"])
  beam_options = _beam_options(spec) if spec.get("beam_mode") else None
  if impl == "ours":
    import tfds_builders  # noqa: F401  (registers our builders)
    builder = tfds.builder(DATASETS[key]["ours"], data_dir=spec["data_dir"])
  elif impl == "official":
    builder = _official_builder(key, sources, spec["data_dir"])
  config = tfds.download.DownloadConfig(manual_dir=str(sources), beam_options=beam_options)
  import_s = time.perf_counter() - t_import
  # Taken now, when the builder's modules have just been imported: the files may change later.
  code = code_fingerprint(key) if impl == "ours" else None
  rss_before = _current_rss_mb()
  profiler = cProfile.Profile() if spec.get("profile") else None
  load_before = _load1()
  start, cpu, children_cpu = time.perf_counter(), _cpu_s(), _cpu_s(resource.RUSAGE_CHILDREN)
  if profiler:
    profiler.enable()
  if impl == "floor":
    floor_pipeline(spec["images"], spec["image_bytes"], beam_options)
  else:
    builder.download_and_prepare(download_config=config)
  if profiler:
    profiler.disable()
    profiler.dump_stats(spec["profile"])
  prepare_s = time.perf_counter() - start
  # Beam's worker processes are this process's children; the runner waits for them at the end.
  prepare_children_cpu_s = _cpu_s(resource.RUSAGE_CHILDREN) - children_cpu
  prepare_cpu_s = _cpu_s() - cpu + prepare_children_cpu_s
  peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  children_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
  if impl == "floor":
    examples, disk, splits = spec["images"], 0.0, {"train": spec["images"]}
  else:
    examples = sum(s.num_examples for s in builder.info.splits.values())
    disk = _dir_bytes(builder.data_dir) / 1e6
    splits = {k: s.num_examples for k, s in builder.info.splits.items()}
  record = {
      **spec, "import_s": import_s, "prepare_s": prepare_s, "examples": examples,
      "examples_per_s": examples / prepare_s, "prepare_cpu_s": prepare_cpu_s,
      "prepare_children_cpu_s": prepare_children_cpu_s,
      "prepare_wall_us": prepare_s / examples * 1e6,
      "prepare_cpu_us": prepare_cpu_s / examples * 1e6,
      "rss_before_mb": rss_before, "peak_rss_mb": peak_mb,
      "children_peak_rss_mb": children_peak_mb, "disk_mb": disk, "split_examples": splits,
      "load_before": load_before, "load_after": _load1(),
  }
  if impl != "floor":
    record.update(name=builder.name, version=str(builder.version))
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
  read = (f", read {r['read_per_s']:.0f} ex/s, {r['read_cpu_us']:.0f} µs CPU/ex"
          if "read_per_s" in r else "")
  code = f", code {r['code']}" if "code" in r else ""
  size = f" {r['images']:>5}" if "images" in r else ""
  return (f"  {r['dataset']:<12}{size} {r['role']:<19} prepare {r['prepare_s']:7.2f} s "
          f"(CPU {r['prepare_cpu_s']:7.2f} s, {r['examples_per_s']:6.0f} ex/s), peak RSS "
          f"{max(r['peak_rss_mb'], r['children_peak_rss_mb']):6.0f} MB, disk "
          f"{r['disk_mb']:6.1f} MB{read}, load {r['load_before']:.1f}→{r['load_after']:.1f}"
          f"{code}")


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
  return records


def _tar_bytes_per_image(folder: pathlib.Path, images: int) -> int:
  import synthetic
  return (folder / synthetic.IMAGENET_TRAIN).stat().st_size // images


def bench_scale(sources: Dict[str, pathlib.Path], sizes, repeats: int, log_dir: pathlib.Path,
                beam: bool) -> List[dict]:
  """ImageNet train at the two sizes, by every SCALE_ROLES build, the order rotating by round."""
  import synthetic
  root = sources["imagenet"]
  records = []
  for r in range(repeats):
    roles = ["ours", "official"]
    if beam and r < BEAM_ROUNDS:
      roles += ["ours_beam_in_memory", "ours_beam_2workers"]
    if beam and r < FLOOR_ROUNDS:
      roles += ["floor_in_memory", "floor_2workers"]
    roles = roles[r % len(roles):] + roles[:r % len(roles)]
    for images in sizes.scale_images():
      where = root / synthetic.scale_folder(images)
      for role in roles:
        spec = {"dataset": "imagenet_scale", "sources": str(where), "read": False,
                "images": images, **SCALE_ROLES[role]}
        if spec["impl"] == "floor":
          spec["image_bytes"] = _tar_bytes_per_image(where, images)
        record = run_job(spec, log_dir)
        record["role"] = role
        records.append(record)
        _say(_job_line(record))
  return records


def disk_read_rate(path: pathlib.Path, passes: int = 3) -> Dict[str, float]:
  """MB/s reading `path` start to end in 8 MiB blocks, its pages first dropped from the page
  cache (written back, then POSIX_FADV_DONTNEED): what this disk gives a sequential reader.
  The median of `passes` passes."""
  rates = []
  for _ in range(passes):
    fd = os.open(path, os.O_RDONLY)
    try:
      os.fsync(fd)
      os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
      start, total = time.perf_counter(), 0
      while chunk := os.read(fd, 8 << 20):
        total += len(chunk)
      rates.append(total / (time.perf_counter() - start) / 1e6)
    finally:
      os.close(fd)
  return {"file": str(path), "bytes": path.stat().st_size, "mb_per_s": statistics.median(rates),
          "passes_mb_per_s": [round(x, 1) for x in rates]}


class LoadSampler:
  """The 1-minute load average every `every` seconds while the run lasts."""

  def __init__(self, every: float = 5.0):
    self.samples: List[float] = []
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._sample, args=(every,), daemon=True)

  def _sample(self, every):
    while True:
      self.samples.append(_load1())
      if self._stop.wait(every):
        return

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()


def profile_ours(key: str, sources: Dict[str, pathlib.Path], log_dir: pathlib.Path,
                 top: int = 25, **extra) -> str:
  """cProfile of our prepare (one job), as the text of the top functions."""
  table = DATASETS[key]
  where = sources[key.split("_")[0]].parent / table["sources"].format(**extra)
  stats_path = log_dir / f"profile_{key}.prof"
  run_job({"dataset": key, "impl": "ours", "sources": str(where), "read": False,
           "profile": str(stats_path), **extra}, log_dir)
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


def _values(records: List[dict], role: str, field: str, images: Optional[int] = None):
  return [r[field] for r in records if r["role"] == role and field in r
          and (images is None or r.get("images") == images)]


def _median(records, role, field, images=None) -> Optional[float]:
  values = _values(records, role, field, images)
  return statistics.median(values) if values else None


METRICS = [
    # (field, label, format, ratio: "ours/official" or "official/ours" (a speed-up))
    ("prepare_s", "prepare wall time (s)", "{:.2f}", "ours/official"),
    ("prepare_cpu_s", "prepare CPU time (s)", "{:.2f}", "ours/official"),
    ("examples_per_s", "examples/s (prepare wall, all splits)", "{:.0f}", "ours/official"),
    ("prepare_cpu_us", "prepare CPU µs/example", "{:.0f}", "ours/official"),
    ("peak_rss_mb", "peak RSS (MB)", "{:.0f}", "ours/official"),
    ("disk_mb", "on-disk size (MB)", "{:.1f}", "ours/official"),
    ("read_cpu_us", "read CPU µs/example, {split} split", "{:.1f}", "official/ours"),
    ("read_undecoded_cpu_us", "read CPU µs/example, {split} split, images not decoded",
     "{:.1f}", "official/ours"),
    ("read_wall_us", "read wall µs/example, {split} split", "{:.1f}", "official/ours"),
    ("read_per_s", "read throughput, {split} split (examples/s, wall)", "{:.0f}",
     "ours/official"),
]


def _fmt(fmt: str, value: Optional[float]) -> str:
  return "n/a" if value is None else fmt.format(value)


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
  return a / b if a is not None and b else None


def results_table(all_records: Dict[str, List[dict]]) -> List[str]:
  lines = ["| dataset | metric | ours min | ours median | official min | official median | "
           "ratio of medians |", "|---|---|---|---|---|---|---|"]
  for key, records in all_records.items():
    if key == "imagenet_scale":
      continue
    names = f"{DATASETS[key]['ours']} vs {DATASETS[key]['official']}"
    label = key if key != "imagenet_val" else "imagenet (validation)"
    for field, metric, fmt, direction in METRICS:
      metric = metric.format(split=DATASETS[key]["split"])
      ours, official = _values(records, "ours", field), _values(records, "official", field)
      mo, mf = _median(records, "ours", field), _median(records, "official", field)
      ratio = _ratio(mo, mf) if direction == "ours/official" else _ratio(mf, mo)
      lines.append(f"| {label} ({names}) | {metric} | {_fmt(fmt, min(ours) if ours else None)} "
                   f"| {_fmt(fmt, mo)} | {_fmt(fmt, min(official) if official else None)} | "
                   f"{_fmt(fmt, mf)} | {_fmt('{:.2f}', ratio)} {direction} |")
  return lines


def scale_fit(records: List[dict], role: str, field: str) -> Optional[Dict[str, float]]:
  """Fixed and per-image cost of a build from its medians at the two sizes: the difference
  between the sizes is images' work only."""
  sizes = sorted({r["images"] for r in records if r["role"] == role})
  if len(sizes) < 2:
    return None
  small, large = sizes[0], sizes[-1]
  t_small, t_large = _median(records, role, field, small), _median(records, role, field, large)
  per_image = (t_large - t_small) / (large - small)
  return {"small": small, "large": large, "t_small": t_small, "t_large": t_large,
          "per_image_s": per_image, "fixed_s": t_small - per_image * small}


def scale_section(records: List[dict], disk: Optional[dict]) -> List[str]:
  lines = ["## ImageNet at two sizes: fixed and per-image costs, Beam, and the real train set", "",
           "Each build prepares ImageNet-like train tars of the two sizes (~114 KB JPEGs, as "
           "ImageNet's ~115 KB); `*_beam_in_memory` is our builder on Beam's DirectRunner in one "
           "process, `*_beam_2workers` with 2 worker processes; `floor_*` is a Beam pipeline of "
           "the shape of TFDS's Beam writer over plain bytes of the same size (no TFDS, no code of "
           "ours): what the runner itself costs. Per-image = (median at the large size - median at "
           "the small) / (difference in images); fixed = the rest. CPU counts every process (Beam's "
           "workers included).", "",
           "| build | rounds | wall small (s) | wall large (s) | CPU small (s) | CPU large (s) | "
           "fixed wall (s) | per-image wall (ms) | fixed CPU (s) | per-image CPU (ms) | "
           "per-image CPU × ours |", "|---|---|---|---|---|---|---|---|---|---|---|"]
  ours_cpu = scale_fit(records, "ours", "prepare_cpu_s")
  fits = {}
  for role in SCALE_ROLES:
    wall, cpu = scale_fit(records, role, "prepare_s"), scale_fit(records, role, "prepare_cpu_s")
    if not wall:
      continue
    fits[role] = (wall, cpu)
    rounds = len(_values(records, role, "prepare_s", wall["large"]))
    lines.append(
        f"| {role} ({wall['small']}/{wall['large']} images) | {rounds} | {wall['t_small']:.2f} | "
        f"{wall['t_large']:.2f} | {cpu['t_small']:.2f} | {cpu['t_large']:.2f} | "
        f"{wall['fixed_s']:.2f} | {wall['per_image_s'] * 1e3:.2f} | {cpu['fixed_s']:.2f} | "
        f"{cpu['per_image_s'] * 1e3:.2f} | "
        f"{_fmt('{:.1f}', _ratio(cpu['per_image_s'], ours_cpu['per_image_s']))} |")
  lines.append("")
  beam_roles = [r for r in ("ours_beam_2workers", "floor_2workers") if r in fits]
  if beam_roles:
    lines += ["Where Beam's CPU goes with 2 workers (the launching process runs the runner: it "
              "holds every PCollection between stages and moves each element's bytes to and from "
              "the workers):", "",
              "| build | per-image CPU, launching process (ms) | per-image CPU, workers (ms) |",
              "|---|---|---|"]
    for role in beam_roles:
      runner = [r for r in records if r["role"] == role]
      for part in ("runner", "workers"):
        for r in runner:
          r[f"cpu_{part}"] = (r["prepare_cpu_s"] - r["prepare_children_cpu_s"] if part == "runner"
                              else r["prepare_children_cpu_s"])
      part_fit = {part: scale_fit(runner, role, f"cpu_{part}") for part in ("runner", "workers")}
      lines.append(f"| {role} | {part_fit['runner']['per_image_s'] * 1e3:.2f} | "
                   f"{part_fit['workers']['per_image_s'] * 1e3:.2f} |")
    lines.append("")
  if disk and "ours" in fits and "official" in fits:
    rate = disk["mb_per_s"]
    read_s = REAL_TRAIN_BYTES / (rate * 1e6)
    lines += ["### Projection: the real ILSVRC2012 train set on this machine", "",
              f"{REAL_TRAIN_IMAGES:,} images, {REAL_TRAIN_BYTES / 1e9:.1f} GB (the registered size "
              f"of `ILSVRC2012_img_train.tar`). This disk read "
              f"{disk['bytes'] / 1e6:.0f} MB of `{pathlib.Path(disk['file']).name}` sequentially "
              f"at {rate:.0f} MB/s (median of {disk['passes_mb_per_s']} MB/s, its pages dropped "
              f"from the page cache first), so reading the tar takes {read_s / 60:.0f} min. "
              "Compute = fixed + images × per-image cost (CPU, one process, from the table above; "
              "the synthetic JPEGs are ImageNet's size, ~114 KB). A build reads the tar "
              "sequentially while it works and the kernel reads ahead, so it takes about the "
              "larger of the two, and at most their sum.", "",
              "| build | per-image CPU (ms) | compute (min) | disk read (min) | projected (min, "
              "max) | at most (min, sum) |", "|---|---|---|---|---|---|"]
    for role in ("ours", "official"):
      cpu = fits[role][1]
      compute = cpu["fixed_s"] + REAL_TRAIN_IMAGES * cpu["per_image_s"]
      lines.append(f"| {role} | {cpu['per_image_s'] * 1e3:.3f} | {compute / 60:.0f} | "
                   f"{read_s / 60:.0f} | {max(compute, read_s) / 60:.0f} | "
                   f"{(compute + read_s) / 60:.0f} |")
    if "ours_beam_2workers" in fits:
      cpu = fits["ours_beam_2workers"][1]
      single = fits["ours"][1]
      lines += ["", f"On Beam's DirectRunner every image costs {cpu['per_image_s'] * 1e3:.2f} ms "
                f"of CPU against {single['per_image_s'] * 1e3:.2f} ms in one process: with W "
                f"workers of their own cores Beam's compute would be "
                f"{cpu['per_image_s'] / single['per_image_s']:.1f}/W times the single process's, "
                "so it pays off only from W > "
                f"{cpu['per_image_s'] / single['per_image_s']:.0f} workers, and never on this "
                "2-core machine, where the disk is the limit anyway."]
    lines.append("")
  return lines


def _target(out, key, kind, name, value, bound, higher_is_better, basis, text_of=None):
  if value is None:
    return
  ok = value >= bound if higher_is_better else value <= bound
  text = text_of(value) if text_of else f"{value:.2f} ×"
  out.append(dict(key=key, kind=kind, name=f"{name} ({BASIS_WHY[basis]})", value=value,
                  text=text, ok=ok))


def targets(all_records: Dict[str, List[dict]], beam_requested: bool) -> List[dict]:
  """Every target that the records allow judging: name, measured value, bound, pass."""
  out = []

  def ratio(key, field, role_a="ours", role_b="official"):
    records = all_records.get(key)
    if not records:
      return None
    return _ratio(_median(records, role_a, field), _median(records, role_b, field))

  for key in ("mnist", "smallnorb"):
    basis = PREPARE_BASIS[key]
    field = "prepare_cpu_s" if basis == "cpu" else "prepare_s"
    _target(out, key, "prepare", f"{DATASETS[key]['ours']} prepare time ≤ {PREPARE_TARGET} × "
            "official", ratio(key, field), PREPARE_TARGET, False, basis)
  _target(out, "imagenet", "prepare", f"ilsvrc2012 train images/s ≥ {IMAGENET_SPEED_TARGET} × "
          "official (one process)", ratio("imagenet", "prepare_cpu_s", "official", "ours"),
          IMAGENET_SPEED_TARGET, True, "cpu")
  value = ratio("imagenet", "peak_rss_mb", "ours_4x", "ours")
  if value is not None:
    out.append(dict(key="imagenet", kind="rss", name=f"ilsvrc2012 peak RSS flat (±"
                    f"{RSS_FLAT_TOLERANCE:.0%}) when inner tars grow 4×", value=value,
                    text=f"{value:.2f} × (4× inner tars / 1×)",
                    ok=abs(value - 1) <= RSS_FLAT_TOLERANCE))
  if "imagenet" in all_records or "imagenet_scale" in all_records:
    name = (f"ilsvrc2012 Beam per-image cost (DirectRunner, {BEAM_WORKERS} workers, after "
            f"start-up) ≤ {BEAM_PER_IMAGE_TARGET} × one process's")
    scale = all_records.get("imagenet_scale", [])
    beam, single = (scale_fit(scale, "ours_beam_2workers", "prepare_cpu_s"),
                    scale_fit(scale, "ours", "prepare_cpu_s"))
    if beam and single:
      _target(out, "imagenet_scale", "beam", name, beam["per_image_s"] / single["per_image_s"],
              BEAM_PER_IMAGE_TARGET, False, "beam",
              lambda v: f"{v:.1f} × ({beam['per_image_s'] * 1e3:.2f} ms against "
                        f"{single['per_image_s'] * 1e3:.2f} ms)")
    else:
      reason = ("not available: run without --no-beam" if not beam_requested else
                "not available: no Beam job was recorded")
      out.append(dict(key="imagenet_scale", kind="beam", name=f"{name} ({BASIS_WHY['beam']})",
                      value=None, text=reason, ok=None))
  for key in all_records:
    if key in READ_TARGETS:
      _target(out, key, "read", f"{key} read speed ≥ {READ_TARGETS[key]} × official",
              ratio(key, "read_cpu_us", "official", "ours"), READ_TARGETS[key], True, "read")
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


# Sections other scripts append to the report; rewriting the report keeps them.
KEPT_SECTIONS = ("## ilsvrc2012_localization: the cost of the boxes",)


def _kept_sections(out: pathlib.Path) -> List[str]:
  if not out.exists():
    return []
  text, kept = out.read_text(), []
  for header in KEPT_SECTIONS:
    at = text.find(header + "\n")
    if at >= 0:
      end = text.find("\n## ", at + len(header))
      kept.append(text[at:end if end >= 0 else len(text)].rstrip() + "\n")
  return kept


def write_report(out: pathlib.Path, all_records: Dict[str, List[dict]], meta: dict,
                 target_rows: List[dict], profiles: Dict[str, str]) -> None:
  kept = _kept_sections(out)
  loads = meta.get("load_samples") or []
  during = (f"during it (1-minute average, sampled every 5 s, {len(loads)} samples) min "
            f"{min(loads):.2f}, median {statistics.median(loads):.2f}, max {max(loads):.2f}"
            if loads else "during it: not sampled")
  lines = ["# Benchmarks: tfds_builders against the official TFDS builders", "",
           "Written by `benchmarks/run.py` (do not edit by hand; rerun it). Medians and minima "
           "over the rounds; every build ran in a fresh process, ours and the official one "
           "alternately, on the same synthetic source files in the real formats "
           "(`benchmarks/synthetic.py`, calibrated against the real files). Times are given as "
           "wall time and as CPU time (all threads, and Beam's worker processes); each target "
           "says which it is judged on.", "", "## Machine", "", *machine(),
           f"- Run: {meta['started']} to {meta['finished']}; sizes `{meta['sizes']}`; builds per "
           "builder: " + ", ".join(f"{key} {len(_values(records, 'ours', 'prepare_s'))}"
                                   for key, records in all_records.items()
                                   if key != "imagenet_scale"),
           f"- Load average (1/5/15 min) at start {meta['load_start']}, at end "
           f"{meta['load_end']}; {during}. {meta.get('note', '')}".rstrip(), "",
           "## Results", "", *results_table(all_records), ""]
  if "imagenet" in all_records:
    records = all_records["imagenet"]
    lines += ["### ImageNet: memory with 4× larger inner tars", "",
              "The `_4x` builds read the same images packed into a quarter as many inner class "
              "tars, each 4× as large (the official builder reads each inner tar into memory).", "",
              "| build | prepare median (s) | prepare CPU median (s) | peak RSS min (MB) | "
              "peak RSS median (MB) | RSS before prepare (MB) |", "|---|---|---|---|---|---|"]
    for role in ("ours", "ours_4x", "official", "official_4x"):
      if _values(records, role, "prepare_s"):
        peak = _values(records, role, "peak_rss_mb")
        lines.append(f"| {role} | {_median(records, role, 'prepare_s'):.2f} | "
                     f"{_median(records, role, 'prepare_cpu_s'):.2f} | {min(peak):.0f} | "
                     f"{statistics.median(peak):.0f} | "
                     f"{_median(records, role, 'rss_before_mb'):.0f} |")
    lines.append("")
  if "imagenet_scale" in all_records:
    lines += scale_section(all_records["imagenet_scale"], meta.get("disk"))
  lines += ["## Targets", ""]
  for t in target_rows:
    state = "n/a" if t["ok"] is None else ("PASS" if t["ok"] else "FAIL")
    lines.append(f"- **{state}** {t['name']}: {t['text']}")
  lines.append("")
  for key, text in profiles.items():
    what = ("Beam in_memory prepare at the large size" if key == "imagenet_scale" else
            f"`{DATASETS[key]['ours']}` prepare")
    lines += [f"## Profile of our {what} ({key})", "", text, ""]
  lines += ["## Every job", "", "```"]
  for records in all_records.values():
    lines += [_job_line(r) for r in records]
  lines += ["```", ""]
  if meta.get("notes"):
    lines += ["## Notes", "", meta["notes"], ""]
  for section in kept:
    lines += [section]
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
  parser.add_argument("--repeats", type=int, default=5, help="rounds of alternating builds")
  parser.add_argument("--datasets", default="mnist,smallnorb,imagenet",
                      help="comma-separated: mnist, smallnorb, imagenet")
  parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                     "tfds_builders_bench"),
                      help="where the synthetic sources are written once and reused")
  parser.add_argument("--results", default=None,
                      help="folder of per-dataset job records (default: <cache>/results-<size>)")
  parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
  parser.add_argument("--no-beam", action="store_true", help="skip the Beam DirectRunner builds")
  parser.add_argument("--profile-misses", action="store_true",
                      help="cProfile our prepare for every dataset that misses a speed target "
                      "(for Beam: the in_memory build at the large size)")
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
  with LoadSampler() if not args.report_only else contextlib.nullcontext() as sampler:
    for group in groups:
      for key in GROUPS[group]:
        _say(f"{key}:")
        records = bench_dataset(key, sources, args.repeats, log_dir, beam=not args.no_beam)
        (results_dir / f"{key}.json").write_text(json.dumps(records, indent=1))
      if group == "imagenet":
        _say("imagenet_scale:")
        records = bench_scale(sources, sizes, args.repeats, log_dir, beam=not args.no_beam)
        (results_dir / "imagenet_scale.json").write_text(json.dumps(records, indent=1))
        largest = sources["imagenet"] / synthetic.scale_folder(max(sizes.scale_images()))
        meta["disk"] = disk_read_rate(largest / synthetic.IMAGENET_TRAIN)
        _say(f"disk: {meta['disk']}")
  if sampler is not None:
    meta["load_samples"] = meta.get("load_samples", []) + sampler.samples

  all_records = {key: json.loads((results_dir / f"{key}.json").read_text())
                 for key in DATASETS if (results_dir / f"{key}.json").exists()}
  target_rows = targets(all_records, beam_requested=not args.no_beam)
  profiles = {}
  for t in target_rows:
    profile_file = results_dir / f"profile_{t['key']}.md"
    profiled = t["kind"] in ("prepare", "beam")
    if args.profile_misses and t["ok"] is False and profiled and any(
        t["key"].split("_")[0] in GROUPS[g] for g in groups):
      _say(f"profiling our {t['key']} prepare (missed: {t['name']})")
      all_sources = synthetic.write_all(cache, sizes, [t["key"].split("_")[0]])
      extra = (dict(images=max(sizes.scale_images()), **SCALE_ROLES["ours_beam_in_memory"])
               if t["kind"] == "beam" else {})
      profile_file.write_text(profile_ours(t["key"], all_sources, log_dir, **extra))
    if profile_file.exists() and t["ok"] is False and profiled:
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
