"""`kmnist_idx`: Kuzushiji-MNIST from its IDX files, a drop-in for the official `kmnist`."""

from __future__ import annotations

import tensorflow_datasets as tfds

from tfds_builders.mnist_family import idx_base


class KmnistIdx(idx_base.IdxImageClassification):
  """Cursive Japanese (Kuzushiji) characters, one per Hiragana row (60,000 train, 10,000 test)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: mirrors, checksums, local sources, checked IDX."}
  MIRRORS = ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",)
  SPLIT_FILES = idx_base.MNIST_LAYOUT_FILES  # MNIST's own names, file for file
  # Romanised names of the ten Hiragana, in label order (the official builder's names).
  CLASS_NAMES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
  MANUAL_DOWNLOAD_INSTRUCTIONS = idx_base.split_files_instructions(
      "kmnist_idx", idx_base.MNIST_LAYOUT_FILES)
  DESCRIPTION = (
      "Kuzushiji-MNIST: 70,000 28x28 grey images of cursive Japanese characters, one character "
      "for each of the 10 rows of Hiragana, read from the original IDX files. Same features, "
      "supervised keys and splits as TFDS's `kmnist`.")
  HOMEPAGE = "http://codh.rois.ac.jp/kmnist/index.html.en"
  CITATION = """\
@online{clanuwat2018deep,
  author = {Tarin Clanuwat and Mikel Bober-Irizar and Asanobu Kitamoto and Alex Lamb and
            Kazuaki Yamamoto and David Ha},
  title = {Deep Learning for Classical Japanese Literature},
  date = {2018-12-03},
  year = {2018},
  eprintclass = {cs.CV},
  eprinttype = {arXiv},
  eprint = {cs.CV/1812.01718},
}
"""
