"""Command line of tfds_builders: `python -m tfds_builders demo` (the README's main job).

Nothing here imports TensorFlow or TFDS at module level: `--help` and a mistyped command answer at
once, and a subcommand loads what it needs when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import pathlib
import sys
import tempfile
import time
import warnings

from tfds_builders._stderr import supervise

# Shown with every name TFDS does not know: `tfds build mnist_idx` without it fails with TFDS's own
# "not found" message, which never says that a package's builders must be imported.
IMPORTS_HINT = "tfds build finds this package's datasets only with --imports tfds_builders"


def register_builders():
  import tfds_builders
  tfds_builders.register_builders()
  return tfds_builders


def dataset_name_error(name: str, choices=None):
  """None if TFDS knows `name` (a dataset, with /config if any), else a one-line message that
  names the closest known name. `choices`, if given, limits the known names (e.g. to ours)."""
  import tensorflow_datasets as tfds
  tfds_builders = register_builders()

  # Our builders come from our own classes (tfds_builders.builder_classes): a name of ours is
  # checked without TFDS importing any official builder module, so a broken one cannot stop it.
  ours = tfds_builders.builder_classes()
  base, _, config = name.partition("/")
  base = base.split(":")[0]
  if choices is not None:
    known = choices
  elif base in ours:
    known = list(ours)
  else:
    # TFDS lists the datasets/ packages by folder name, without importing them; its legacy modules
    # it does import, swallowing their ImportErrors.
    known = sorted(set(tfds.list_builders(with_community_datasets=False)) | set(ours))
  if base not in known:
    # Ours first: a typo of `mnist_idx` should not be answered with the official `mnist`; and an
    # official name is answered with the builder that replaces it (`mnist` -> `mnist_idx`).
    ours = [n for n in ours if n in known]
    close = ([n for n in ours if n == f"{base}_idx"] or difflib.get_close_matches(base, ours, n=1)
             or difflib.get_close_matches(base, known, n=1))
    suggestion = f"; did you mean {close[0]!r}?" if close else ""
    return f"no dataset named {base!r}{suggestion} ({IMPORTS_HINT})"
  if base in ours:
    cls = ours[base]
  else:
    try:
      cls = tfds.builder_cls(base)
    except ImportError as e:  # an official builder whose module is broken (TFDS 4.9.7's
      return f"TFDS cannot import its builder {base!r}: {e}"  # smart_buildings), in one line
  configs = [c.name for c in cls.BUILDER_CONFIGS]
  config = config.split(":")[0].split("/")[0]
  if config and config not in configs:
    if not configs:
      return f"{base} has no configs; use the name {base!r} alone"
    close = difflib.get_close_matches(config, configs, n=1)
    suggestion = f"; did you mean '{base}/{close[0]}'?" if close else ""
    return f"{base} has no config {config!r}{suggestion} (its configs: {', '.join(configs)})"
  return None


def builder_names_error(names, command: str, what: str):
  """None if every name in `names` is one of this package's builders, else a one-line message
  about the first that is not. `command` and `what` (what it does with each builder) explain why a
  name with /config or :version is refused."""
  tfds_builders = register_builders()
  for name in names or ():
    base = name.partition("/")[0].split(":")[0]
    error = dataset_name_error(base, choices=tfds_builders.builder_names())
    if error:
      return error
    if base != name:
      return f"{command} {what}: pass the builder name alone (e.g. {base!r}), not {name!r}"
  return None


def positive_int(text: str) -> int:
  """An argparse type: an integer >= 1."""
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value < 1:
    raise argparse.ArgumentTypeError(f"must be an integer >= 1, not {text!r}")
  return value


@contextlib.contextmanager
def quiet_tensorflow():
  """Silences TFDS's and TensorFlow's logging and warnings, and restores them after.

  Only the command line does this, around its own work: its output is meant to be read in full,
  while the package imported as a library leaves its user's logging as it was.
  """
  from absl import logging as absl_logging
  import logging

  tf_logger = logging.getLogger("tensorflow")
  saved = absl_logging.get_verbosity(), tf_logger.level
  absl_logging.set_verbosity(absl_logging.ERROR)
  tf_logger.setLevel(logging.ERROR)
  try:
    with warnings.catch_warnings():
      for module in ("tensorflow_datasets", "tensorflow", "keras", "absl", "apache_beam"):
        warnings.filterwarnings("ignore", module=module)
      yield
  finally:
    absl_logging.set_verbosity(saved[0])
    tf_logger.setLevel(saved[1])


@contextlib.contextmanager
def stdout_shown_only_on_error():
  """TFDS prints "Downloading and preparing ..." lines to stdout, with no switch to turn them off:
  they are held back, and written to stderr only if the step fails (they say where it was)."""
  captured = io.StringIO()
  try:
    with contextlib.redirect_stdout(captured):
      yield
  except BaseException:
    sys.stderr.write(captured.getvalue())
    raise


def _counts(counts) -> str:
  return ", ".join(f"{split} {n}" for split, n in counts.items())


def _pixel_sum(image, label):
  import tensorflow as tf
  return tf.reduce_sum(tf.cast(image, tf.int64))


def build_all(data_dir: pathlib.Path, sources: pathlib.Path, names=None, out=print):
  """Builds every config of every builder from the sample sources, reads each back with
  tfds.load(..., as_supervised=True) and prints one line per config; returns {full_name: builder}
  of those whose read-back counts match what was built, and of those built but not read back (no
  supervised keys)."""
  import tensorflow_datasets as tfds
  tfds_builders = register_builders()

  built = {}
  classes = tfds_builders.builder_classes()
  for name in names or classes:
    cls = classes[name]
    configs = [c.name for c in cls.BUILDER_CONFIGS] or [None]
    manual_dir = sources / cls.sources_name()  # ilsvrc2012_raw256 reads ilsvrc2012's sources
    if not manual_dir.is_dir():
      raise SystemExit(f"no sample sources for {name} in {manual_dir}")
    for config in configs:
      full_name = f"{name}/{config}" if config else name
      start = time.perf_counter()
      builder = tfds.builder(full_name, data_dir=data_dir)
      with stdout_shown_only_on_error():
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
            manual_dir=manual_dir))
      seconds = time.perf_counter() - start
      made = {split: info.num_examples for split, info in builder.info.splits.items()}
      line = f"  {full_name:<28} {_counts(made):<34} {seconds:4.1f} s"
      if builder.info.supervised_keys is None:
        out(f"{line}  (no supervised keys: not read back)")
        built[full_name] = builder
        continue
      datasets = tfds.load(full_name, split=list(made), data_dir=data_dir, as_supervised=True,
                           download=False)
      # Every image is read and decoded (its pixels are summed, so the decoding cannot be skipped);
      # batches of those sums spare a Python step per example.
      read = {split: sum(len(sums) for sums in ds.map(_pixel_sum).batch(4096))
              for split, ds in zip(made, datasets)}
      if read != made:
        out(f"{line}  but tfds.load read back {_counts(read)}")
        continue
      out(line)
      built[full_name] = builder
  return built


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
  num_classes = info.features["label"].num_classes
  model = tf.keras.Sequential([
      tf.keras.Input(shape=info.features["image"].shape),
      tf.keras.layers.Conv2D(16, 3, activation="relu"),
      tf.keras.layers.MaxPooling2D(),
      tf.keras.layers.Flatten(),
      tf.keras.layers.Dense(num_classes, activation="softmax"),
  ])
  model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
  history = model.fit(train, epochs=epochs, verbose=0, shuffle=False)  # tf.data shuffles
  loss, accuracy = model.evaluate(test, verbose=0)
  n_train, n_test = info.splits["train"].num_examples, info.splits["test"].num_examples
  out(f"Keras CNN on mnist_idx, {epochs} epoch{'s' if epochs != 1 else ''}: train loss "
      f"{history.history['loss'][-1]:.4f}, test loss {loss:.4f}, test accuracy {accuracy:.4f}")
  out(f"  {n_train} train / {n_test} test images are far too few to learn {num_classes} classes: "
      f"expect chance level, {1 / num_classes:.2f}")
  return history, loss, accuracy


def _shown_path(path: pathlib.Path) -> str:
  """`path` relative to the working directory when it lies below it (as `.venv/bin/tfds` in the
  README's command), else absolute."""
  relative = os.path.relpath(path)
  return path.as_posix() if relative.startswith("..") else relative


def next_steps(out=print):
  import tfds_builders
  tfds_cli = pathlib.Path(sys.executable).parent / "tfds"
  tfds_cli = _shown_path(tfds_cli) if tfds_cli.exists() else "tfds"
  notebooks = pathlib.Path(tfds_builders.__file__).resolve().parent.parent / "notebooks"
  out("next: the real MNIST (add --manual_dir DIR to build from files you already have):")
  out(f"  {tfds_cli} build --imports tfds_builders mnist_idx")
  out('  then in Python: import tfds_builders; tfds.load("mnist_idx", split="train", '
      "as_supervised=True)")
  if notebooks.is_dir():
    pip = _shown_path(pathlib.Path(sys.executable).parent / "pip")
    jupyter = _shown_path(pathlib.Path(sys.executable).parent / "jupyter")
    out(f"  notebooks: {pip} install -q jupyterlab && {jupyter} lab {_shown_path(notebooks)}")


def demo(args) -> int:
  with quiet_tensorflow():
    import tensorflow_datasets as tfds
    tfds_builders = register_builders()
    from tfds_builders.builder_base import sample_sources_dir
    from tfds_builders.errors import TfdsBuildersError

    error = builder_names_error(args.only, "demo", "builds every config of a builder")
    if error:
      print(f"error: {error}", file=sys.stderr)
      return 2
    tfds.disable_progress_bar()
    sources = pathlib.Path(args.sources) if args.sources else sample_sources_dir()
    with tempfile.TemporaryDirectory(prefix="tfds_builders_demo_") as tmp:
      data_dir = pathlib.Path(args.data_dir) if args.data_dir else pathlib.Path(tmp)
      what = ", ".join(args.only) if args.only else "every dataset"
      origin = "the sources given" if args.sources else "the bundled sample sources"
      print(f"tfds_builders {tfds_builders.__version__}: {what} (every config), built from "
            f"{origin}")
      print(f"  in {sources} into {data_dir}")
      print("  and read back with tfds.load(..., as_supervised=True):")
      names = args.only or tfds_builders.builder_names()
      try:
        built = build_all(data_dir, sources, names)
      except TfdsBuildersError as e:  # a source file, a download or the --sources folder
        print(f"error: {e}", file=sys.stderr)
        return 2
      classes = tfds_builders.builder_classes()
      expected = sum(len(classes[n].BUILDER_CONFIGS) or 1 for n in names)
      if "mnist_idx" in built:
        train_mnist(data_dir, epochs=args.epochs)
  next_steps()
  return 0 if len(built) == expected else 1


def export_command(args) -> int:
  error = dataset_name_error(args.name)
  if error:
    print(f"error: {error}", file=sys.stderr)
    return 2
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
  error = builder_names_error(args.only, "pictures", "picks the configs of each builder it renders")
  if error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  import tensorflow_datasets as tfds
  from tfds_builders.pictures import render_all
  tfds.disable_progress_bar()
  with quiet_tensorflow(), stdout_shown_only_on_error():
    written = render_all(pathlib.Path(args.out), names=args.only)
  for name, path in written.items():
    print(f"rendered {name} -> {path}")
  return 0


def verify_command(args) -> int:
  """Reads a built dataset end to end (see tfds_builders/verify.py): 0 whole, 1 damaged, 2 when
  there is no such dataset (or manual dir)."""
  error = dataset_name_error(args.name)
  if error is None and args.manual_dir and not args.sources:
    error = "--manual_dir is read only with --sources"
  if error is None and args.sources and not args.manual_dir:
    error = "--sources needs --manual_dir (the folder of source files to check)"
  if error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  from tfds_builders.errors import ManualDirError
  from tfds_builders.verify import DatasetNotFound, verify, verify_sources
  with quiet_tensorflow():
    try:
      status = verify(args.name, args.data_dir)
      if args.sources:
        status = max(status, verify_sources(args.name, args.manual_dir))
    except (DatasetNotFound, ManualDirError) as e:
      print(f"error: {e}", file=sys.stderr)
      return 2
  return status


def main(argv=None) -> int:
  """The command line. Without `argv` (`python -m tfds_builders`, `tfds-builders`), a command runs
  in a child process whose stderr the parent filters (tfds_builders/_stderr.py): TensorFlow's known
  start-up lines are dropped, and whatever else the child writes, up to a crash, is shown. With
  `argv` (a test, a script), it runs here, with stderr untouched."""
  parser = argparse.ArgumentParser(prog="python -m tfds_builders")
  commands = parser.add_subparsers(dest="command", required=True)
  p = commands.add_parser("demo", help="build every dataset from the bundled sample sources, "
                          "load each, and train a small Keras model on mnist_idx")
  p.add_argument("--data_dir", help="where to build (default: a temporary directory)")
  p.add_argument("--sources", help="folder with one sub-folder of sources per builder "
                 "(default: the bundled sample sources)")
  p.add_argument("--only", nargs="*", help="build only these builders")
  p.add_argument("--epochs", type=positive_int, default=1, help="training epochs (at least 1)")
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
  from tfds_builders.verify import EXIT_STATUS  # no TensorFlow: verify imports it when it runs
  p = commands.add_parser("verify", help="read a built dataset end to end: every shard present, "
                          "every record's CRC, the counts, every example decodes",
                          epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("name", help="dataset name, with /config and :version if any")
  p.add_argument("--data_dir", help="where the dataset was built (TFDS's default otherwise); "
                 "gs:// works too")
  p.add_argument("--sources", action="store_true", help="also check the source files in "
                 "--manual_dir against the registered sizes and sha256")
  p.add_argument("--manual_dir", help="the folder of source files --sources checks")
  p.set_defaults(func=verify_command)
  args = parser.parse_args(argv)  # --help and a usage error: answered here, at once
  # Past --help: every subcommand needs the builders registered, which `python -m tfds_builders`
  # skipped when it imported the package (see tfds_builders/__init__.py).
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: no C++ INFO lines
  if argv is None:
    # Some lines TensorFlow writes while it loads ignore TF_CPP_MIN_LOG_LEVEL (the oneDNN notice on
    # CPUs with AVX-512): from here on, the work is done in a child, whose exact start-up lines are
    # dropped by this process, which then ends as the child did.
    supervise()
  try:
    register_builders()
  except ImportError as e:  # TensorFlow or TFDS not installed
    print(f"error: {e}", file=sys.stderr)
    return 2
  return args.func(args)


if __name__ == "__main__":
  sys.exit(main())
