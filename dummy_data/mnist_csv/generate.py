"""Writes MNIST in CSV as pjreddie and Datumaro lay it out: `mnist_train.csv` without a header
(12 rows, row 5 labelled -1 = unlabeled) and `mnist_test.csv` with a `label,1x1,...,28x28` header
(6 rows).
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from _common import glyph  # noqa: E402
from tfds_builders.formats.mnist_csv import mnist_csv_bytes  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def main():
  rng = np.random.default_rng(1998)
  for subset, count, header in (("train", 12, False), ("test", 6, True)):
    labels = np.arange(count) % 10
    images = np.stack([glyph(str(d), rng=rng) for d in labels])
    if subset == "train":
      labels[5] = -1
    (HERE / f"mnist_{subset}.csv").write_bytes(mnist_csv_bytes(images, labels, header=header))


if __name__ == "__main__":
  main()
