"""Writes what Datumaro's `mnist_csv` exporter writes for the dataset of `idx_folder/generate.py`,
byte for byte (`datum export -f mnist_csv -- --save-media --save-dataset-meta`; see
tfds_builders/formats/mnist_csv.py):

- `mnist_<subset>.csv` for train, test, validation and small: no header, `label,pixels...` per
  item with rows x cols pixel fields (784 only for 28x28), -1 for the unlabeled items;
- `meta_test.csv` (`id,rows,cols`), `meta_validation.csv` (`id`), `meta_small.csv`
  (`rows,cols`): the subsets whose ids or sizes are not the defaults;
- `labels.txt` and `dataset_meta.json`.
"""

import importlib.util
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the repository
from tfds_builders.formats import dataset_meta, mnist_csv  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def _idx_folder_generator():
  spec = importlib.util.spec_from_file_location(
      "idx_folder_generate", HERE.parent / "idx_folder" / "generate.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def main():
  source = _idx_folder_generator()
  for path in HERE.iterdir():
    if path.is_file() and path.name != "generate.py":
      path.unlink()
  for subset, (ids, images, labels) in source.dataset().items():
    mnist_csv.write_datumaro_subset(HERE, subset, images,
                                    [-1 if l is None else l for l in labels], ids)
  dataset_meta.write_class_names(HERE, source.NAMES)


if __name__ == "__main__":
  main()
