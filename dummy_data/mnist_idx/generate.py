"""Writes MNIST's four gzipped IDX files with digit glyphs: 24 train and 12 test images.

The labels cycle through 0..9 (train: 0,1,...,9,0,1,...), so counts per class are known to tests.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from _common import glyph, write_gzip  # noqa: E402
from tfds_builders.formats.idx import idx_bytes  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SPLITS = {"train": 24, "t10k": 12}


def main():
  rng = np.random.default_rng(2012)
  for prefix, count in SPLITS.items():
    labels = (np.arange(count) % 10).astype(np.uint8)
    images = np.stack([glyph(str(d), rng=rng) for d in labels])
    write_gzip(HERE / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images))
    write_gzip(HERE / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels))


if __name__ == "__main__":
  main()
