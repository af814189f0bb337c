"""Drives TFDS's official MNIST-family builders on local files, for equivalence tests.

The official builders download and gunzip their files, then read the raw IDX bytes with a fixed
header size and an example count from a table. Here `_split_generators` is replaced: it gunzips
the given local files and passes the counts from their headers, so the official decoding runs on
exactly the bytes our builders read.
"""

import gzip
import pathlib
import shutil

import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.image_classification import mnist as official_mnist

from tfds_builders.formats.idx import read_idx_header


def _gunzip(path, dest_dir):
  dest = pathlib.Path(dest_dir) / pathlib.Path(path).name.replace(".gz", "")
  with gzip.open(path, "rb") as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
  return dest


def on_local_files(official_cls, split_files, work_dir):
  """An unregistered subclass of `official_cls` reading `split_files` {split: (images, labels)}."""

  class OnLocalFiles(official_cls, skip_registration=True):

    def _split_generators(self, dl_manager):
      generators = []
      for split, (images, labels) in split_files.items():
        generators.append(tfds.core.SplitGenerator(name=split, gen_kwargs=dict(
            num_examples=read_idx_header(images).num_items,
            data_path=str(_gunzip(images, work_dir)),
            label_path=str(_gunzip(labels, work_dir)))))
      return generators

  OnLocalFiles.__name__ = f"Official{official_cls.__name__}OnLocalFiles"
  return OnLocalFiles


def examples(builder, split):
  return list(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)))


def assert_same_examples(ours, theirs, split, label_offset=0):
  """Both builders key examples by source row, so TFDS stores them in the same order."""
  a, b = examples(ours, split), examples(theirs, split)
  assert len(a) == len(b) > 0
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x["image"], y["image"])
    assert int(x["label"]) + label_offset == int(y["label"])


__all__ = ["official_mnist", "on_local_files", "assert_same_examples", "examples"]
