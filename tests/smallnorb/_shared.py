"""What the smallNORB tests share: the dummy files, their pose table, and built datasets."""

import gzip
import importlib.util
import shutil

import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from tfds_builders.formats.norb import read_norb
from conftest import DUMMY_DATA

SOURCES = DUMMY_DATA / "norb_small"
PREFIXES = {
    "train": "smallnorb-5x46789x9x18x6x2x96x96-training",
    "test": "smallnorb-5x01235x9x18x6x2x96x96-testing",
}


def _generator():
  spec = importlib.util.spec_from_file_location("norb_small_generate", SOURCES / "generate.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


# split -> [(category, instance, elevation, azimuth 0..34, lighting)] in file order: the table
# the dummy files were written from.
POSES = {split: _generator().POSES[prefix] for split, prefix in PREFIXES.items()}


def source_arrays(split):
  """(dat N×2×96×96, cat N, info N×4) of a split's dummy files."""
  return tuple(read_norb(SOURCES / f"{PREFIXES[split]}-{kind}.mat.gz")
               for kind in ("dat", "cat", "info"))


def build(data_dir, config, manual_dir=SOURCES, **kwargs):
  builder = tfds.builder(f"norb_small/{config}", data_dir=data_dir, **kwargs)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=manual_dir, download_mode=tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS))
  return builder


def copy_sources(dest, gunzip=False):
  """The six dummy files copied to dest (decompressed, under the `.mat` names, if gunzip)."""
  dest.mkdir(parents=True, exist_ok=True)
  for path in SOURCES.glob("*.mat.gz"):
    if gunzip:
      (dest / path.name[:-3]).write_bytes(gzip.decompress(path.read_bytes()))
    else:
      shutil.copy(path, dest / path.name)
  return dest


def by_id(builder, split):
  """Every example of a split as numpy dicts, grouped by their `id`."""
  out = {}
  for ex in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)):
    out.setdefault(ex["id"].decode(), []).append(ex)
  return out
