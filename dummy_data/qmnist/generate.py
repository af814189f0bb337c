"""Writes QMNIST's files: gzipped idx3 images with idx2-int labels (N×8 int32) for train (24 rows)
and test (10,010 rows: test10k is rows 0..9,999, test50k the last 10), and the xz-compressed xnist
files (16 rows).

The test file has more than 10,000 rows so that the test10k/test50k boundary is the real one; its
images cycle through ten glyphs, which gzip shrinks to a few KB. Label columns: class, HSF series
(0, 1 or 4), writer id, digit index for the writer, NIST class code (30 + class: QMNIST's README
gives 30-39), global NIST index (unique), duplicate (as QMNIST's README says: 0, except for three xnist digits that repeat an
earlier one, where it holds that digit's global index; the qmnist-* files have none), unused (0).
"""

import lzma
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from _common import glyph, write_gzip  # noqa: E402
from tfds_builders.formats.idx import idx_bytes  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
ROWS = {"qmnist-train": 24, "qmnist-test": 10_010, "xnist": 16}
FIRST_NIST_INDEX = {"qmnist-train": 0, "qmnist-test": 100_000, "xnist": 200_000}
# xnist row -> the earlier row it duplicates (same class and pixels).
XNIST_DUPLICATES = {10: 0, 12: 2, 15: 5}


def labels_for(prefix: str, count: int) -> np.ndarray:
  rows = np.arange(count)
  classes = (rows * 3) % 10
  labels = np.zeros((count, 8), dtype=np.int32)
  labels[:, 0] = classes
  labels[:, 1] = np.array([0, 1, 4])[rows % 3]
  labels[:, 2] = 2000 + rows // 20
  labels[:, 3] = rows % 20
  labels[:, 4] = 30 + classes
  labels[:, 5] = FIRST_NIST_INDEX[prefix] + rows
  if prefix == "xnist":
    for row, original in XNIST_DUPLICATES.items():
      labels[row, [0, 4]] = labels[original, [0, 4]]
      labels[row, 6] = labels[original, 5]
  return labels


def main():
  rng = np.random.default_rng(2019)
  glyphs = np.stack([glyph(str(d), rng=rng) for d in range(10)])
  for prefix, count in ROWS.items():
    labels = labels_for(prefix, count)
    if count <= 100:
      images = np.stack([glyph(str(c), rng=rng) for c in labels[:, 0]])
      if prefix == "xnist":
        for row, original in XNIST_DUPLICATES.items():
          images[row] = images[original]
    else:
      images = glyphs[labels[:, 0]]
    if prefix == "xnist":
      (HERE / "xnist-images-idx3-ubyte.xz").write_bytes(lzma.compress(idx_bytes(images)))
      (HERE / "xnist-labels-idx2-int.xz").write_bytes(lzma.compress(idx_bytes(labels)))
    else:
      write_gzip(HERE / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images))
      write_gzip(HERE / f"{prefix}-labels-idx2-int.gz", idx_bytes(labels))


if __name__ == "__main__":
  main()
