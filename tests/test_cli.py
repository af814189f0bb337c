"""`tfds build --imports tfds_builders ...` in a subprocess, with networking disabled."""

import os
import pathlib
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401
from tfds_builders.formats.idx import read_idx
from conftest import DUMMY_DATA
from support import loopback

TFDS_CLI = pathlib.Path(sys.executable).parent / "tfds"

def run_tfds_build(tmp_path, *args):
  block = loopback.sitecustomize_dir(tmp_path)
  env = dict(os.environ, PYTHONPATH=str(block), TF_CPP_MIN_LOG_LEVEL="2")
  return subprocess.run([str(TFDS_CLI), "build", "--imports", "tfds_builders", *args],
                        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("file_format", ["tfrecord", "array_record"])
def test_tfds_build_from_manual_dir_without_network(tmp_path, file_format):
  data_dir = tmp_path / "data"
  result = run_tfds_build(tmp_path, "mnist_idx", "--manual_dir", str(DUMMY_DATA / "mnist_idx"),
                          "--data_dir", str(data_dir), "--file_format", file_format)
  assert result.returncode == 0, result.stderr[-3000:]
  built = data_dir / "mnist_idx" / "1.0.0"
  assert sorted(p.name for p in built.iterdir() if "-of-" in p.name) == [
      f"mnist_idx-test.{file_format}-00000-of-00001",
      f"mnist_idx-train.{file_format}-00000-of-00001"]
  builder = tfds.builder("mnist_idx", data_dir=data_dir)
  assert builder.info.splits["train"].num_examples == 24
  assert builder.info.splits["test"].num_examples == 12
  labels = read_idx(DUMMY_DATA / "mnist_idx" / "t10k-labels-idx1-ubyte.gz")
  if file_format == "array_record":
    source = builder.as_data_source(split="test")
    got = sorted(int(source[i]["label"]) for i in range(len(source)))
  else:
    got = sorted(int(ex["label"]) for ex in tfds.as_numpy(builder.as_dataset(split="test")))
  assert got == sorted(labels.tolist())


def test_tfds_build_without_sources_or_network_names_every_url(tmp_path):
  (tmp_path / "empty").mkdir()  # a manual_dir that does not exist would stop the build sooner
  result = run_tfds_build(tmp_path, "mnist_idx", "--data_dir", str(tmp_path / "data"),
                          "--manual_dir", str(tmp_path / "empty"))
  assert result.returncode != 0
  assert "Could not download train-images-idx3-ubyte.gz: every mirror failed." in result.stderr
  for url in ("https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz",
              "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
              "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz"):
    assert f"  - {url}: " in result.stderr
  # Nothing that tfds.load would accept was left behind.
  assert not (tmp_path / "data" / "mnist_idx" / "1.0.0" / "dataset_info.json").exists()


# --- python -m tfds_builders: answers at once, and in one line when a name is wrong ---------------

NO_TENSORFLOW = '''
import sys
sys.modules["tensorflow"] = None  # any import of it now raises ImportError
sys.modules["tensorflow_datasets"] = None
'''


HELP = """\
usage: python -m tfds_builders [-h] {demo,export,pictures,verify} ...

positional arguments:
  {demo,export,pictures,verify}
    demo                build every dataset from the bundled sample sources, load each, and train
                        a small Keras model on mnist_idx
    export              write a built dataset as npz, PNG files, IDX or CSV
    pictures            render a sample grid per dataset from the sample sources (the README's
                        pictures)
    verify              read a built dataset end to end: every shard present, every record's CRC,
                        the counts, every example decodes

options:
  -h, --help            show this help message and exit
"""


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["export", "--help"]])
def test_help_answers_without_loading_tensorflow(tmp_path, argv):
  (tmp_path / "sitecustomize.py").write_text(NO_TENSORFLOW)
  env = dict(os.environ, PYTHONPATH=str(tmp_path), COLUMNS="100")
  result = subprocess.run([sys.executable, "-m", "tfds_builders", *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
  assert (result.returncode, result.stderr) == (0, "")
  prog = " ".join(["python -m tfds_builders", *argv[:-1]])
  assert result.stdout.startswith(f"usage: {prog} [-h]")
  if argv == ["--help"]:
    assert result.stdout == HELP


@pytest.mark.parametrize("name,error", [
    ("mnsit_idx", "no dataset named 'mnsit_idx'; did you mean 'mnist_idx'? (tfds build finds this "
                  "package's datasets only with --imports tfds_builders)"),
    ("imagenet2021", "no dataset named 'imagenet2021'; did you mean 'imagenet2012'? (tfds build "
                     "finds this package's datasets only with --imports tfds_builders)"),
    ("emnist_idx/digts", "emnist_idx has no config 'digts'; did you mean 'emnist_idx/digits'? (its "
                         "configs: byclass, bymerge, balanced, letters, digits, mnist, "
                         "byclass_upright, bymerge_upright, balanced_upright, letters_upright, "
                         "digits_upright, mnist_upright)"),
    ("mnist_idx/digits", "mnist_idx has no configs; use the name 'mnist_idx' alone"),
])
def test_export_of_an_unknown_name_is_one_line_with_the_closest(tmp_path, capsys, name, error):
  from tfds_builders.__main__ import main
  assert main(["export", name, "--split", "train", "--format", "npz",
               "--out", str(tmp_path / "out")]) == 2
  assert capsys.readouterr() == ("", f"error: {error}\n")
  assert not (tmp_path / "out").exists()


NORB_ALONE = "pass the builder name alone (e.g. 'norb_small'), not {!r}"


@pytest.mark.parametrize("name", ["norb_small/mono", "norb_small:1.0.0"])
def test_demo_refuses_a_config_or_version_in_only(capsys, name):
  from tfds_builders.__main__ import main
  assert main(["demo", "--only", name]) == 2
  assert capsys.readouterr() == (
      "", f"error: demo builds every config of a builder: {NORB_ALONE.format(name)}\n")


@pytest.mark.parametrize("name,error", [
    ("nope", "no dataset named 'nope' (tfds build finds this package's datasets only with "
             "--imports tfds_builders)"),
    ("mnsit_idx", "no dataset named 'mnsit_idx'; did you mean 'mnist_idx'? (tfds build finds this "
                  "package's datasets only with --imports tfds_builders)"),
    ("norb_small/mono", "pictures picks the configs of each builder it renders: "
                        + NORB_ALONE.format("norb_small/mono")),
])
def test_pictures_of_an_unknown_name_is_one_line(tmp_path, capsys, name, error):
  from tfds_builders.__main__ import main
  assert main(["pictures", "--only", name, "--out", str(tmp_path / "out")]) == 2
  assert capsys.readouterr() == ("", f"error: {error}\n")
  assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("epochs", ["0", "-3"])
def test_demo_refuses_fewer_than_one_epoch(capsys, epochs):
  from tfds_builders.__main__ import main
  with pytest.raises(SystemExit) as exit_:
    main(["demo", "--only", "mnist_idx", f"--epochs={epochs}"])
  assert exit_.value.code == 2
  out, err = capsys.readouterr()
  assert out == ""
  assert err.splitlines()[-1] == ("python -m tfds_builders demo: error: argument --epochs: must "
                                  f"be an integer >= 1, not {epochs!r}")


def test_demo_with_a_bad_source_file_ends_in_one_error_line(tmp_path, capsys, no_network):
  from tfds_builders.__main__ import main
  sources = tmp_path / "sources"
  (sources / "mnist_idx").mkdir(parents=True)
  for path in (DUMMY_DATA / "mnist_idx").glob("*.gz"):
    (sources / "mnist_idx" / path.name).write_bytes(path.read_bytes())
  cut = sources / "mnist_idx" / "train-images-idx3-ubyte.gz"
  cut.write_bytes(cut.read_bytes()[:cut.stat().st_size // 2])
  assert main(["demo", "--only", "mnist_idx", "--sources", str(sources),
               "--data_dir", str(tmp_path / "data")]) == 2
  last = capsys.readouterr().err.splitlines()[-1]
  assert last.startswith(f"error: {cut}: "), last


def test_without_tensorflow_main_says_so_in_one_line(capsys, monkeypatch):
  import tfds_builders.__main__ as cli

  def no_tensorflow():
    raise ImportError("x")

  monkeypatch.setattr(cli, "register_builders", no_tensorflow)
  assert cli.main(["demo"]) == 2
  assert capsys.readouterr() == ("", "error: x\n")


def test_the_suite_never_reaches_outside_addresses():
  # conftest.only_loopback_network: how long the suite takes must not depend on the machine's DNS.
  import socket
  with pytest.raises(socket.gaierror, match="outside address 'example.com' refused by the tests"):
    socket.getaddrinfo("example.com", 443)
  with socket.socket() as sock, pytest.raises(ConnectionRefusedError,
                                               match="outside address '192.0.2.1' refused"):
    sock.connect(("192.0.2.1", 443))
  assert socket.getaddrinfo("localhost", 80)


def test_child_processes_given_the_guard_reach_only_this_machine(tmp_path):
  # loopback.sitecustomize_dir: what the tfds command, Beam's workers and doc blocks run under.
  script = (
      "import socket\n"
      "for attempt in (lambda: socket.create_connection(('example.com', 443), timeout=5),\n"
      "                lambda: socket.socket().connect(('192.0.2.1', 443))):\n"
      "  try:\n"
      "    attempt()\n"
      "  except OSError as e:\n"
      "    print(type(e).__name__, e)\n"
      "with socket.socket() as server:\n"
      "  server.bind(('127.0.0.1', 0)); server.listen()\n"
      "  socket.create_connection(server.getsockname(), timeout=5).close()\n"
      "  print('loopback connected')\n")
  env = dict(os.environ, PYTHONPATH=str(loopback.sitecustomize_dir(tmp_path)))
  result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60)
  assert (result.returncode, result.stdout) == (0, (
      "gaierror [Errno -2] outside address 'example.com' refused by the tests\n"
      "ConnectionRefusedError outside address '192.0.2.1' refused by the tests\n"
      "loopback connected\n")), result.stderr


def test_verify_help_lists_every_exit_status_without_loading_tensorflow(tmp_path):
  from tfds_builders import verify
  # Any import of TensorFlow in the command's process fails it: --help must not wait for it.
  (tmp_path / "sitecustomize.py").write_text(
      "import sys\n"
      "class NoTensorFlow:\n"
      "  def find_spec(self, name, path=None, target=None):\n"
      "    if name == 'tensorflow':\n"
      "      raise ImportError('--help imported tensorflow')\n"
      "sys.meta_path.insert(0, NoTensorFlow())\n")
  done = subprocess.run([sys.executable, "-m", "tfds_builders", "verify", "--help"],
                        env=dict(os.environ, PYTHONPATH=str(tmp_path)), capture_output=True,
                        text=True, timeout=120)
  assert (done.returncode, done.stderr) == (0, "")
  assert done.stdout.startswith("usage: python -m tfds_builders verify [-h]")
  assert done.stdout.endswith("\n\n" + verify.EXIT_STATUS + "\n")
