"""`mnist_idx`: MNIST from its IDX files, a drop-in for the official `mnist`."""

from __future__ import annotations

import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders.mnist_family.idx_base import IdxImageClassification

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class MnistIdx(IdxImageClassification):
  """MNIST handwritten digits (60,000 train, 10,000 test), 28×28 grey, labels 0–9."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: mirrors, checksums, local sources, checked IDX."}
  MIRRORS = (
      "https://storage.googleapis.com/cvdf-datasets/mnist/",
      "https://ossci-datasets.s3.amazonaws.com/mnist/",
      "http://yann.lecun.com/exdb/mnist/",
  )
  SPLIT_FILES = _FILES
  NUM_CLASSES = 10
  MANUAL_DOWNLOAD_INSTRUCTIONS = builder_base.local_sources_instructions(
      "mnist_idx", [n for pair in _FILES.values() for n in pair])
  DESCRIPTION = (
      "The MNIST database of handwritten digits, read from the original IDX files. Same features, "
      "supervised keys and splits as TFDS's `mnist`.")
  HOMEPAGE = "http://yann.lecun.com/exdb/mnist/"
  CITATION = """\
@article{lecun2010mnist,
  title={MNIST handwritten digit database},
  author={LeCun, Yann and Cortes, Corinna and Burges, CJ},
  journal={ATT Labs [Online]. Available: http://yann.lecun.com/exdb/mnist},
  volume={2},
  year={2010}
}
"""
