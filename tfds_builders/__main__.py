"""Command line of tfds_builders: `python -m tfds_builders demo` (the README's main job)."""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time


def build_all(data_dir: pathlib.Path, sources: pathlib.Path, names=None, out=print):
  """Builds every config of every builder from the sample sources; returns {full_name: builder}."""
  import tensorflow_datasets as tfds
  import tfds_builders

  built = {}
  for name in names or tfds_builders.builder_names():
    cls = tfds.core.registered.imported_builder_cls(name)
    configs = [c.name for c in cls.BUILDER_CONFIGS] or [None]
    manual_dir = sources / name
    if not manual_dir.is_dir():
      raise SystemExit(f"no sample sources for {name} in {manual_dir}")
    for config in configs:
      full_name = f"{name}/{config}" if config else name
      start = time.perf_counter()
      builder = tfds.builder(full_name, data_dir=data_dir)
      builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
          manual_dir=manual_dir))
      splits = ", ".join(f"{s} {info.num_examples}" for s, info in
                         sorted(builder.info.splits.items()))
      out(f"built {full_name:<28} {splits}  ({time.perf_counter() - start:.1f} s)")
      built[full_name] = builder
  return built


def load_all(built, out=print):
  """Loads every built dataset with tfds.load(..., as_supervised=True) and counts what it reads."""
  import tensorflow_datasets as tfds
  for full_name, builder in built.items():
    if builder.info.supervised_keys is None:
      out(f"loaded {full_name:<27} (no supervised keys)")
      continue
    counts = []
    for split in sorted(builder.info.splits):
      ds = tfds.load(full_name, split=split, data_dir=builder.data_dir_root, as_supervised=True,
                     download=False)
      n = sum(1 for _ in ds)
      counts.append(f"{split} {n}")
    out(f"loaded {full_name:<27} {', '.join(counts)} (image, label) pairs")


def train_mnist(data_dir: pathlib.Path, epochs: int = 1, out=print):
  """Trains a small Keras CNN on mnist_idx, exactly as a user script would."""
  import tensorflow as tf
  import tensorflow_datasets as tfds

  (train, test), info = tfds.load("mnist_idx", split=["train", "test"], data_dir=data_dir,
                                  as_supervised=True, with_info=True, download=False)

  def scale(image, label):
    return tf.cast(image, tf.float32) / 255.0, label

  train = train.map(scale).shuffle(1024, seed=0).batch(32).prefetch(tf.data.AUTOTUNE)
  test = test.map(scale).batch(32)
  tf.keras.utils.set_random_seed(0)
  model = tf.keras.Sequential([
      tf.keras.Input(shape=info.features["image"].shape),
      tf.keras.layers.Conv2D(16, 3, activation="relu"),
      tf.keras.layers.MaxPooling2D(),
      tf.keras.layers.Flatten(),
      tf.keras.layers.Dense(info.features["label"].num_classes, activation="softmax"),
  ])
  model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
  history = model.fit(train, epochs=epochs, verbose=0, shuffle=False)  # tf.data shuffles
  loss, accuracy = model.evaluate(test, verbose=0)
  out(f"trained a Keras CNN on mnist_idx for {epochs} epoch(s): train loss "
      f"{history.history['loss'][-1]:.4f}, test loss {loss:.4f}, test accuracy {accuracy:.4f} "
      f"({info.splits['train'].num_examples} train / {info.splits['test'].num_examples} test "
      "images)")
  return history, loss, accuracy


def demo(args) -> int:
  import tensorflow_datasets as tfds
  import tfds_builders
  from tfds_builders.builder_base import sample_sources_dir

  tfds.disable_progress_bar()
  sources = pathlib.Path(args.sources) if args.sources else sample_sources_dir()
  with tempfile.TemporaryDirectory(prefix="tfds_builders_demo_") as tmp:
    data_dir = pathlib.Path(args.data_dir) if args.data_dir else pathlib.Path(tmp)
    print(f"tfds_builders {tfds_builders.__version__}: building "
          f"{', '.join(tfds_builders.builder_names())} from the sample sources in {sources}")
    print(f"data dir: {data_dir}")
    built = build_all(data_dir, sources, args.only)
    load_all(built)
    if "mnist_idx" in built:
      train_mnist(data_dir, epochs=args.epochs)
  print("done")
  return 0


def export_command(args) -> int:
  from tfds_builders.export import ExportError, export
  try:
    result = export(args.name, args.split, args.format, args.out, data_dir=args.data_dir,
                    overwrite=args.overwrite)
  except ExportError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"exported {result['examples']} examples of {args.name} {args.split} as {args.format} "
        f"to {args.out}")
  return 0


def pictures_command(args) -> int:
  from tfds_builders.pictures import render_all
  for name, path in render_all(pathlib.Path(args.out), names=args.only).items():
    print(f"rendered {name} -> {path}")
  return 0


def main(argv=None) -> int:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  parser = argparse.ArgumentParser(prog="python -m tfds_builders")
  commands = parser.add_subparsers(dest="command", required=True)
  p = commands.add_parser("demo", help="build every dataset from the bundled sample sources, "
                          "load each, and train a small Keras model on mnist_idx")
  p.add_argument("--data_dir", help="where to build (default: a temporary directory)")
  p.add_argument("--sources", help="folder with one sub-folder of sources per builder "
                 "(default: the bundled sample sources)")
  p.add_argument("--only", nargs="*", help="build only these builders")
  p.add_argument("--epochs", type=int, default=1)
  p.set_defaults(func=demo)
  p = commands.add_parser("export", help="write a built dataset as npz, PNG files, IDX or CSV")
  p.add_argument("name", help="dataset name, with /config if any")
  p.add_argument("--split", required=True)
  p.add_argument("--format", required=True, choices=("npz", "png", "idx", "csv"))
  p.add_argument("--out", required=True, help="output directory (must not exist or be empty)")
  p.add_argument("--data_dir", help="where the dataset was built (TFDS's default otherwise)")
  p.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
  p.set_defaults(func=export_command)
  p = commands.add_parser("pictures", help="render a sample grid per dataset from the sample "
                          "sources (the README's pictures)")
  p.add_argument("--out", default="docs/images")
  p.add_argument("--only", nargs="*", help="only these builders")
  p.set_defaults(func=pictures_command)
  args = parser.parse_args(argv)
  return args.func(args)


if __name__ == "__main__":
  sys.exit(main())
