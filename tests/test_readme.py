"""The documentation is a test: every fenced block of README.md, of every page under docs/ (a new
page included, without naming it anywhere) and of the notebooks' markdown cells has a line in
BLOCKS below, and is run as written on the bundled samples (only paths substituted, see PATHS) or
classified as not run, with the reason. Also checked here: every relative link of those pages
resolves (file and heading), the README's Layout names exactly what is there, .ci/run runs
exactly the README's first block, the tested-versions table of docs/install.md agrees with
setup.py and .ci/versions, and setup.py's long description links absolutely.

A new block fails `test_every_block_is_classified` until it has its line in BLOCKS, keyed by
(file, the heading above it, its label): the label is the block's first line that is not an
import or a comment, without its comment (in a fence without a language, its first line),
followed by " #2", " #3" for later blocks of one section with the same label. The failure
prints the key to copy. Then, by the block's kind:
  - Python:              Python()                   options: datasets=, shown=, then=, bucket=
  - bash:                Commands(Run(), NotRun("why"), Equivalent(fn, "why"), ...)
                         one entry per command line (continuations joined, comment lines out)
  - a `$ ...` transcript: Session()                 options: datasets=, setup=
  - anything else:       Text("what it is", check=fn or None)
A path the block uses that PATHS does not map fails the run, naming it: add it to PATHS.

Python blocks and command lines run in children of tests/support/block_runner.py, a server that
imports TensorFlow and TFDS once and forks a fresh process per block (the network refused but for
127.0.0.1, where the GCS emulator answers for `gs://my-bucket/...`).
"""

import dataclasses
import functools
import gzip
import hashlib
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import textwrap
from typing import Callable, Optional

import pytest

from conftest import DUMMY_DATA, REPO
from support import readme_blocks
from support.block_runner import BlockRunner
from support.gcs_emulator import BUCKET, EMULATOR_ENV, bucket  # noqa: F401  (the fixture)

# What the README writes -> what the test uses. Each run block (each line of a bash block) gets
# a data dir of its own, which is also TFDS's default data dir (TFDS_DATA_DIR), and, when it
# names the bucket, a folder of its own in the emulator's bucket.
PATHS = {
    "~/imagenet": "{samples}/ilsvrc2012",
    "~/mnist": "{samples}/mnist_idx",
    "~/tensorflow_datasets": "{data_dir}",
    "/data/tfds": "{data_dir}",
    "/tmp/tfds_data": "{data_dir}",
    "/tmp/beam_check": "{tmp}/beam_check",
    "gs://my-bucket": "{bucket}",
}

# TFDS writes a dataset's files through TensorFlow's GCS file system, which reaches an emulator
# only inside the namespace sandbox of tests/support/tf_gcs.py (root, unshare): these blocks read
# their sources from the gcsfs emulator's bucket and write to a local data dir; writing into a
# bucket through TensorFlow's route is tests/test_bucket_builds.py's.
BUCKET_DATA_DIR = {"gs://my-bucket/tfds": "{data_dir}"}
BUCKET_DATA_DIR_REASON = ("the data dir is a local folder here; tests/test_bucket_builds.py builds "
                          "into a gs:// data dir through TensorFlow's own GCS route; the sources "
                          "are read from the emulator's bucket")

IMAGENET_SPLITS = {"train": 21, "validation": 7, "test": 4}
MNIST_SPLITS = {"train": 24, "test": 12}
# What `gsutil -m cp ILSVRC2012_img_train.tar ILSVRC2012_img_val.tar ILSVRC2012_devkit_t12.tar.gz`
# puts in the bucket (no test tar).
IMAGENET_COPIED = ("ilsvrc2012/ILSVRC2012_img_train.tar", "ilsvrc2012/ILSVRC2012_img_val.tar",
                   "ilsvrc2012/ILSVRC2012_devkit_t12.tar.gz")


# --- how a block is classified ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Ci:
  """Run by .ci/run itself, which reads these lines from README.md (checked here)."""


@dataclasses.dataclass(frozen=True)
class Python:
  """Run as a script (a child of the block runner), in a folder holding `dummy_data/` (a link to
  the samples), with a data dir of its own as TFDS_DATA_DIR and MPLBACKEND=Agg. Every statement
  that calls print() and has comments must print exactly its comments (a comment-only line right
  after it continues them)."""
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
  # Put in the block's bucket folder first: folder -> sample files, or folders ("name/").
  bucket: dict = dataclasses.field(default_factory=dict)
  # Paths mapped differently from PATHS in this block, and why.
  paths: dict = dataclasses.field(default_factory=dict)
  paths_reason: str = ""


@dataclasses.dataclass(frozen=True)
class Run:
  """A command line run as written, paths substituted, network refused (`tfds` is the venv's
  TFDS command line, `python -m` the venv's python, each in a child of the block runner). Exit
  code 0 unless `expect` is given."""
  # Dataset name (with config) -> {split: examples} it must have built, in --data_dir (or the
  # default data dir); the file format must be --file_format's when that is given.
  built: dict = dataclasses.field(default_factory=dict)
  # Words appended to the line, and why, when it cannot run exactly as written.
  append: tuple = ()
  append_reason: str = ""
  # Called with the result instead of the exit-code check.
  expect: Optional[Callable] = None
  bucket: dict = dataclasses.field(default_factory=dict)
  paths: dict = dataclasses.field(default_factory=dict)
  paths_reason: str = ""


@dataclasses.dataclass(frozen=True)
class NotRun:
  """Not run, for `reason`. A `tfds build` line is still parsed by TFDS's own flag parser, its
  datasets looked up and its Beam options and runner checked against Beam's, so a renamed
  builder, flag or option fails here too."""
  reason: str


@dataclasses.dataclass(frozen=True)
class Equivalent:
  """Not run as written, for `reason`; `function(words, context)` does the same thing."""
  function: Callable
  reason: str


@dataclasses.dataclass(frozen=True)
class Commands:
  """A bash block: one Run/NotRun/Equivalent per command line, in order."""
  lines: tuple

  def __init__(self, *lines):
    object.__setattr__(self, "lines", lines)


@dataclasses.dataclass(frozen=True)
class Session:
  """A terminal transcript: each `$ command` is run as a Run line is (in one folder, one data
  dir), stdout and stderr together, and must print exactly the lines after it, paths written
  back as the README writes them; a line `…` stands for any lines. `$ echo $?` prints the exit
  code of the command before it."""
  datasets: tuple = ()  # built from the samples into the data dir first
  setup: Optional[Callable] = None  # called with the data dir before the first command


@dataclasses.dataclass(frozen=True)
class Text:
  """A fenced block that is not code: what it is, and the check that keeps it true (or None)."""
  what: str
  check: Optional[Callable] = None


# --- checks of output examples, listings, and stand-ins for tools ---------------------------------

def matches_download_error_example(result):
  """Offline, `tfds build ... mnist_idx` must fail with the README's DownloadError example: its
  first line, every mirror in its order (with whatever reason the failure had), its advice."""
  [example] = [b for b in readme_blocks.blocks_of(SOURCES_PAGE)
               if b.first_line.startswith("DownloadError:")]
  lines = example.text.splitlines()
  assert result.returncode != 0, result
  assert re.search(r"\bDownloadError: " + re.escape(lines[0].split(": ", 1)[1]) + "$",
                   result.stderr, re.M), result
  urls = [re.match(r"  - (\S+): ", line)[1] for line in lines[1:-1]]
  assert re.findall(r"^  - (\S+): \S.*$", result.stderr, re.M) == urls, result
  assert lines[-1].endswith(" …") and lines[-1][:-2] in result.stderr, result


def download_error_is_checked(block):
  assert [line for how in BLOCKS.values() if isinstance(how, Commands) for line in how.lines
          if getattr(line, "expect", None) is matches_download_error_example], (
      "no command line of the table is checked against the DownloadError example")


def idx_folder_listing_is_the_samples(block):
  """The listing names exactly the files of dummy_data/idx_folder, with each split's count (the
  count in the header of its labels file: IDX magic 0x00000801, then the count, big-endian)."""
  listed = re.findall(r"[\w.-]+\.(?:gz|json|txt)", block.text)
  folder = DUMMY_DATA / "idx_folder"
  assert sorted(listed) == sorted(p.name for p in folder.iterdir() if p.suffix != ".py")
  for line in block.text.splitlines():
    counted = re.search(r"(\d+) images", line)
    if counted:
      labels = re.search(r"([\w-]+-labels-idx1-ubyte\.gz)", line)[1]
      with gzip.open(folder / labels) as f:
        magic, count = struct.unpack(">II", f.read(8))
      assert (magic, count) == (0x801, int(counted[1])), line


# Folders whose every file and folder the Layout must name (the package to the last module).
LAYOUT_COMPLETE = (".ci", "benchmarks", "tests", "tests/support", "tfds_builders",
                   *sorted(str(p.relative_to(REPO)) for p in (REPO / "tfds_builders").rglob("*")
                           if p.is_dir() and p.name != "__pycache__"))
LAYOUT_DESCRIPTION_COLUMN = 27


def layout_entries(text):
  """path -> the Layout line naming it. A line is `NAMES  description`: NAMES (`a.py, b/`, a
  parenthesis an aside) are in the folder of the nearest line above indented two spaces less, a
  name ending in `/` a folder; a line indented to the description column continues one."""
  entries, folders = {}, {0: ""}
  for line in text.splitlines():
    indent = len(line) - len(line.lstrip())
    if not line.strip() or indent >= LAYOUT_DESCRIPTION_COLUMN:
      continue
    assert indent % 2 == 0 and indent // 2 in folders, f"Layout: misplaced line {line!r}"
    names = re.sub(r"\([^)]*\)", "", line.strip().split("  ")[0])
    for name in (n.strip() for n in names.split(",")):
      path = folders[indent // 2] + name
      entries[path.rstrip("/")] = line.strip()
      if name.endswith("/"):
        folders = {**{k: v for k, v in folders.items() if k <= indent // 2}, indent // 2 + 1: path}
  return entries


def layout_is_the_repository(block):
  """Both ways: every file and folder the Layout names exists, and every file and folder of the
  folders in LAYOUT_COMPLETE is named (a new module fails here until the Layout has it)."""
  entries = layout_entries(block.text)
  missing = sorted(path for path in entries if not (REPO / path).exists())
  unnamed = sorted(
      str(path.relative_to(REPO)) for folder in LAYOUT_COMPLETE for path in (REPO / folder).iterdir()
      if path.name != "__pycache__" and path.suffix != ".pyc"
      and str(path.relative_to(REPO)) not in entries)
  assert not missing and not unnamed, (
      "README.md's Layout and the repository differ:\n"
      + "".join(f"  named, but not there: {path}\n" for path in missing)
      + "".join(f"  there, but not named: {path}\n" for path in unnamed))


def is_the_readme_test_command(words, context):
  """The line is the test command of the README's second command (after its install)."""
  second = readme_blocks.command_lines(readme_blocks.blocks_of(README)[0].text)[1]
  assert words == shlex.split(second.split(" && ")[-1]), (words, second)


def ci_would_run(tmp_path, readme_text):
  """What .ci/run, as written, runs for a README of `readme_text`: (exit code, stderr, the
  command lines it hands to `bash -c` in order, each with the TF_CPP_MIN_LOG_LEVEL it had).
  A copy of .ci/run runs beside that README with a `bash` on PATH that only records its command
  (the script itself runs under the real /bin/bash) and a .ci/versions that only records that
  it ran."""
  repo = tmp_path / "repo"
  (repo / ".ci").mkdir(parents=True)
  shutil.copy2(REPO / ".ci/run", repo / ".ci/run")
  (repo / "README.md").write_text(readme_text)
  record = tmp_path / "ran.txt"
  tools = tmp_path / "tools"
  tools.mkdir()
  (tools / "bash").write_text(
      '#!/bin/sh\n[ "$1" = -c ] || exit 97\n'
      f'printf \'%s\\t%s\\n\' "$TF_CPP_MIN_LOG_LEVEL" "$2" >> {shlex.quote(str(record))}\n')
  (repo / ".ci/versions").write_text(
      f"#!/bin/sh\necho .ci/versions >> {shlex.quote(str(record))}\n")
  for script in (tools / "bash", repo / ".ci/versions"):
    script.chmod(0o755)
  result = subprocess.run(["/bin/bash", str(repo / ".ci/run")], capture_output=True, text=True,
                          env=dict(os.environ, PATH=f"{tools}:{os.environ['PATH']}"), timeout=60)
  ran = record.read_text().splitlines() if record.exists() else []
  return result.returncode, result.stderr, ran


def copy_to_the_bucket(words, context):
  """`gsutil -m cp FILE... gs://.../` run in the ImageNet samples folder, through gcsfs."""
  from etils import epath
  assert words[:3] == ["gsutil", "-m", "cp"] and words[-1].endswith("/"), words
  for name in words[3:-1]:
    (epath.Path(words[-1]) / name).write_bytes((DUMMY_DATA / "ilsvrc2012" / name).read_bytes())


def _tfrecord_offsets(path):
  """The byte offset of each record of a TFRecord file (8-byte length, 4-byte CRC, the data,
  4-byte CRC)."""
  data, offsets, at = path.read_bytes(), [], 0
  while at < len(data):
    offsets.append(at)
    at += 16 + int.from_bytes(data[at:at + 8], "little")
  return offsets


def damage_the_copy(data_dir):
  """"one flipped bit in the train shard and the test shard's last 200 bytes lost": the bit is
  the first of record 5's data."""
  built = data_dir / "mnist_idx" / "1.0.0"
  train = built / "mnist_idx-train.tfrecord-00000-of-00001"
  data = bytearray(train.read_bytes())
  data[_tfrecord_offsets(train)[5] + 12] ^= 1
  train.write_bytes(bytes(data))
  test = built / "mnist_idx-test.tfrecord-00000-of-00001"
  test.write_bytes(test.read_bytes()[:-200])


# --- the table ------------------------------------------------------------------------------------

README = "README.md"
DATASETS_PAGE = "docs/datasets.md"
VERIFY_PAGE = "docs/verify.md"
BEAM_PAGE = "docs/beam.md"
SOURCES_PAGE = "docs/sources.md"
TESTING_PAGE = "docs/testing.md"
IDX_FOLDERS = "Your own IDX or CSV folders: `IdxFolder`, `CsvFolder`"
VERIFY = "Checking a built dataset: `verify`"
BEAM = "Apache Beam (distributed generation)"
SOURCES = "Sources: mirrors, your own mirror, files on disk, buckets"
SOURCES_IN_A_BUCKET = "Sources in a bucket (`gs://`)"
ON_A_CLUSTER = ("a cluster runner: needs a real {} (none is reachable from the test machines); "
                "its flags, dataset, Beam options and runner are checked")

BLOCKS = {
    (README, "tfds_builders",
     "python3 -m venv .venv && .venv/bin/pip install -q -e '.[tf-cpu,notebooks]' && "
     ".venv/bin/python -m tfds_builders demo"):
        Ci(),
    (README, "Use", 'ds = tfds.load("mnist_idx", split="train", as_supervised=True)'):
        Python(datasets=("mnist_idx", "norb_small")),
    (README, "Use", "tfds build --imports tfds_builders mnist_idx"):
        Commands(
            Run(expect=matches_download_error_example),  # offline: the documented failure
            Run(built={"mnist_idx": MNIST_SPLITS}),
            Run(built={"mnist_idx": MNIST_SPLITS}, append=("--manual_dir", "~/mnist"),
                append_reason="as written it downloads the real MNIST from the internet"),
        ),
    (VERIFY_PAGE, VERIFY,
     "$ python -m tfds_builders verify mnist_idx --data_dir /tmp/tfds_data"):
        Session(datasets=("mnist_idx",)),
    (VERIFY_PAGE, VERIFY,
     "$ python -m tfds_builders verify mnist_idx --data_dir /tmp/tfds_data #2"):
        Session(datasets=("mnist_idx",), setup=damage_the_copy),
    (VERIFY_PAGE, VERIFY, "$ python -m tfds_builders verify mnist_idx --data_dir /tmp/tfds_data "
                          "--sources --manual_dir dummy_data/mnist_idx"):
        Session(datasets=("mnist_idx",)),
    (DATASETS_PAGE, IDX_FOLDERS, "dataset_meta.json  labels.txt"):
        Text("a folder listing: the files of dummy_data/idx_folder and each split's count",
             check=idx_folder_listing_is_the_samples),
    (DATASETS_PAGE, IDX_FOLDERS, 'b = tfds_builders.IdxFolder("dummy_data/idx_folder")'):
        Python(shown={
            "b.info.splits":
                "', '.join(f'{name} {split.num_examples}' for name, split in sorted(_.items()))",
            "b.info.features":
                "'; '.join([f\"image {_['image'].shape}\" + (': sizes differ' if None in "
                "_['image'].shape else ''), 'label: ' + ', '.join(_['label'].names), "
                "*[k for k in _ if k not in ('image', 'label')]])",
        }, then=textwrap.dedent("""\
            # "CsvFolder("dummy_data/csv_folder") alike": the same splits.
            c = tfds_builders.CsvFolder("dummy_data/csv_folder")
            assert {k: v.num_examples for k, v in c.info.splits.items()} == {
                k: v.num_examples for k, v in b.info.splits.items()}
            # What write_tfds_dataset wrote, tfds.load read back.
            assert sum(1 for _ in ds) == 8
            """)),
    (DATASETS_PAGE, "`norb_small`", 'index = PoseIndex.load("norb_small", split="test")'):
        Python(datasets=("norb_small",), then=textwrap.dedent("""\
            # The pose found is the one asked for (degrees=True), and the turntable is "every
            # azimuth, in order" of one object at one elevation and lighting.
            assert (int(pair["label_category"]), int(pair["instance"]),
                    int(pair["elevation_degrees"]), int(pair["azimuth_degrees"]),
                    int(pair["label_lighting"])) == (4, 5, 60, 20, 0)
            azimuths = [int(e["azimuth_degrees"]) for e in strip]
            assert azimuths == sorted(set(azimuths)) and 20 in azimuths
            assert {(int(e["label_category"]), int(e["instance"]), int(e["elevation_degrees"]),
                     int(e["label_lighting"])) for e in strip} == {(4, 5, 60, 0)}
            """)),
    (DATASETS_PAGE, "`ilsvrc2012`", 'builder = tfds.builder("ilsvrc2012")'):
        Python(shown={"readable_name(builder.info, 0)": None}, then=textwrap.dedent("""\
            # "or ilsvrc2012_raw256": that name is a builder too.
            assert tfds.builder("ilsvrc2012_raw256").name == "ilsvrc2012_raw256"
            """)),
    (DATASETS_PAGE, "`ilsvrc2012_localization`",
     "tfds build --imports tfds_builders ilsvrc2012_localization --manual_dir ~/imagenet"):
        Commands(Run(built={"ilsvrc2012_localization": IMAGENET_SPLITS})),
    (DATASETS_PAGE, "`ilsvrc2012_localization`",
     'ds = tfds.load("ilsvrc2012_localization", split="train",'):
        Python(then=textwrap.dedent("""\
            # The block defines box_aware_crop without applying it: apply it to every example.
            crops = [(crop.shape, int(label)) for crop, label in ds.map(box_aware_crop)]
            assert len(crops) == 21 and all(s[0] > 0 and s[1] > 0 and s[2] == 3 for s, _ in crops)
            """)),
    (BEAM_PAGE, BEAM, "tfds build --imports tfds_builders ilsvrc2012 --manual_dir ~/imagenet "
                      "--data_dir /tmp/beam_check"):
        Commands(Run(built={"ilsvrc2012": IMAGENET_SPLITS})),
    (BEAM_PAGE, BEAM, "tfds build --imports tfds_builders ilsvrc2012 --manual_dir "
                      "gs://my-bucket/imagenet --data_dir gs://my-bucket/tfds"):
        Commands(NotRun(ON_A_CLUSTER.format("Dataflow project")),
                 NotRun(ON_A_CLUSTER.format("Flink cluster")),
                 NotRun(ON_A_CLUSTER.format("Spark cluster"))),
    (BEAM_PAGE, BEAM, "source .venv/bin/activate"):
        Commands(*[NotRun("a worker pool on port 50000 of every interface, left running in the "
                          "background: tests/imagenet/test_ilsvrc2012_portable.py starts the same "
                          "pool on a free port and runs this build on it")] * 3),
    (SOURCES_PAGE, SOURCES,
     "DownloadError: Could not download train-images-idx3-ubyte.gz: every mirror failed."):
        Text("an output example: what the first `tfds build` line of 'Use' prints offline, "
             "checked by that line's run (matches_download_error_example)",
             check=download_error_is_checked),
    (SOURCES_PAGE, SOURCES_IN_A_BUCKET,
     "gsutil -m cp ILSVRC2012_img_train.tar ILSVRC2012_img_val.tar ILSVRC2012_devkit_t12.tar.gz "
     "gs://my-bucket/imagenet/"):
        Commands(
            Equivalent(copy_to_the_bucket,
                       "gsutil's JSON API client is https only and cannot be pointed at the "
                       "plain-http emulator: the same files are copied with gcsfs"),
            Run(built={"ilsvrc2012": {"train": 21, "validation": 7}},
                paths=BUCKET_DATA_DIR, paths_reason=BUCKET_DATA_DIR_REASON),
            Run(built={"mnist_idx": MNIST_SPLITS},
                bucket={"sources/mnist_idx/": ("mnist_idx/",)}),
        ),
    (SOURCES_PAGE, SOURCES_IN_A_BUCKET,
     'builder = tfds.builder("ilsvrc2012", data_dir="gs://my-bucket/tfds")'):
        Python(bucket={"imagenet/": IMAGENET_COPIED},
               paths=BUCKET_DATA_DIR, paths_reason=BUCKET_DATA_DIR_REASON,
               then=textwrap.dedent("""\
                   assert {s: i.num_examples for s, i in builder.info.splits.items()} == {
                       "train": 21, "validation": 7}
                   """)),
    (README, "Layout",
     "README.md, setup.py        this page; the package's setup (extras, the versions CI tests)"):
        Text("the repository's layout, not a command", check=layout_is_the_repository),
    (TESTING_PAGE, "The tests", ".venv/bin/python -m pytest -q tests"):
        Commands(Equivalent(is_the_readme_test_command,
                            "the whole suite, which this test is part of: .ci/run runs it from "
                            "the README's first block (test_ci_runs_the_first_block_itself)")),
    ("notebooks/imagenet_setup.ipynb", "Big machines: Apache Beam",
     "tfds build --imports tfds_builders ilsvrc2012 --manual_dir gs://my-bucket/imagenet "
     "--data_dir gs://my-bucket/tfds"):
        Commands(NotRun(ON_A_CLUSTER.format("Dataflow project"))),
}


# --- the tests ------------------------------------------------------------------------------------

BY_KEY = {block.key: block for block in readme_blocks.all_blocks()}


def test_every_block_is_classified():
  pages = {str(p.relative_to(REPO)) for p in (REPO / "docs").rglob("*.md")}
  assert pages - set(readme_blocks.documents()) == set(), "a page under docs/ is not read"
  assert {README, "docs/datasets.md", "notebooks/mnist_keras.ipynb"} <= set(
      readme_blocks.documents())
  found = [block.key for block in readme_blocks.all_blocks()]
  new = [key for key in found if key not in BLOCKS]
  gone = [key for key in BLOCKS if key not in BY_KEY]
  assert not new and not gone, (
      "BLOCKS must classify every fenced block (see this file's docstring).\n"
      + "".join(f"  new, add a line: {key!r}\n" for key in new)
      + "".join(f"  gone (or its label or heading changed): {key!r}\n" for key in gone))


def test_ci_runs_the_first_block_itself(tmp_path):
  """.ci/run, run as written on this README (its commands recorded, not run): it runs exactly
  the two lines of the README's first block, in order, each as written, then .ci/versions."""
  first = readme_blocks.blocks_of(README)[0]
  assert [k for k, how in BLOCKS.items() if isinstance(how, Ci)] == [first.key], (
      "only README's first block is run by .ci/run")
  lines = readme_blocks.command_lines(first.text)
  assert lines == first.text.splitlines(), "the first block is two bare command lines"
  returncode, stderr, ran = ci_would_run(tmp_path, (REPO / README).read_text())
  assert (returncode, stderr) == (0, "")
  assert ran == [f"2\t{line}" for line in lines] + [".ci/versions"]
  assert len(lines) == 2 and "tfds_builders demo" in lines[0]
  assert lines[1].endswith(" && .venv/bin/python -m pytest -q tests")


@pytest.mark.parametrize("block, message", [
    ("one\ntwo\nthree -m pytest\n", "README.md must start with a bash block of exactly two commands"),
    ("one -m pytest\ntwo\n", "README.md's second command must run the tests with pytest"),
], ids=["three commands", "no pytest second"])
def test_ci_refuses_a_first_block_it_would_misread(tmp_path, block, message):
  returncode, stderr, ran = ci_would_run(tmp_path, f"# t\n\n```bash\n{block}```\n")
  assert (returncode, stderr, ran) == (1, message + "\n", [])


def test_relative_links_of_every_page_resolve():
  """Every relative link and image of README.md, docs/*.md and the notebooks' markdown names a
  file or folder that exists, and a heading of that page for a `#anchor`."""
  broken = []
  for document in readme_blocks.documents():
    for number, target in readme_blocks.links_of(document):
      if re.match(r"[a-z][a-z0-9+.-]*:", target):
        continue
      path, _, anchor = target.partition("#")
      resolved = (REPO / document).parent / path if path else REPO / document
      if not resolved.exists():
        broken.append(f"{document}:{number}: {target}: no such file")
      elif anchor and resolved.suffix == ".md" and anchor not in readme_blocks.anchors_of(
          str(resolved.resolve().relative_to(REPO))):
        broken.append(f"{document}:{number}: {target}: no heading #{anchor} there")
  assert not broken, "\n".join(broken)


def test_github_anchors():
  assert [readme_blocks.github_anchor(title) for title in (
      "Sources in a bucket (`gs://`)", "`fashion_mnist_idx`, `kmnist_idx`",
      "What a bare `tfds build NAME` builds", "Beam, engines, JAX")] == [
      "sources-in-a-bucket-gs", "fashion_mnist_idx-kmnist_idx",
      "what-a-bare-tfds-build-name-builds", "beam-engines-jax"]


def _setup_py_requirements():
  """setup.py's requirements (install_requires and [tf-cpu], the ones .ci/versions installs),
  read from its REQUIRES and EXTRAS as written."""
  import ast
  from packaging.requirements import Requirement
  values = {}
  for node in ast.parse((REPO / "setup.py").read_text()).body:
    if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] in (
        ["REQUIRES"], ["EXTRAS"]):
      values[node.targets[0].id] = ast.literal_eval(node.value)
  return {Requirement(r).name: Requirement(r).specifier
          for r in values["REQUIRES"] + values["EXTRAS"]["tf-cpu"]}


def test_the_versions_table_is_what_setup_py_allows_and_ci_reports():
  from packaging.version import Version
  names, table = readme_blocks.versions_table()
  [reported] = re.findall(r"\nnames = (\[[^\]]*\])", (REPO / ".ci/versions").read_text())
  assert names == eval(reported), "the table's columns must be the names .ci/versions reports"  # noqa: S307
  assert sorted(table) == ["highest", "lowest"]
  requirements = _setup_py_requirements()
  for name in names:
    lowest, highest = Version(table["lowest"][name]), Version(table["highest"][name])
    assert lowest <= highest, name
    if name in requirements:
      specifier = requirements[name]
      assert lowest in specifier and highest in specifier, (name, str(specifier))
      [floor] = [Version(s.version) for s in specifier if s.operator == ">="]
      assert lowest.release[:len(floor.release)] == floor.release, (
          f"{name}: lowest {lowest} is not setup.py's floor {floor}")
  # What .ci/versions prints for the table's own values is no difference; one other version is.
  line = "[versions] lowest: " + ", ".join(f"{n} {v}" for n, v in table["lowest"].items())
  assert readme_blocks.versions_table_differences([line]) == []
  changed = line.replace(f"scipy {table['lowest']['scipy']}", "scipy 9.9.9")
  assert readme_blocks.versions_table_differences([changed]) == [
      f"docs/install.md: lowest scipy is {table['lowest']['scipy']} in the table; "
      ".ci/versions resolved 9.9.9"]


def test_the_long_description_has_absolute_links():
  """What a package index shows: setup.py's long description is the README with every relative
  link and image made absolute under REPOSITORY_URL (images to the raw file), and nothing else
  changed."""
  import ast
  [url] = [ast.literal_eval(node.value) for node in ast.parse((REPO / "setup.py").read_text()).body
           if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "REPOSITORY_URL"]
  shown = subprocess.run([sys.executable, "setup.py", "--long-description"], cwd=REPO,
                         capture_output=True, text=True, check=True, timeout=120).stdout
  readme = (REPO / README).read_text()
  relative = [t for _, t in readme_blocks.links_of(README) if not re.match(r"[a-z]+:", t)]
  assert len(relative) > 20
  links = readme_blocks.links_of(README, markdown=shown)
  assert [t for _, t in links if not t.startswith(url + "/")] == []
  images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", shown)
  assert images and all(i.startswith(f"{url}/raw/main/docs/images/") for i in images)
  for image in images:
    assert (REPO / image.removeprefix(f"{url}/raw/main/")).is_file(), image
  assert re.sub(re.escape(url) + r"/(blob|raw)/main/", "", shown).replace(
      "](README.md#", "](#").rstrip("\n") == readme.rstrip("\n")
  assert readme_blocks.blocks_of(README, markdown=shown) == readme_blocks.blocks_of(README)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
  block_runner = BlockRunner(tmp_path_factory.mktemp("block_runner"),
                             dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  yield block_runner
  block_runner.close()


@pytest.fixture(scope="module")
def prebuilt(runner, tmp_path_factory):
  """name -> the folder of that dataset built from its sample sources (once per module)."""
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


class Context:
  """What running one block needs: the runner, folders of its own, the bucket if it names it."""

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

  def data_dir(self, folder, datasets=()):
    data_dir = folder / "tfds_data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in datasets:
      shutil.copytree(self.request.getfixturevalue("prebuilt")(name),
                      data_dir / name.split("/")[0])
    return data_dir

  def working_dir(self, folder):
    """A folder holding `dummy_data/`, as a checkout does."""
    cwd = folder / "cwd"
    cwd.mkdir(parents=True, exist_ok=True)
    if not (cwd / "dummy_data").exists():
      (cwd / "dummy_data").symlink_to(DUMMY_DATA, target_is_directory=True)
    return cwd

  def fill_bucket(self, contents):
    from etils import epath
    for folder, sources in contents.items():
      for source in sources:
        root = DUMMY_DATA / source
        paths = ([p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix != ".py"]
                 if source.endswith("/") else [root])
        for path in paths:
          relative = path.relative_to(root) if source.endswith("/") else path.name
          target = epath.Path(f"{self.bucket}/{folder}") / relative
          target.parent.mkdir(parents=True, exist_ok=True)
          target.write_bytes(path.read_bytes())

  def values(self, data_dir):
    return {"samples": str(DUMMY_DATA), "data_dir": str(data_dir), "tmp": str(self.tmp),
            "bucket": self.bucket}

  def substitute(self, text, data_dir, how):
    paths = {**PATHS, **getattr(how, "paths", {})}
    assert not getattr(how, "paths", None) or how.paths_reason, "say why paths differ"
    for written in sorted(paths, key=len, reverse=True):
      text = text.replace(written, paths[written].format(**self.values(data_dir)))
    assert "~/" not in text and "my-bucket" not in text, (
        f"a path the test does not substitute (add it to PATHS): {text}")
    return text

  def unsubstitute(self, text, data_dir):
    """Output with the test's paths written back as the block writes them."""
    values = self.values(data_dir)
    written_here = {written: used.format(**values) for written, used in PATHS.items()
                    if written in self.block.text}
    for written, used in sorted(written_here.items(), key=lambda item: -len(item[1])):
      text = text.replace(used, written)
    return text

  def env(self):
    emulator = {k: os.environ[k] for k in (*EMULATOR_ENV, "STORAGE_EMULATOR_HOST")
                if self.bucket and k in os.environ}
    return self.runner.env(MPLBACKEND="Agg", **emulator)


@pytest.mark.parametrize("key", list(BLOCKS), ids=lambda key: "|".join(key))
def test_block(key, tmp_path, request):
  if key not in BY_KEY:
    pytest.fail(f"no such block any more: {key} (see test_every_block_is_classified)")
  block, how = BY_KEY[key], BLOCKS[key]
  context = Context(block, tmp_path, request)
  if isinstance(how, Ci):
    # What .ci/run reads from the README and hands to bash, each line in order: these lines.
    assert block.file == README and block.lang == "bash"
    returncode, stderr, ran = ci_would_run(tmp_path, (REPO / README).read_text())
    assert (returncode, stderr) == (0, ""), stderr
    assert [r.split("\t", 1)[1] for r in ran[:-1]] == readme_blocks.command_lines(block.text)
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
      run_command_line(line, line_how, context, tmp_path / f"line{number}")
  elif isinstance(how, Session):
    run_session(block, how, context)
  else:
    raise AssertionError(f"unknown classification {how!r}")


def run_python_block(block, how, context):
  data_dir = context.data_dir(context.tmp, how.datasets)
  cwd = context.working_dir(context.tmp)
  if how.bucket:
    context.fill_bucket(how.bucket)
  source = context.substitute(block.text, data_dir, how)
  assert source.count("\n") == block.text.count("\n")
  lines = block.text.splitlines()
  codes = [code.strip() for code in readme_blocks.code_lines(block.text)]
  shown = {}
  for code, render in how.shown.items():
    numbers = [n for n, line in enumerate(codes, 1) if line == code]
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
  if isinstance(how, NotRun):
    assert how.reason
    check_not_run(line, context, folder)
    return
  data_dir = context.data_dir(folder)
  if getattr(how, "bucket", None):
    context.fill_bucket(how.bucket)
  words = shlex.split(context.substitute(line, data_dir, how), comments=True)
  if isinstance(how, Equivalent):
    how.function(words, context)
    return
  if how.append:
    assert how.append_reason, "say why words are appended"
    words += shlex.split(context.substitute(shlex.join(how.append), data_dir, how))
  result = context.runner.run_argv(words, cwd=context.working_dir(folder), env=context.env(),
                                   data_dir=data_dir)
  if how.expect:
    how.expect(result)
  else:
    _succeeded(result)
  for name, splits in how.built.items():
    info = _dataset_info(_option(words, "--data_dir") or data_dir, name)
    assert {s["name"]: sum(map(int, s.get("shardLengths", []))) for s in info["splits"]} == splits
    if _option(words, "--file_format"):
      assert info["fileFormat"] == _option(words, "--file_format")


def run_session(block, how, context):
  """Each `$ command` with the lines it must print (a `…` line: any lines)."""
  data_dir = context.data_dir(context.tmp, how.datasets)
  cwd = context.working_dir(context.tmp)
  if how.setup:
    how.setup(data_dir)
  steps = re.split(r"^\$ (.*)\n", block.text, flags=re.M)
  assert steps[0] == "", "a transcript starts with a `$ command` line"
  returncode = None
  for command, expected in zip(steps[1::2], steps[2::2]):
    if command == "echo $?":
      printed = f"{returncode}\n"
    else:
      words = shlex.split(context.substitute(command, data_dir, how), comments=True)
      result = context.runner.run_argv(words, cwd=cwd, env=context.env(), data_dir=data_dir,
                                       merge=True)
      returncode, printed = result.returncode, context.unsubstitute(result.stdout, data_dir)
    pattern = "".join(r"(?:.*\n)*?" if line == "…" else re.escape(line) + r"\n"
                      for line in expected.splitlines())
    assert re.fullmatch(pattern, printed), (
        f"`$ {command}` printed\n{printed}\nnot what the README shows:\n{expected}")


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
import importlib
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
"""


def check_not_run(line, context, folder):
  words = shlex.split(line, comments=True)
  if words[:2] != ["tfds", "build"]:
    return
  result = context.runner.run_python(CHECK_TFDS_LINE.format(words=words), cwd=folder,
                                     env=context.env(), data_dir=context.data_dir(folder))
  _succeeded(result)
