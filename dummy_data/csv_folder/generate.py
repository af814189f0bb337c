"""Writes a user's own MNIST-style CSV dataset in Datumaro's layout: `mnist_train.csv` (8 rows,
with a header), `mnist_unlabeled.csv` (3 rows, every label -1, no header) and `labels.txt`.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from _common import glyph  # noqa: E402
from tfds_builders.formats.mnist_csv import mnist_csv_bytes  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
NAMES = ["cat", "dog"]


def main():
  rng = np.random.default_rng(2021)
  labels = np.arange(8) % 2
  images = np.stack([glyph(NAMES[k][0], rng=rng) for k in labels])
  (HERE / "mnist_train.csv").write_bytes(mnist_csv_bytes(images, labels, header=True))
  images = np.stack([glyph("?", rng=rng) for _ in range(3)])
  (HERE / "mnist_unlabeled.csv").write_bytes(mnist_csv_bytes(images, np.full(3, -1)))
  (HERE / "labels.txt").write_text("\n".join(NAMES) + "\n")


if __name__ == "__main__":
  main()
