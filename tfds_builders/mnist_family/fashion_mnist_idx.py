"""`fashion_mnist_idx`: Fashion-MNIST from its IDX files, a drop-in for the official one."""

from __future__ import annotations

import tensorflow_datasets as tfds

from tfds_builders.mnist_family import idx_base


class FashionMnistIdx(idx_base.IdxImageClassification):
  """Zalando article images (60,000 train, 10,000 test), 28×28 grey, 10 classes."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: mirrors, checksums, local sources, checked IDX."}
  MIRRORS = (
      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
      "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
  )
  SPLIT_FILES = idx_base.MNIST_LAYOUT_FILES  # MNIST's own names, file for file
  CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")
  MANUAL_DOWNLOAD_INSTRUCTIONS = idx_base.split_files_instructions(
      "fashion_mnist_idx", idx_base.MNIST_LAYOUT_FILES)
  DESCRIPTION = (
      "Fashion-MNIST: Zalando's article images, 60,000 train and 10,000 test, 28x28 grey, 10 "
      "classes, read from the original IDX files. Same features, supervised keys and splits as "
      "TFDS's `fashion_mnist`.")
  HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist"
  CITATION = """\
@article{xiao2017fashion,
  title={Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},
  author={Xiao, Han and Rasul, Kashif and Vollgraf, Roland},
  journal={arXiv preprint arXiv:1708.07747},
  year={2017}
}
"""
