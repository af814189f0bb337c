"""`pip install .` (a real wheel, not the editable install) carries the checksum tables and the
sample sources inside the package, and `import tfds_builders` registers every builder."""

import pathlib
import subprocess
import sys
import zipfile

import tensorflow_datasets as tfds

import tfds_builders

REPO = pathlib.Path(__file__).resolve().parent.parent


def test_wheel_contains_checksums_and_sample_sources(tmp_path):
  subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "-q", "-w", str(tmp_path), str(REPO)], check=True, timeout=300)
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
