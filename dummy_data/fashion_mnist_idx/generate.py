"""Writes Fashion-MNIST's four gzipped IDX files (MNIST's file names): 20 train, 10 test images.

Labels cycle through 0..9; each image is a glyph of its class name's first letters.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from _common import glyph, write_gzip  # noqa: E402
from tfds_builders.formats.idx import idx_bytes  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SPLITS = {"train": 20, "t10k": 10}
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"]


def main():
  rng = np.random.default_rng(2017)
  for prefix, count in SPLITS.items():
    labels = (np.arange(count) % 10).astype(np.uint8)
    images = np.stack([glyph(NAMES[d][:2], rng=rng, font_size=14) for d in labels])
    write_gzip(HERE / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images))
    write_gzip(HERE / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels))


if __name__ == "__main__":
  main()
