"""Writes Kuzushiji-MNIST's four gzipped IDX files (MNIST's file names): 20 train, 10 test.

Labels run 9, 8, ..., 0, 9, ... (reverse order, unlike the other generators, so a builder that
ignored the labels file could not pass); each image is a glyph of the romanised class name.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from _common import glyph, write_gzip  # noqa: E402
from tfds_builders.formats.idx import idx_bytes  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SPLITS = {"train": 20, "t10k": 10}
NAMES = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


def main():
  rng = np.random.default_rng(2018)
  for prefix, count in SPLITS.items():
    labels = (9 - np.arange(count) % 10).astype(np.uint8)
    images = np.stack([glyph(NAMES[d], rng=rng, font_size=14) for d in labels])
    write_gzip(HERE / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images))
    write_gzip(HERE / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels))


if __name__ == "__main__":
  main()
