"""The README is a test: every fenced block of README.md and of the notebooks' markdown cells is
in BLOCKS below, run as written on the bundled samples (only paths substituted, see PATHS) or
classified as not run, with the reason.

A new block fails `test_every_block_is_classified` until it has its line in BLOCKS, keyed by
(file, the heading above it, its first line):
  - a Python snippet:   Python()  (options: datasets=, shown=, then=, bucket=; see the class)
  - a bash block:       Commands(Run(), ...)  one entry per command line (continuations joined,
                        comment lines left out): Run(...), NotRun("why"), Equivalent(fn, "why")
  - any other fence:    Text("what it is and what checks it", check=fn or None)

Python blocks and `tfds ...` lines run in children of tests/support/block_runner.py, a server
that imports TensorFlow and TFDS once and forks a fresh process per block (the network refused
but for 127.0.0.1, where the GCS emulator answers `gs://my-bucket/...`).
"""

import dataclasses
import functools
import hashlib
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import textwrap
from typing import Callable, Optional

import pytest

from conftest import DUMMY_DATA, REPO
from support import readme_blocks
from support.block_runner import BlockRunner
from support.gcs_emulator import BUCKET, EMULATOR_ENV, bucket  # noqa: F401  (the fixture)

# What the README writes -> what the test uses (each run block gets its own data dir and, when
# it names the bucket, its own folder in the emulator's bucket).
PATHS = {
    "~/imagenet": "{samples}/ilsvrc2012",
    "~/mnist": "{samples}/mnist_idx",
    "~/tensorflow_datasets": "{data_dir}",
    "/data/tfds": "{data_dir}",
    "/tmp/beam_check": "{tmp}/beam_check",
    "gs://my-bucket": "{bucket}",
}

IMAGENET_SPLITS = {"train": 21, "validation": 7, "test": 4}
# What `gsutil -m cp ILSVRC2012_img_train.tar ILSVRC2012_img_val.tar ILSVRC2012_devkit_t12.tar.gz`
# puts in the bucket (no test tar).
IMAGENET_COPIED = ("ilsvrc2012/ILSVRC2012_img_train.tar", "ilsvrc2012/ILSVRC2012_img_val.tar",
                   "ilsvrc2012/ILSVRC2012_devkit_t12.tar.gz")


# --- how a block is classified --------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Ci:
  """Run by .ci/run itself, which reads these lines from README.md (checked here)."""


@dataclasses.dataclass(frozen=True)
class Python:
  """Run as a script (a child of the block runner), in a folder holding `dummy_data/` (a link to
  the samples), with its own TFDS_DATA_DIR and MPLBACKEND=Agg. Every statement that calls
  print() and has comments must print exactly its comments (a comment-only line right after it
  continues them)."""
  # Built from the samples into TFDS_DATA_DIR first, for a snippet that would otherwise download
  # them: `tfds.load(name)` then finds them there.
  datasets: tuple = ()
  # A bare expression's line (its code, without the comment) -> None (its repr) or an
  # expression over `_` rendering its value: the line's comment must be that text, optionally
  # followed by " (an aside)". Evaluated as a REPL would show it.
  shown: dict = dataclasses.field(default_factory=dict)
  # Statements the test runs after the block, in its namespace: what the block's prose promises
  # but the block itself never exercises.
  then: str = ""
  # Put in the block's bucket folder first: folder -> sample files or folders ("name/").
  bucket: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Run:
  """A command line run as written, paths substituted, network refused (`tfds ...` is the venv's
  TFDS command line, in a child of the block runner). Exit code 0 unless `expect` is given."""
  # Dataset name (with config) -> {split: examples} it must have built, in --data_dir (or the
  # default data dir); the file format must be --file_format's when that is given.
  built: dict = dataclasses.field(default_factory=dict)
  # Words appended to the line, with the reason, when it cannot run exactly as written.
  append: tuple = ()
  append_reason: str = ""
  # Called with (result, block) instead of the exit-code check.
  expect: Optional[Callable] = None
  bucket: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class NotRun:
  """Not run, for `reason`. A `tfds build` line is still parsed by TFDS's own flag parser, its
  datasets looked up and its Beam options checked against Beam's, so a renamed builder or flag
  fails here too."""
  reason: str


@dataclasses.dataclass(frozen=True)
class Equivalent:
  """Not run as written because the tool cannot reach the test's stand-ins; `function(words,
  context)` does the same thing."""
  function: Callable
  reason: str


@dataclasses.dataclass(frozen=True)
class Commands:
  """A bash block: one Run/NotRun/Equivalent per command line, in order."""
  lines: tuple

  def __init__(self, *lines):
    object.__setattr__(self, "lines", lines)


@dataclasses.dataclass(frozen=True)
class Text:
  """A fenced block that is not code: what it is, and the check that keeps it true (or None)."""
  what: str
  check: Optional[Callable] = None


# --- checks of output examples and listings ----------------------------------------------------------

def matches_download_error_example(result, block_key=None):
  """Offline, `tfds build ... mnist_idx` must fail with the README's DownloadError example: its
  first line, every mirror in its order (with whatever reason the failure had), its advice."""
  [example] = [b for b in readme_blocks.all_blocks() if b.first_line.startswith("DownloadError:")]
  lines = example.text.splitlines()
  assert result.returncode != 0, result
  assert re.search(r"\bDownloadError: " + re.escape(lines[0].split(": ", 1)[1]) + "$",
                   result.stderr, re.M), result
  urls = [re.match(r"  - (\S+): ", line)[1] for line in lines[1:-1]]
  found = re.findall(r"^  - (\S+): \S.*$", result.stderr, re.M)
  assert found == urls, result
  assert lines[-1].endswith(" …")
  assert lines[-1][:-2] in result.stderr, result


def download_error_is_checked(block):
  uses = [how for how in BLOCKS.values() if isinstance(how, Commands)
          for line in how.lines if getattr(line, "expect", None) is matches_download_error_example]
  assert uses, "no command line of the table is checked against the DownloadError example"


def idx_folder_listing_is_the_samples(block):
  """The listing names exactly the files of dummy_data/idx_folder, with each split's count."""
  from tfds_builders.formats.idx import read_idx
  listed = re.findall(r"[\w.-]+\.(?:gz|json|txt)", block.text)
  folder = DUMMY_DATA / "idx_folder"
  assert sorted(listed) == sorted(p.name for p in folder.iterdir() if p.suffix != ".py")
  for line in block.text.splitlines():
    counted = re.search(r"(\d+) images", line)
    if counted:
      labels = re.search(r"([\w-]+-labels-idx1-ubyte\.gz)", line)[1]
      assert len(read_idx(folder / labels)) == int(counted[1]), line


def layout_names_what_exists(block):
  """Every folder and file the layout names exists (`a/b/, c/` names a/b and a/c), and so does
  every reader it lists in formats/."""
  readers = re.search(r"pure readers \(no TensorFlow\): (.*?)\ntfds_builders/mnist_family",
                      block.text, re.S)[1]
  for name in re.sub(r"\([^)]*\)", "", " ".join(readers.split())).split(","):
    assert (REPO / "tfds_builders/formats" / f"{name.strip()}.py").is_file(), name
  for line in block.text.splitlines():
    first, *others = line.split("  ")[0].strip().split(", ") if line[:1] != " " else [""]
    if first:
      first = REPO / first.replace("<builder>", "mnist_idx")
      assert first.exists(), line
      for other in others:
        assert (first.parent / other).exists(), line


def copy_to_the_bucket(words, context):
  """`gsutil -m cp FILE... gs://.../` from the ImageNet samples folder, through the same GCS
  client the builders use."""
  from etils import epath
  assert words[:3] == ["gsutil", "-m", "cp"] and words[-1].endswith("/"), words
  for name in words[3:-1]:
    (epath.Path(words[-1]) / name).write_bytes((DUMMY_DATA / "ilsvrc2012" / name).read_bytes())


# --- the table ----------------------------------------------------------------------------------------

README = "README.md"
SOURCES_IN_A_BUCKET = "Sources in a bucket (`gs://`)"
IDX_FOLDERS = "Your own IDX or CSV folders: `IdxFolder`, `CsvFolder`"
BEAM = "Apache Beam (distributed generation)"
NOT_ON_A_CLUSTER = ("a cluster runner: needs a real {} (none is reachable from the test "
                    "machines); its flags, dataset and Beam options are checked")

BLOCKS = {
    (README, "tfds_builders",
     "python3 -m venv .venv && .venv/bin/pip install -q -e '.[tf-cpu,notebooks]' && "
     ".venv/bin/python -m tfds_builders demo"):
        Ci(),
    (README, "Use", "import tensorflow_datasets as tfds"):
        Python(datasets=("mnist_idx", "norb_small")),
    (README, "Use", "tfds build --imports tfds_builders mnist_idx                      "
                    "# downloads, with mirror fallback"):
        Commands(
            Run(expect=matches_download_error_example),  # offline: the documented failure
            Run(built={"mnist_idx": {"train": 24, "test": 12}}),
            Run(built={"mnist_idx": {"train": 24, "test": 12}}, append=("--manual_dir", "~/mnist"),
                append_reason="as written it downloads the real MNIST from the internet"),
        ),
    (README, IDX_FOLDERS, "dataset_meta.json  labels.txt"):
        Text("a folder listing: the files of dummy_data/idx_folder and each split's count",
             check=idx_folder_listing_is_the_samples),
    (README, IDX_FOLDERS, "import tensorflow_datasets as tfds"):
        Python(shown={
            "b.info.splits":
                "', '.join(f'{name} {split.num_examples}' for name, split in sorted(_.items()))",
            "b.info.features":
                "'; '.join([f\"image {_['image'].shape}\" + (': sizes differ' if None in "
                "_['image'].shape else ''), 'label: ' + ', '.join(_['label'].names), "
                "*[k for k in _ if k not in ('image', 'label')]])",
        }, then=textwrap.dedent("""\
            # "CsvFolder("dummy_data/csv_folder") alike": the same splits and examples.
            c = tfds_builders.CsvFolder("dummy_data/csv_folder")
            assert {k: v.num_examples for k, v in c.info.splits.items()} == {
                k: v.num_examples for k, v in b.info.splits.items()}
            # write_tfds_dataset kept the splits, and tfds.load read them back.
            assert sum(1 for _ in ds) == 8
            """)),
    (README, "`norb_small`", "from tfds_builders.smallnorb.lookup import PoseIndex"):
        Python(datasets=("norb_small",), then=textwrap.dedent("""\
            # The pose found is the one asked for (degrees=True), and the turntable is "every
            # azimuth, in order" of one object at one elevation and lighting.
            assert (int(pair["label_category"]), int(pair["instance"]),
                    int(pair["elevation_degrees"]), int(pair["azimuth_degrees"]),
                    int(pair["label_lighting"])) == (4, 5, 60, 20, 0)
            azimuths = [int(e["azimuth_degrees"]) for e in strip]
            assert azimuths == sorted(set(azimuths)) and int(pair["azimuth_degrees"]) in azimuths
            assert {(int(e["label_category"]), int(e["instance"]), int(e["elevation_degrees"]),
                     int(e["label_lighting"])) for e in strip} == {(4, 5, 60, 0)}
            """)),
    (README, "`ilsvrc2012`", 'builder = tfds.builder("ilsvrc2012")   # or "ilsvrc2012_raw256"'):
        Python(shown={"readable_name(builder.info, 0)": None}),
    (README, "`ilsvrc2012`",
     "tfds build --imports tfds_builders ilsvrc2012_localization --manual_dir ~/imagenet"):
        Commands(Run(built={"ilsvrc2012_localization": IMAGENET_SPLITS})),
    (README, "`ilsvrc2012`", 'ds = tfds.load("ilsvrc2012_localization", split="train",'):
        Python(then=textwrap.dedent("""\
            # The block defines box_aware_crop without applying it: apply it to every example.
            crops = [(crop.shape, int(label)) for crop, label in ds.map(box_aware_crop)]
            assert len(crops) == 21 and all(s[0] > 0 and s[1] > 0 and s[2] == 3 for s, _ in crops)
            """)),
    (README, BEAM, "tfds build --imports tfds_builders ilsvrc2012 --manual_dir ~/imagenet "
                   "--data_dir /tmp/beam_check \\"):
        Commands(Run(built={"ilsvrc2012": IMAGENET_SPLITS})),
    (README, BEAM, "# Google Cloud Dataflow"):
        Commands(NotRun(NOT_ON_A_CLUSTER.format("Dataflow project")),
                 NotRun(NOT_ON_A_CLUSTER.format("Flink cluster")),
                 NotRun(NOT_ON_A_CLUSTER.format("Spark cluster"))),
    (README, BEAM, "source .venv/bin/activate"):
        Commands(*[NotRun("a worker pool on port 50000 of every interface, left running in the "
                          "background: tests/imagenet/test_ilsvrc2012_portable.py starts the same "
                          "pool on a free port and runs this build on it")] * 3),
    (README, "Sources: mirrors, your own mirror, files on disk, buckets",
     "DownloadError: Could not download train-images-idx3-ubyte.gz: every mirror failed."):
        Text("an output example: what the first `tfds build` line of 'Use' prints offline, "
             "checked by that line's run (matches_download_error_example)",
             check=download_error_is_checked),
    (README, SOURCES_IN_A_BUCKET,
     "gsutil -m cp ILSVRC2012_img_train.tar ILSVRC2012_img_val.tar ILSVRC2012_devkit_t12.tar.gz "
     "gs://my-bucket/imagenet/"):
        Commands(
            Equivalent(copy_to_the_bucket,
                       "gsutil's JSON API client is https only and cannot be pointed at the "
                       "plain-http emulator: the same files are copied with gcsfs"),
            Run(built={"ilsvrc2012": {"train": 21, "validation": 7}}),
            Run(built={"mnist_idx": {"train": 24, "test": 12}},
                bucket={"sources/mnist_idx/": ("mnist_idx/",)}),
        ),
    (README, SOURCES_IN_A_BUCKET,
     'builder = tfds.builder("ilsvrc2012", data_dir="gs://my-bucket/tfds")'):
        Python(bucket={"imagenet/": IMAGENET_COPIED}, then=textwrap.dedent("""\
            assert {s: i.num_examples for s, i in builder.info.splits.items()} == {
                "train": 21, "validation": 7}
            """)),
    (README, "Layout",
     "tfds_builders/formats/     pure readers (no TensorFlow): compression, matrix (IDX and NORB "
     "share"):
        Text("the repository's layout, not a command", check=layout_names_what_exists),
    ("notebooks/imagenet_setup.ipynb", "Big machines: Apache Beam",
     "tfds build --imports tfds_builders ilsvrc2012 --manual_dir gs://my-bucket/imagenet "
     "--data_dir gs://my-bucket/tfds \\"):
        Commands(NotRun(NOT_ON_A_CLUSTER.format("Dataflow project"))),
}


# --- the tests ------------------------------------------------------------------------------------

BY_KEY = {block.key: block for block in readme_blocks.all_blocks()}


def test_every_block_is_classified():
  found = [block.key for block in readme_blocks.all_blocks()]
  assert len(found) == len(set(found)), "two blocks with one key: give one another first line"
  new = [key for key in found if key not in BLOCKS]
  gone = [key for key in BLOCKS if key not in BY_KEY]
  assert not new and not gone, (
      f"blocks without a line in BLOCKS (add one; see this file's docstring): {new}; "
      f"lines in BLOCKS whose block is gone or changed its first line or heading: {gone}")


def test_ci_runs_the_first_block_itself():
  first = readme_blocks.blocks_of(README)[0]
  assert isinstance(BLOCKS.get(first.key), Ci), "only README's first block is run by .ci/run"
  ci = (REPO / ".ci/run").read_text()
  [program] = re.findall(r"awk '([^']*)' README\.md", ci)
  read = subprocess.run(["awk", program, str(REPO / README)], capture_output=True, text=True,
                        check=True).stdout.splitlines()
  assert read == readme_blocks.command_lines(first.text) == first.text.splitlines()
  assert len(read) == 2 and "pytest" in read[1] and "tfds_builders demo" in read[0]
  assert 'bash -c "$command"' in ci  # each line runs as written


class Context:
  """What running one block needs: the runner, a folder of its own, the bucket when it uses it."""

  def __init__(self, block, tmp_path, request):
    self.block, self.tmp, self.request = block, tmp_path, request
    self.bucket = None
    if "gs://my-bucket" in block.text:
      request.getfixturevalue("bucket")
      slug = hashlib.sha1(repr(block.key).encode()).hexdigest()[:10]
      self.bucket = f"gs://{BUCKET}/readme/{slug}"

  @property
  def runner(self):  # started on first use: Text blocks need no TensorFlow
    return self.request.getfixturevalue("runner")

  @property
  def prebuilt(self):
    return self.request.getfixturevalue("prebuilt")

  def fill_bucket(self, contents):
    from etils import epath
    for folder, sources in contents.items():
      for source in sources:
        paths = (sorted(p for p in (DUMMY_DATA / source).rglob("*") if p.is_file()
                        and p.suffix != ".py") if source.endswith("/") else [DUMMY_DATA / source])
        for path in paths:
          relative = path.relative_to(DUMMY_DATA / source) if source.endswith("/") else path.name
          target = epath.Path(f"{self.bucket}/{folder}") / relative
          target.parent.mkdir(parents=True, exist_ok=True)
          target.write_bytes(path.read_bytes())

  def substitute(self, text, data_dir):
    values = {"samples": str(DUMMY_DATA), "data_dir": str(data_dir), "tmp": str(self.tmp),
              "bucket": self.bucket}
    for written in sorted(PATHS, key=len, reverse=True):
      text = text.replace(written, PATHS[written].format(**values))
    assert "~/" not in text and "my-bucket" not in text, (
        f"a path the test does not substitute (add it to PATHS): {text}")
    return text

  def env(self, **extra):
    emulator = {k: os.environ[k] for k in (*EMULATOR_ENV, "STORAGE_EMULATOR_HOST")
                if self.bucket and k in os.environ}
    return self.runner.env(MPLBACKEND="Agg", **emulator, **extra)

  def folder(self, name):
    path = self.tmp / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
  block_runner = BlockRunner(tmp_path_factory.mktemp("block_runner"),
                             dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  yield block_runner
  block_runner.close()


@pytest.fixture(scope="module")
def prebuilt(runner, tmp_path_factory):
  """name -> a data dir holding it, built from its sample sources (once per module)."""
  root = tmp_path_factory.mktemp("prebuilt")

  @functools.lru_cache(maxsize=None)
  def build(name):
    data_dir = root / name.replace("/", "_")
    result = runner.run_python(textwrap.dedent(f"""\
        import tensorflow_datasets as tfds
        import tfds_builders
        builder = tfds.builder({name!r})
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
            manual_dir={str(DUMMY_DATA)!r} + "/" + type(builder).sources_name()))
        """), cwd=root, env=runner.env(), data_dir=data_dir)
    _succeeded(result)
    return data_dir / name.split("/")[0]
  return build


@pytest.mark.parametrize("key", list(BLOCKS), ids=lambda key: f"{key[0]}:{key[2][:60]}")
def test_block(key, tmp_path, request):
  if key not in BY_KEY:
    pytest.fail(f"no such block any more: {key} (see test_every_block_is_classified)")
  block, how = BY_KEY[key], BLOCKS[key]
  context = Context(block, tmp_path, request)
  if isinstance(how, Ci):
    assert block == readme_blocks.blocks_of(README)[0]  # and test_ci_runs_the_first_block_itself
  elif isinstance(how, Text):
    assert block.lang == "", "a Text block is a fence without a language"
    if how.check:
      how.check(block)
  elif isinstance(how, Python):
    assert block.lang == "python"
    run_python_block(block, how, context)
  elif isinstance(how, Commands):
    assert block.lang == "bash"
    lines = readme_blocks.command_lines(block.text)
    assert len(lines) == len(how.lines), (
        f"{len(lines)} command lines, {len(how.lines)} classified: one entry per line {lines}")
    for number, (line, line_how) in enumerate(zip(lines, how.lines), 1):
      run_command_line(line, line_how, context, context.folder(f"line{number}"))
  else:
    raise AssertionError(f"unknown classification {how!r}")


def run_python_block(block, how, context):
  data_dir = context.folder("tfds_data")
  for name in how.datasets:
    shutil.copytree(context.prebuilt(name), data_dir / name.split("/")[0])
  cwd = context.folder("cwd")
  (cwd / "dummy_data").symlink_to(DUMMY_DATA, target_is_directory=True)
  if how.bucket:
    context.fill_bucket(how.bucket)
  source = context.substitute(block.text, data_dir)
  assert source.count("\n") == block.text.count("\n")
  lines = block.text.splitlines()
  shown = {}
  for code, render in how.shown.items():
    numbers = [n for n, line in enumerate(lines, 1) if readme_blocks.code_of_line(line) == code]
    assert len(numbers) == 1, f"`{code}` is not one line of the block"
    shown[str(numbers[0])] = render
  result = context.runner.run_python(source + how.then, cwd=cwd, env=context.env(),
                                     data_dir=data_dir, shown=shown)
  _succeeded(result)
  outputs = {(kind, line): text for kind, line, text in result.outputs}
  for first, _, prints, comments in readme_blocks.statements(block.text):
    if prints and comments:
      assert outputs[("statement", first)].rstrip("\n") == "\n".join(comments), (
          f"line {first} prints what its comments do not say\n{result}")
  comments = readme_blocks.comments_by_line(block.text)
  for number in map(int, shown):
    value = outputs[("shown", number)].rstrip("\n")
    comment = comments.get(number, "")
    assert comment == value or comment.startswith(value + " ("), (
        f"line {number}: `{lines[number - 1].strip()}` shows {value!r}, not what its comment says")


def run_command_line(line, how, context, folder):
  data_dir = folder / "tfds_data"
  if getattr(how, "bucket", None):
    context.fill_bucket(how.bucket)
  if isinstance(how, NotRun):
    assert how.reason
    check_not_run(line, context, folder)
    return
  text = context.substitute(line, data_dir)
  words = shlex.split(text, comments=True)
  if isinstance(how, Equivalent):
    how.function(words, context)
    return
  if how.append:
    assert how.append_reason, "say why words are appended"
    words += shlex.split(context.substitute(shlex.join(how.append), data_dir))
  result = context.runner.run_argv(words, cwd=folder, env=context.env(), data_dir=data_dir)
  if how.expect:
    how.expect(result)
  else:
    _succeeded(result)
  data_dir = _option(words, "--data_dir") or str(data_dir)
  for name, splits in how.built.items():
    info = _dataset_info(data_dir, name)
    assert {s["name"]: sum(map(int, s.get("shardLengths", []))) for s in info["splits"]} == splits
    file_format = _option(words, "--file_format")
    if file_format:
      assert info["fileFormat"] == file_format


def _succeeded(result):
  if result.returncode != 0:
    pytest.fail(f"the block failed: {result}", pytrace=False)


def _option(words, flag):
  for i, word in enumerate(words):
    if word == flag:
      return words[i + 1]
    if word.startswith(flag + "="):
      return word.split("=", 1)[1]
  return None


def _dataset_info(data_dir, name):
  from etils import epath
  found = sorted(epath.Path(data_dir).joinpath(*name.split("/")).glob("*/dataset_info.json"))
  assert len(found) == 1, f"{name} was not built in {data_dir}: {found}"
  return json.loads(found[0].read_text())


CHECK_TFDS_LINE = """\
import importlib, sys
import tensorflow_datasets as tfds
from tensorflow_datasets.scripts.cli import main as cli
command = cli._parse_flags({words!r}).command  # exits 2 naming a flag TFDS does not know
for module in (command.generation.imports or "").split(","):
  if module:
    importlib.import_module(module)
names = command.positional_datasets + command.datasets
assert names, "no dataset named"
for name in names:
  tfds.builder(name)  # an unknown name or config raises
options = command.generation.beam_pipeline_options
if options:
  from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
  from apache_beam.runners.runner import create_runner
  parsed = PipelineOptions([f"--{{o}}" for o in options.split(",")])
  unknown = set(parsed.get_all_options(retain_unknown_options=True)) - set(
      parsed.get_all_options())
  assert not unknown, f"Beam options Beam does not know: {{sorted(unknown)}}"
  create_runner(parsed.view_as(StandardOptions).runner)  # an unknown runner raises
print("checked", names)
"""


def check_not_run(line, context, folder):
  words = shlex.split(line, comments=True)
  if words[:2] != ["tfds", "build"]:
    return
  result = context.runner.run_python(CHECK_TFDS_LINE.format(words=words), cwd=folder,
                                     env=context.env(), data_dir=folder / "tfds_data")
  _succeeded(result)
