"""`pip install .` (a real wheel, not the editable install) carries the checksum tables and the
sample sources inside the package, and `import tfds_builders` registers every builder.

.ci/versions installs that wheel in a clean venv and runs it from outside the checkout, and runs
this file (with TFDS_BUILDERS_INSTALLED=1) in the venvs of the lowest and highest versions allowed.
"""

import os
import pathlib
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest

import tensorflow_datasets as tfds

import tfds_builders

REPO = pathlib.Path(__file__).resolve().parent.parent


def test_wheel_contains_checksums_and_sample_sources(tmp_path):
  # As `python -m build` makes them for an index: the sdist, then the wheel built from the sdist
  # alone, so a file the sdist leaves out is missing from the wheel too. (--no-isolation: with
  # this environment's setuptools, as the tests reach no index.)
  subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path),
                  str(REPO)], check=True, capture_output=True, timeout=300)
  sdist, = tmp_path.glob("tfds_builders-*.tar.gz")
  with tarfile.open(sdist) as archive:
    in_sdist = {name.partition("/")[2] for name in archive.getnames()}
  assert {"setup.py", "README.md", "tfds_builders/__init__.py", "checksums/mnist_idx.tsv",
          "dummy_data/mnist_idx/train-images-idx3-ubyte.gz"} <= in_sdist
  wheel, = tmp_path.glob("tfds_builders-*.whl")
  names = set(zipfile.ZipFile(wheel).namelist())
  for table in (REPO / "checksums").glob("*.tsv"):
    assert f"tfds_builders/checksums/{table.name}" in names
  for source in (REPO / "dummy_data").rglob("*"):
    if source.is_file() and "__pycache__" not in source.parts:
      assert f"tfds_builders/dummy_data/{source.relative_to(REPO / 'dummy_data')}" in names
  assert "tfds_builders/formats/idx.py" in names
  for card in (REPO / "tfds_builders").glob("*/README.md"):
    assert f"tfds_builders/{card.parent.name}/README.md" in names


def test_import_registers_every_builder_without_colliding_with_tfds():
  ours = tfds_builders.builder_names()
  assert "mnist_idx" in ours
  # What TFDS ships, asked in a process that never imported tfds_builders.
  shipped = subprocess.run(
      [sys.executable, "-c", "import tensorflow_datasets as tfds; "
       "print('\\n'.join(tfds.list_builders(with_community_datasets=False)))"],
      check=True, capture_output=True, text=True, timeout=300).stdout.split()
  assert "mnist" in shipped and "smallnorb" in shipped and len(shipped) > 400
  assert not set(ours) & set(shipped)
  for name in ours:
    assert tfds.builder_cls(name).__module__.startswith("tfds_builders.")


@pytest.mark.skipif(not os.environ.get("TFDS_BUILDERS_INSTALLED"),
                    reason="run by .ci/versions, in a venv where the package is installed")
def test_the_installed_package_is_under_test():
  site = pathlib.Path(sysconfig.get_paths()["purelib"]).resolve() / "tfds_builders"
  from tfds_builders import builder_base, download
  assert pathlib.Path(tfds_builders.__file__).resolve() == site / "__init__.py"
  assert builder_base.sample_sources_dir().resolve() == site / "dummy_data"
  assert download.CHECKSUMS_DIR.resolve() == site / "checksums"
  for card in (REPO / "tfds_builders").glob("*/README.md"):  # the dataset cards, as installed
    assert (site / card.parent.name / "README.md").read_bytes() == card.read_bytes()
