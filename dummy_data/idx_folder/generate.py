"""Writes what Datumaro's `mnist` exporter writes for a small dataset, byte for byte
(`datum export -f mnist -- --save-media --save-dataset-meta`; see tfds_builders/formats/idx.py):

- train: 8 images of 28x28 with their indices as ids, one unlabeled (255): the two files only,
  the images header counting 8 x 784 pixels.
- test (written `t10k-...`): 5 images of 28x28, 20x20, 14x22, 28x28 and 9x31 with ids of their
  own (one equal to its index), one unlabeled: `test-meta.gz` holds [id, rows, cols] per item.
- validation: 3 images of 28x28 with ids (one not ASCII): `validation-meta.gz` holds [id].
- small: 4 images of 16x12, their indices as ids: `small-meta.gz` holds [rows, cols].
- `labels.txt` and `dataset_meta.json` naming the classes circle, square, triangle.

The one difference from a real export is the gzip time stamp: Datumaro writes the time of the
export, this script 0 so that regenerating gives the same bytes. `csv_folder/generate.py` exports
the same dataset as CSV.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from _common import glyph  # noqa: E402
from tfds_builders.formats import dataset_meta, idx  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
NAMES = ["circle", "square", "triangle"]
# subset -> one (id, (rows, cols), class index or None) per item.
ITEMS = {
    "train": [(str(i), (28, 28), label)
              for i, label in enumerate([0, 1, 2, 0, None, 1, 2, 0])],
    "test": [("circle_017", (28, 28), 0), ("square_003", (20, 20), 1),
             ("triangle_042", (14, 22), 2), ("3", (28, 28), None), ("square_118", (9, 31), 1)],
    "validation": [("circle/a", (28, 28), 0), ("square/b", (28, 28), 1),
                   ("triangle/\u00fc", (28, 28), 2)],
    "small": [(str(i), (16, 12), label) for i, label in enumerate([2, 1, 0, 2])],
}


def dataset():
  """subset -> (ids, images (each rows x cols uint8), labels (None = no label)), deterministic."""
  rng = np.random.default_rng(2020)
  subsets = {}
  for subset, items in ITEMS.items():
    images = []
    for _, (rows, cols), label in items:
      side = max(rows, cols)
      square = glyph("?" if label is None else NAMES[label][0].upper(), size=side, rng=rng)
      top, left = (side - rows) // 2, (side - cols) // 2
      images.append(np.ascontiguousarray(square[top:top + rows, left:left + cols]))
    subsets[subset] = ([i for i, _, _ in items], images, [label for _, _, label in items])
  return subsets


def main():
  for path in HERE.iterdir():
    if path.is_file() and path.name != "generate.py":
      path.unlink()
  for subset, (ids, images, labels) in dataset().items():
    idx.write_datumaro_subset(HERE, subset, images, [255 if l is None else l for l in labels],
                              ids, mtime=0)
  dataset_meta.write_class_names(HERE, NAMES)


if __name__ == "__main__":
  main()
