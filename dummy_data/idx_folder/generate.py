"""Writes a user's own IDX dataset as Datumaro exports it: `<subset>-images-idx3-ubyte.gz` and
`<subset>-labels-idx1-ubyte.gz` per subset (`t10k` is Datumaro's name for the test subset), 20×20
images, label 255 = no label, and both `labels.txt` and `dataset_meta.json` (which wins).

Subsets: train (9 images, one unlabeled), t10k (4), validation (3, stored uncompressed).
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from _common import glyph, write_gzip  # noqa: E402
from tfds_builders.formats.idx import idx_bytes  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
NAMES = ["circle", "square", "triangle"]
SUBSETS = {"train": 9, "t10k": 4, "validation": 3}


def main():
  rng = np.random.default_rng(2020)
  for subset, count in SUBSETS.items():
    labels = (np.arange(count) % 3).astype(np.uint8)
    images = np.stack([glyph(NAMES[k][0], size=20, rng=rng) for k in labels])
    if subset == "train":
      labels[4] = 255
    if subset == "validation":
      (HERE / f"{subset}-images-idx3-ubyte").write_bytes(idx_bytes(images))
      (HERE / f"{subset}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    else:
      write_gzip(HERE / f"{subset}-images-idx3-ubyte.gz", idx_bytes(images))
      write_gzip(HERE / f"{subset}-labels-idx1-ubyte.gz", idx_bytes(labels))
  (HERE / "labels.txt").write_text("zero\none\ntwo\n")
  (HERE / "dataset_meta.json").write_text(json.dumps(
      {"label_map": {str(i): n for i, n in enumerate(NAMES)}}, indent=2) + "\n")


if __name__ == "__main__":
  main()
