"""`verify` against one epoch of `tfds.load` on a full-size MNIST-like dataset (issue 23's goal:
checking a copy must cost no more than reading it once).

    .venv/bin/python benchmarks/verify_speed.py                          # 70,000 examples
    .venv/bin/python benchmarks/verify_speed.py --format array_record --repeats 5
    .venv/bin/python benchmarks/verify_speed.py --size tiny --repeats 1   # a quick check

The sources are synthetic.py's full-size MNIST IDX files (60,000 + 10,000 images, written once
and reused from --cache), built once per file format with mnist_idx. Each round times, in this
process and alternately first and second (so that warm caches and a busy neighbour hit both):

- verify: every shard framed and CRC-checked, counts compared, every example decoded and checked;
- one epoch of tfds.load: every split read through TFDS's own pipeline, images decoded, in
  batches of 1024 (how a training loop reads it; one Python step per example would time Python).
  ArrayRecord has no tf.data reader in TFDS: there, an epoch is `tfds.data_source` read in order,
  1024 indices at a time.

Wall time is the number to compare (both use every core through tf.data); CPU time (all
threads of this process) is printed beside it, since on a shared machine it varies less.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import resource
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cpu_seconds() -> float:
  usage = resource.getrusage(resource.RUSAGE_SELF)
  return usage.ru_utime + usage.ru_stime


def timed(function):
  wall, cpu = time.perf_counter(), cpu_seconds()
  result = function()
  return result, time.perf_counter() - wall, cpu_seconds() - cpu


def build(sources: pathlib.Path, data_dir: pathlib.Path, file_format: str):
  import tensorflow_datasets as tfds
  builder = tfds.builder("mnist_idx", data_dir=data_dir, file_format=file_format)
  if not builder.is_prepared():
    print(f"building mnist_idx ({file_format}) from {sources} into {data_dir} ...", flush=True)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=sources))
  return builder


def one_epoch(data_dir: pathlib.Path, splits, file_format: str) -> int:
  import tensorflow as tf
  import tensorflow_datasets as tfds
  count = 0
  if file_format == "array_record":
    # TFDS reads ArrayRecord only as a random-access data source (as_dataset refuses it):
    # an epoch is every index in order, 1024 at a time, decoded by TFDS (numpy, no TensorFlow).
    for split in splits:
      source = tfds.data_source("mnist_idx", split=split, data_dir=data_dir, download=False)
      for begin in range(0, len(source), 1024):
        count += len(source.__getitems__(list(range(begin, min(begin + 1024, len(source))))))
    return count
  for ds in tfds.load("mnist_idx", split=list(splits), data_dir=data_dir, download=False):
    for batch in ds.batch(1024).prefetch(tf.data.AUTOTUNE):
      count += len(batch["label"])
  return count


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                      "tfds_builders_verify_speed"),
                      help="where the sources and the built datasets are kept between runs")
  parser.add_argument("--format", default="tfrecord", choices=("tfrecord", "array_record"))
  parser.add_argument("--size", default="full", choices=("full", "tiny"))
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args(argv)

  import synthetic
  import tensorflow_datasets as tfds
  import tfds_builders  # noqa: F401  (registers the builders)
  from tfds_builders.__main__ import quiet_tensorflow
  from tfds_builders.verify import verify

  tfds.disable_progress_bar()
  # The synthetic sources differ from the official files by design: no warning listing them.
  logging.getLogger("tfds_builders.sources").setLevel(logging.ERROR)
  sizes = synthetic.Sizes.full() if args.size == "full" else synthetic.Sizes.tiny()
  cache = pathlib.Path(args.cache)
  sources = synthetic.write_mnist(cache / "sources" / sizes.tag(), sizes)
  data_dir = cache / f"data_{sizes.tag()}_{args.format}"
  with quiet_tensorflow():
    builder, build_wall, _ = timed(lambda: build(sources, data_dir, args.format))
    splits = {s: i.num_examples for s, i in builder.info.splits.items()}
    total = sum(splits.values())
    lines = []
    times = {"verify": [], "tfds.load epoch": []}
    for round_ in range(args.repeats):
      order = ["verify", "tfds.load epoch"][::1 if round_ % 2 == 0 else -1]
      for what in order:
        if what == "verify":
          lines.clear()
          code, wall, cpu = timed(lambda: verify("mnist_idx", str(data_dir), out=lines.append,
                                                 progress=False))
          if code != 0:
            print("\n".join(lines))
            raise SystemExit("verify found the benchmark's dataset damaged")
        else:
          read, wall, cpu = timed(lambda: one_epoch(data_dir, splits, args.format))
          if read != total:
            raise SystemExit(f"tfds.load read {read} examples, the dataset has {total}")
        times[what].append((wall, cpu))

  load = os.getloadavg()[0]
  print(f"mnist_idx, {total:,} examples ({', '.join(f'{s} {n:,}' for s, n in splits.items())}), "
        f"{args.format}, {os.cpu_count()} cores, 1-min load {load:.1f}, median of "
        f"{args.repeats}:")
  medians = {}
  for what, runs in times.items():
    wall = statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    medians[what] = wall
    print(f"  {what:<16} {wall:6.2f} s wall  {cpu:6.2f} s CPU  "
          f"{total / wall:9,.0f} examples/s   (runs: "
          f"{', '.join(f'{w:.2f}' for w, _ in runs)} s)")
  ratio = medians["verify"] / medians["tfds.load epoch"]
  print(f"  verify takes {ratio:.2f}x the time of one epoch "
        f"({'at least as fast' if ratio <= 1 else 'slower'}); the build took {build_wall:.1f} s"
        " (0 when reused)")
  print("verify's own report:")
  print("\n".join(f"  {line}" for line in lines))
  return 0


if __name__ == "__main__":
  sys.exit(main())
