"""Cross-check with Datumaro itself, when it is installed (`pip install datumaro`; optional).

The main tests (test_folder.py, tests/formats/) never need Datumaro: they read the samples in
dummy_data/idx_folder and dummy_data/csv_folder, which their generators write to match Datumaro's
exporters. Here Datumaro exports the generators' dataset, and every file must equal the sample
byte for byte (gzip time stamps aside: Datumaro writes the time of the export); and Datumaro's
importers must read what our `export` writes.
"""

import importlib.util
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

datumaro = pytest.importorskip("datumaro")
from datumaro.components.annotation import AnnotationType, Label  # noqa: E402
from datumaro.components.dataset import Dataset  # noqa: E402
from datumaro.components.dataset_base import DatasetItem  # noqa: E402
from datumaro.components.media import Image  # noqa: E402

import tfds_builders  # noqa: F401,E402
from tfds_builders.export import export  # noqa: E402
from tfds_builders.mnist_family import IdxFolder  # noqa: E402
from conftest import DUMMY_DATA  # noqa: E402


def sample_generator():
  spec = importlib.util.spec_from_file_location("idx_folder_generate",
                                                DUMMY_DATA / "idx_folder" / "generate.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def without_gzip_time(data: bytes) -> bytes:
  return data[:4] + b"\0\0\0\0" + data[8:] if data[:2] == b"\x1f\x8b" else data


@pytest.mark.parametrize("fmt,sample", [("mnist", "idx_folder"), ("mnist_csv", "csv_folder")])
def test_samples_are_what_datumaro_writes(tmp_path, fmt, sample):
  generator = sample_generator()
  items = [DatasetItem(id=item_id, subset=subset, media=Image.from_numpy(image),
                       annotations=[] if label is None else [Label(label)])
           for subset, (ids, images, labels) in generator.dataset().items()
           for item_id, image, label in zip(ids, images, labels)]
  Dataset.from_iterable(items, categories=generator.NAMES).export(
      str(tmp_path), fmt, save_media=True, save_dataset_meta=True)
  ours = sorted(p.name for p in (DUMMY_DATA / sample).iterdir()
                if p.is_file() and p.name != "generate.py")
  assert sorted(p.name for p in tmp_path.iterdir()) == ours
  for name in ours:
    assert without_gzip_time((tmp_path / name).read_bytes()) == without_gzip_time(
        (DUMMY_DATA / sample / name).read_bytes()), name


@pytest.mark.parametrize("fmt,datumaro_format", [("idx", "mnist"), ("csv", "mnist_csv")])
def test_datumaro_reads_our_exports(tmp_path, fmt, datumaro_format):
  """The samples' folder, written as a TFDS dataset, exported again: Datumaro reads each item."""
  IdxFolder(DUMMY_DATA / "idx_folder").write_tfds_dataset("shapes", data_dir=tmp_path / "data")
  generator = sample_generator()
  for subset, (ids, images, labels) in generator.dataset().items():
    out = tmp_path / fmt / subset
    export("shapes", subset, fmt, out, data_dir=tmp_path / "data", progress=False)
    dataset = Dataset.import_from(str(out), datumaro_format)
    assert [c.name for c in dataset.categories()[AnnotationType.label]] == generator.NAMES
    got = {item.id: item for item in dataset}
    assert sorted(got) == sorted(ids)
    for item_id, image, label in zip(ids, images, labels):
      item = got[item_id]
      np.testing.assert_array_equal(item.media.data, image)
      assert [a.label for a in item.annotations] == ([] if label is None else [label])
    shutil.rmtree(out)
  assert "shapes" not in tfds.list_builders()
