"""Which PNG row filter and zlib level read fastest, per dataset: the measurement behind the
encoder settings of `norb_small` and the MNIST family.

    .venv/bin/python benchmarks/png_study.py                 # writes benchmarks/png_study.md
    .venv/bin/python benchmarks/png_study.py --rounds 2 --images 500 --out /tmp/s.md

A dataset is built once and decoded every epoch, so the stored encoding is chosen for decoding.
For each dataset's images (the calibrated synthetic ones of `synthetic.py`: MNIST-like digits,
EMNIST-like letters, smallNORB-like photographs) and each encoding (every PNG row filter, zlib
levels 0-9, zlib's default and Z_FILTERED strategies, and TensorFlow's own encoder, which the
official builders store), it measures:

- decode: CPU time per image of `tf.image.decode_image` (what TFDS's Image feature runs), one
  thread, in graphs of 128 decode ops (a tf.data pass costs ~50 µs per element on its own here,
  more than a digit's decode, and swings with the machine's load), in process time;
- encode: CPU time per image of `PngEncoder.encode_batch`, which the builders run;
- size: mean bytes per image.

Every round decodes every encoding once, in a new random order; the report gives the median and
the minimum over the rounds.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import random
import statistics
import sys
import time
from typing import Dict, List, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import synthetic  # noqa: E402

LEVELS = (0, 1, 2, 3, 4, 6, 9)
DATASETS = {
    # name: (generator, images per round)
    "mnist": (synthetic.mnist_like_images, 8000),
    "emnist": (synthetic.emnist_like_images, 8000),
    "smallnorb": (synthetic.norb_like_images, 3000),
}
TENSORFLOW = "tensorflow (official)"


def variants() -> List[Tuple[str, int, str]]:
  """(row filter, level, strategy) of every encoding studied."""
  from tfds_builders.formats.png import ROW_FILTERS
  out = []
  for row_filter in ROW_FILTERS:
    for level in LEVELS:
      # Strategies differ only when there is something to compress and rows are filtered.
      strategies = ("default",) if row_filter == "none" or level == 0 else (
          "default", "filtered")
      out += [(row_filter, level, strategy) for strategy in strategies]
  return out


def name_of(variant) -> str:
  if isinstance(variant, str):
    return variant
  row_filter, level, strategy = variant
  return f"{row_filter} L{level} {strategy}"


def encode_all(images: np.ndarray, variant) -> Tuple[List[bytes], float]:
  """The PNGs of every image, and the CPU seconds per image it took to make them."""
  import tensorflow as tf
  from tfds_builders.formats.png import PngEncoder
  start = time.process_time()
  if variant == TENSORFLOW:
    pngs = [tf.io.encode_png(image[..., None]).numpy() for image in images]
  else:
    row_filter, level, strategy = variant
    encoder = PngEncoder(*images.shape[1:], 1, level=level, row_filter=row_filter,
                         strategy=strategy)
    pngs = []
    for i in range(0, len(images), 1024):  # the builders' batch sizes: 1024 (NORB), 4096 (IDX)
      pngs += encoder.encode_batch(images[i:i + 1024])
  return pngs, (time.process_time() - start) / len(images)


GRAPH_IMAGES = 128
_GRAPHS = {}


def _graph(decode: bool):
  """A tf.function of GRAPH_IMAGES decode ops (or, for the baseline, as many trivial ops)."""
  if decode not in _GRAPHS:
    import tensorflow as tf

    def one(png):
      if decode:
        image = tf.image.decode_image(png, channels=1, dtype=tf.uint8)
        return tf.cast(image[0, 0, 0], tf.int32)
      return tf.strings.length(png)

    _GRAPHS[decode] = tf.function(
        lambda batch: tf.add_n([one(batch[i]) for i in range(GRAPH_IMAGES)]))
  return _GRAPHS[decode]


def decode_seconds(pngs: List[bytes], decode: bool = True) -> float:
  """CPU seconds per image to decode `pngs` as TFDS does, one thread."""
  import tensorflow as tf
  run = _graph(decode)
  batches = [tf.constant(pngs[i:i + GRAPH_IMAGES])
             for i in range(0, len(pngs) - GRAPH_IMAGES + 1, GRAPH_IMAGES)]
  run(batches[0])  # traced and warm
  start = time.process_time()
  for batch in batches:
    run(batch)
  return (time.process_time() - start) / (len(batches) * GRAPH_IMAGES)


def study(name: str, rounds: int, count: int) -> List[dict]:
  generator, default_count = DATASETS[name]
  images = generator(np.random.default_rng(17), count or default_count)
  encodings = {}
  for variant in [TENSORFLOW] + variants():
    pngs, encode_s = encode_all(images, variant)
    encodings[name_of(variant)] = dict(pngs=pngs, encode_s=encode_s,
                                       bytes=float(np.mean([len(p) for p in pngs])))
  decode_runs: Dict[str, List[float]] = {key: [] for key in encodings}
  baseline = []
  order = list(encodings)
  for r in range(rounds):
    random.Random(r).shuffle(order)
    baseline.append(decode_seconds(encodings[order[0]]["pngs"], decode=False))
    for key in order:
      decode_runs[key].append(decode_seconds(encodings[key]["pngs"]))
    print(f"  {name}: round {r + 1}/{rounds} done", flush=True)
  rows = []
  for key, enc in encodings.items():
    runs = decode_runs[key]
    rows.append(dict(encoding=key, bytes=enc["bytes"], encode_us=enc["encode_s"] * 1e6,
                     decode_us=statistics.median(runs) * 1e6, decode_min_us=min(runs) * 1e6))
  official = next(r for r in rows if r["encoding"] == TENSORFLOW)
  for r in rows:
    r["decode_vs_official"] = r["decode_us"] / max(official["decode_us"], 1e-3)
    r["bytes_vs_official"] = r["bytes"] / official["bytes"]
  rows.sort(key=lambda r: r["decode_us"])
  rows.append(dict(encoding="(the same graphs without decoding: their own cost, included above)",
                   bytes=None, encode_us=None, decode_us=statistics.median(baseline) * 1e6,
                   decode_min_us=min(baseline) * 1e6, decode_vs_official=None,
                   bytes_vs_official=None))
  return rows


def _cell(value, fmt):
  return "" if value is None else fmt.format(value)


def report(results: Dict[str, List[dict]], rounds: int, load: Tuple[str, str],
           started: str) -> str:
  lines = ["# PNG encodings: decode cost, encode cost and size per dataset", "",
           "Written by `benchmarks/png_study.py` (rerun it; do not edit). Decode: CPU µs per "
           "image of TFDS's `tf.image.decode_image`, one thread, in graphs of "
           f"{GRAPH_IMAGES} decode ops; median and minimum of {rounds} rounds, each over every "
           "encoding in a new order. Encode: CPU µs per image of `PngEncoder.encode_batch` (one "
           "pass); the `tensorflow (official)` row is `tf.io.encode_png`, what the official "
           "builders store (libpng's per-row adaptive filter, zlib level 6). Images: the "
           "calibrated synthetic sets of `synthetic.py` (see `CALIBRATION` there).", "",
           f"- {platform.platform()}, {os.cpu_count()} cores; started {started}; load average "
           f"(1/5/15 min) at start {load[0]}, at end {load[1]}", ""]
  for name, rows in results.items():
    lines += [f"## {name}", "", "| encoding | bytes/image | × official size | decode µs (median) "
              "| decode µs (min) | decode × official | encode µs |", "|---|---|---|---|---|---|---|"]
    for r in rows:
      lines.append(f"| {r['encoding']} | {_cell(r['bytes'], '{:.0f}')} | "
                   f"{_cell(r['bytes_vs_official'], '{:.2f}')} | {r['decode_us']:.1f} | "
                   f"{r['decode_min_us']:.1f} | {_cell(r['decode_vs_official'], '{:.2f}')} | "
                   f"{_cell(r['encode_us'], '{:.1f}')} |")
    lines.append("")
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--images", type=int, default=0, help="images per dataset (default: "
                      "8000 digits, 3000 NORB photographs)")
  parser.add_argument("--datasets", default=",".join(DATASETS))
  parser.add_argument("--out", default=str(HERE / "png_study.md"))
  args = parser.parse_args(argv)
  import tensorflow as tf
  # One thread: a per-image cost, not how many cores the pass could use.
  tf.config.threading.set_inter_op_parallelism_threads(1)
  tf.config.threading.set_intra_op_parallelism_threads(1)
  started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
  load_start = " ".join(open("/proc/loadavg").read().split()[:3])
  results = {}
  for name in args.datasets.split(","):
    results[name] = study(name, args.rounds, args.images)
  load_end = " ".join(open("/proc/loadavg").read().split()[:3])
  text = report(results, args.rounds, (load_start, load_end), started)
  pathlib.Path(args.out).write_text(text)
  print(text)
  return 0


if __name__ == "__main__":
  sys.exit(main())
