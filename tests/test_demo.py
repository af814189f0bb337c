"""The README's first command: `python -m tfds_builders demo`, run as a user runs it, prints one
screen (every dataset built and read back, what the training numbers mean, what to run next) and
nothing on stderr; and `tfds.show_examples` works as the README shows it."""

import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401
from tfds_builders.__main__ import main
from tfds_builders._stderr import StartupLineFilter
from tfds_builders.builder_base import sample_sources_dir
from conftest import DUMMY_DATA, REPO

TRAINED = re.compile(r"^Keras CNN on mnist_idx, 1 epoch: train loss (\d\.\d{4}), test loss "
                     r"(\d\.\d{4}), test accuracy (\d\.\d{4})$")


def shown(path: pathlib.Path) -> str:
  """A path as the demo shows it when run from the repository: relative when below it."""
  relative = os.path.relpath(path, REPO)
  return path.as_posix() if relative.startswith("..") else relative


def test_the_readme_demo_fits_one_screen_and_says_what_its_numbers_mean(tmp_path):
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # a user's shell
  data_dir = tmp_path / "data"
  result = subprocess.run([sys.executable, "-m", "tfds_builders", "demo", "--data_dir",
                           str(data_dir)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  # No TensorFlow start-up lines (the demo drops them on every CPU: see the tests below), no TFDS
  # warnings, no progress bars: nothing but what loading TensorFlow here writes that is none of
  # the known start-up lines (nothing, on the CPUs this was measured on).
  loaded = subprocess.run([sys.executable, "-c", "import tensorflow, tensorflow_datasets"],
                          cwd=REPO, env=dict(env, TF_CPP_MIN_LOG_LEVEL="2"), capture_output=True,
                          text=True, timeout=300)
  assert numbers_masked(result.stderr) == numbers_masked(filtered(loaded.stderr, 4096))
  lines = result.stdout.splitlines()
  # Every config of every builder, one line each, with the examples per split it built (as its
  # dataset_info.json on disk says) and how long that took.
  configs = [f"{name}/{config.name}" if config else name
             for name in tfds_builders.builder_names()
             for config in tfds.builder_cls(name).BUILDER_CONFIGS or [None]]
  built = [(full_name, ", ".join(
      f"{split} {info.num_examples}"
      for split, info in tfds.builder(full_name, data_dir=data_dir).info.splits.items()))
      for full_name in configs]
  assert ("mnist_idx", "train 24, test 12") in built  # what the training line below relies on
  timed = re.compile(r"[ \d]\d\.\d s$")
  assert [timed.sub("<seconds> s", line) for line in lines[:3 + len(built)]] == [
      "tfds_builders 0.1.0: every dataset (every config), built from the bundled sample sources",
      f"  in {sample_sources_dir()} into {data_dir}",
      "  and read back with tfds.load(..., as_supervised=True):",
  ] + [f"  {name:<28} {counts:<34} <seconds> s" for name, counts in built]
  trained = TRAINED.match(lines[3 + len(built)])
  assert trained, lines[3 + len(built)]
  train_loss, test_loss, accuracy = map(float, trained.groups())
  # 10 classes, 24 images, one epoch: the loss stays near ln 10 = 2.30; 12 test images.
  assert 1.5 < train_loss < 3.5 and 1.5 < test_loss < 3.5
  assert round(accuracy * 12, 3) == round(accuracy * 12)
  bin_dir = pathlib.Path(sys.executable).parent
  assert lines[4 + len(built):] == [
      "  24 train / 12 test images are far too few to learn 10 classes: expect chance level, 0.10",
      "next: the real MNIST (add --manual_dir DIR to build from files you already have):",
      f"  {shown(bin_dir / 'tfds')} build --imports tfds_builders mnist_idx",
      '  then in Python: import tfds_builders; tfds.load("mnist_idx", split="train", '
      'as_supervised=True)',
      f"  notebooks: {shown(bin_dir / 'pip')} install -q jupyterlab && {shown(bin_dir / 'jupyter')} "
      "lab notebooks",
  ]
  assert len(lines) == len(built) + 9 <= 40  # one screen


# What TensorFlow 2.21 writes while it loads on an Intel Xeon with AVX-512 and AMX, whatever
# TF_CPP_MIN_LOG_LEVEL says: the oneDNN notice, twice; and with TF_ENABLE_ONEDNN_OPTS=0 the
# cpu_feature_guard notice instead, on two lines.
INTEL_STARTUP = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1764925331.402519   48213 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.\n"
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1764925333.911208   48213 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.\n")
INTEL_STARTUP_WITHOUT_ONEDNN = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1764925412.118904   48377 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX512_FP16 "
    "AVX_VNNI AMX_TILE AMX_INT8 AMX_BF16 FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.\n")
# Lines to show: an error of TensorFlow's own, near misses of the start-up lines (another severity;
# the instructions line alone), a traceback, and a last line with no line break.
SHOWN = (
    "E0000 00:00:1764925335.020117   48213 cpu_allocator_impl.cc:84] Allocation of 8589934592 "
    "exceeds 10% of free system memory.\n"
    "W0000 00:00:1764925333.911208   48213 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with "
    "the appropriate compiler flags.\n"
    "Traceback (most recent call last):\n"
    '  File "<string>", line 1, in <module>\n'
    "OSError: [Errno 28] No space left on device\n"
    "killed")


def filtered(text: str, piece: int) -> str:
  shown = []
  line_filter = StartupLineFilter(shown.append)
  data = text.encode()
  for start in range(0, len(data), piece):
    line_filter.feed(data[start:start + piece])
  line_filter.close()
  return b"".join(shown).decode()


@pytest.mark.parametrize("piece", [1, 7, 4096])  # however the pipe cuts what was written
def test_tensorflow_startup_lines_are_dropped_and_every_other_line_is_kept_as_written(piece):
  assert filtered(INTEL_STARTUP + INTEL_STARTUP_WITHOUT_ONEDNN, piece) == ""
  assert filtered(INTEL_STARTUP + SHOWN[:-6] + INTEL_STARTUP_WITHOUT_ONEDNN + SHOWN[-6:],
                  piece) == SHOWN


def test_the_command_line_drops_startup_lines_written_to_descriptor_2_by_any_writer():
  # TensorFlow's C++ writes to descriptor 2 itself, unseen by sys.stderr: here os.write does, in
  # the child and in one it starts; Python's own stderr goes the same way. The script loads
  # _stderr.py by its path: the package would import TensorFlow, whose own lines on this machine
  # must not decide the outcome.
  script = textwrap.dedent(f"""
      import importlib.util, os, subprocess, sys
      spec = importlib.util.spec_from_file_location(
          "stderr_filter", {str(REPO / "tfds_builders" / "_stderr.py")!r})
      stderr_filter = importlib.util.module_from_spec(spec)
      spec.loader.exec_module(stderr_filter)
      startup, shown = sys.argv[1:]
      stderr_filter.supervise()
      os.write(2, startup.encode())
      subprocess.run([sys.executable, "-c", "import os, sys; os.write(2, sys.argv[1].encode())",
                      shown[:-6]], check=True)
      os.write(2, startup.encode())
      sys.stderr.write(shown[-6:])
  """)
  startup = INTEL_STARTUP + INTEL_STARTUP_WITHOUT_ONEDNN
  result = subprocess.run([sys.executable, "-c", script, startup, SHOWN], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
  assert (result.returncode, result.stdout, result.stderr) == (0, "", SHOWN)


# Writes INTEL_STARTUP the moment `tensorflow` is first imported, before TensorFlow itself: what
# an AVX-512 CPU shows, reproduced on any CPU.
TENSORFLOW_WRITES_INTEL_STARTUP = f"""
import os, sys
class WritesStartupLines:
  def find_spec(self, name, path=None, target=None):
    if name == "tensorflow":
      sys.meta_path.remove(self)
      os.write(2, {INTEL_STARTUP.encode()!r})
    return None
sys.meta_path.insert(0, WritesStartupLines())
"""


def numbers_masked(text: str) -> str:
  return re.sub(r"\d+", "0", text)


# Both ways setup.py and the README start the command line: the module, and the console script
# pip puts beside the interpreter (the editable install of the README's test command makes it).
COMMAND_LINES = {"module": [sys.executable, "-m", "tfds_builders"],
                 "console script": [str(pathlib.Path(sys.executable).with_name("tfds-builders"))]}


@pytest.mark.parametrize("command_line", sorted(COMMAND_LINES))
def test_the_demo_drops_what_tensorflow_writes_while_it_loads_and_shows_its_error(tmp_path,
                                                                                  command_line):
  # At TF_CPP_MIN_LOG_LEVEL=0 TensorFlow writes start-up lines on many CPUs (cpu_feature_guard's
  # on one with AVX2 and FMA), and INTEL_STARTUP comes first, as on a CPU with AVX-512. The demo's
  # stderr is what the same command writes unfiltered (run in-process), minus exactly the known
  # shapes: whatever else this machine's TensorFlow prints is shown, on both sides.
  (tmp_path / "sitecustomize.py").write_text(TENSORFLOW_WRITES_INTEL_STARTUP)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", PYTHONPATH=str(tmp_path))
  error = ("error: no dataset named 'mnsit_idx'; did you mean 'mnist_idx'? (tfds build finds this "
           "package's datasets only with --imports tfds_builders)\n")
  unfiltered = subprocess.run(
      [sys.executable, "-c", "import sys; from tfds_builders.__main__ import main; "
       "sys.exit(main(['demo', '--only', 'mnsit_idx']))"],
      env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
  assert (unfiltered.returncode, unfiltered.stdout) == (2, "")
  assert unfiltered.stderr.startswith(INTEL_STARTUP) and unfiltered.stderr.endswith(error)
  # The parent that filters must not load TensorFlow: had it, INTEL_STARTUP would reach stderr.
  result = subprocess.run(COMMAND_LINES[command_line] + ["demo", "--only", "mnsit_idx"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
  assert (result.returncode, result.stdout) == (2, "")
  assert result.stderr.endswith(error)
  assert numbers_masked(result.stderr) == numbers_masked(filtered(unfiltered.stderr, 4096))


def test_demo_only_takes_this_packages_names_and_says_the_closest(capsys):
  assert main(["demo", "--only", "mnsit_idx"]) == 2
  assert capsys.readouterr() == ("", "error: no dataset named 'mnsit_idx'; did you mean "
                                 "'mnist_idx'? (tfds build finds this package's datasets only "
                                 "with --imports tfds_builders)\n")
  # `mnist` is TFDS's own dataset, not one with sample sources here.
  assert main(["demo", "--only", "mnist"]) == 2
  assert capsys.readouterr().err == (
      "error: no dataset named 'mnist'; did you mean 'mnist_idx'? (tfds build finds this "
      "package's datasets only with --imports tfds_builders)\n")


def test_demo_with_only_builds_those(tmp_path, capsys, no_network):
  assert main(["demo", "--only", "mnist_idx", "--data_dir", str(tmp_path)]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert lines[0] == ("tfds_builders 0.1.0: mnist_idx (every config), built from the bundled "
                      "sample sources")
  assert re.fullmatch(r"  mnist_idx {20}train 24, test 12 {18}[ \d]\d\.\d s", lines[3]), lines[3]
  assert TRAINED.match(lines[4]), lines[4]


def test_the_readme_first_command_installs_what_show_examples_needs():
  readme = (REPO / "README.md").read_text(encoding="utf-8")
  first = readme.split("```bash\n", 1)[1].splitlines()[0]
  extras, = re.findall(r"pip install -q -e '\.\[([^\]]*)\]'", first)
  assert extras.split(",") == ["tf-cpu", "notebooks"]
  import importlib.metadata
  assert 'matplotlib>=3.7; extra == "notebooks"' in importlib.metadata.requires("tfds_builders")


@pytest.fixture(scope="module")
def norb_small(tmp_path_factory):
  data_dir = tmp_path_factory.mktemp("data")
  builder = tfds.builder("norb_small", data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=DUMMY_DATA / "norb_small"))
  return data_dir


def test_show_examples_as_the_readme_shows_it(norb_small):
  import matplotlib
  matplotlib.use("Agg")  # no window: the figure is checked, not shown
  ds, info = tfds.load("norb_small", split="train", with_info=True, data_dir=norb_small)
  # Two cameras, two image features: TFDS cannot choose, hence image_key in the README.
  with pytest.raises(ValueError, match=re.escape(
      "Multiple image features detected in the dataset. Use `image_key` argument to override. "
      "Images detected: ['image', 'image2']")):
    tfds.show_examples(ds, info)
  figure = tfds.show_examples(ds, info, image_key="image")
  left_cameras = [example["image"][:, :, 0] for example in tfds.as_numpy(ds)]
  assert len(figure.axes) == len(left_cameras) == 8
  for axes, image in zip(figure.axes, left_cameras):
    assert np.array_equal(axes.images[0].get_array(), image)
