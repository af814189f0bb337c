"""The MNIST CSV reader: header or not, -1 labels, exact errors naming file, line and problem."""

import numpy as np
import pytest

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import mnist_csv
from tfds_builders.formats.dataset_meta import ItemMeta

RNG = np.random.default_rng(7)
IMAGES = RNG.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
LABELS = np.array([3, -1, 0, 9, 1])


def write(tmp_path, text, name="mnist_train.csv"):
  path = tmp_path / name
  path.write_bytes(text if isinstance(text, bytes) else text.encode("ascii"))
  return path


def row(label, pixels=784, value=0):
  return ",".join([str(label)] + [str(value)] * pixels)


@pytest.mark.parametrize("header", [False, True])
def test_round_trip_with_and_without_header(tmp_path, header):
  path = write(tmp_path, mnist_csv.mnist_csv_bytes(IMAGES, LABELS, header=header))
  layout = mnist_csv.read_layout(path)
  assert layout == mnist_csv.CsvLayout(header, 785, (28, 28), 5)
  images, labels = mnist_csv.read_mnist_csv(path)
  np.testing.assert_array_equal(images, IMAGES)
  assert images.dtype == np.uint8
  assert labels.tolist() == [3, -1, 0, 9, 1]


def test_pixel_header_and_crlf_and_blank_lines(tmp_path):
  header = ",".join(["label"] + [f"pixel{i}" for i in range(784)])
  path = write(tmp_path, header + "\r\n" + row(4, value=7) + "\r\n\r\n" + row(5) + "\r\n")
  images, labels = mnist_csv.read_mnist_csv(path)
  assert labels.tolist() == [4, 5]
  assert (images[0] == 7).all() and (images[1] == 0).all()


def test_batches_keep_file_order(tmp_path):
  path = write(tmp_path, mnist_csv.mnist_csv_bytes(IMAGES, LABELS))
  batches = list(mnist_csv.iter_mnist_csv(path, batch_rows=2))
  assert [len(b[1]) for b in batches] == [2, 2, 1]
  np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), IMAGES)


def test_other_square_sizes_and_an_explicit_shape(tmp_path):
  path = write(tmp_path, row(1, pixels=16, value=9) + "\n")
  images, _ = mnist_csv.read_mnist_csv(path)
  assert images.shape == (1, 4, 4)
  images, _ = mnist_csv.read_mnist_csv(path, image_shape=(2, 8))
  assert images.shape == (1, 2, 8)


def error(path, **kwargs):
  with pytest.raises(SourceFormatError) as e:
    mnist_csv.read_mnist_csv(path, **kwargs)
  return str(e.value)


def test_ragged_row(tmp_path):
  path = write(tmp_path, "\n".join([row(1), row(2), row(3, pixels=783)]) + "\n")
  assert error(path) == (f"{path}: line 3 has 784 fields, expected 785 (a label and 784 pixel "
                         "values, as on the first line)")


def test_ragged_row_after_a_header_and_in_a_later_batch(tmp_path):
  lines = ["label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))]
  lines += [row(i % 10) for i in range(5000)] + [row(1, pixels=790)]
  path = write(tmp_path, "\n".join(lines) + "\n")
  assert "line 5002 has 791 fields, expected 785" in error(path)


def test_non_numeric_field(tmp_path):
  bad = row(2).split(",")
  bad[101] = "x7"
  path = write(tmp_path, row(1) + "\n" + ",".join(bad) + "\n")
  assert error(path) == f"{path}: line 2, field 102 (pixel 101): 'x7' is not an integer"


def test_non_numeric_label(tmp_path):
  path = write(tmp_path, row(1) + "\n" + row("seven") + "\n")
  assert error(path) == f"{path}: line 2, field 1 (label): 'seven' is not an integer"


@pytest.mark.parametrize("value", [256, -3])
def test_pixel_outside_0_255(tmp_path, value):
  bad = row(2).split(",")
  bad[5] = str(value)
  path = write(tmp_path, row(1) + "\n" + ",".join(bad) + "\n")
  assert error(path) == (f"{path}: line 2, field 6 (pixel 5): value {value} is outside 0..255")


def test_label_below_minus_one(tmp_path):
  path = write(tmp_path, row(-2) + "\n")
  assert error(path) == (f"{path}: line 1, field 1 (label): -2 is negative; only -1 (no label) "
                         "is allowed below 0")


def test_empty_file_and_header_only(tmp_path):
  empty = write(tmp_path, "", "empty.csv")
  assert error(empty) == f"{empty}: the file is empty: no header and no data rows"
  header_only = write(tmp_path, "label,1x1,1x2\n", "header.csv")
  assert error(header_only) == f"{header_only}: has a header row but no data rows"


def test_not_square_and_wrong_explicit_shape(tmp_path):
  path = write(tmp_path, row(1, pixels=10) + "\n")
  assert error(path) == (f"{path}: rows have 10 pixels, which is not a square image; pass "
                         "image_shape")
  assert error(path, image_shape=(3, 3)) == (
      f"{path}: rows have 10 pixels, expected 9 for 3x3 images")


def test_binary_file_and_missing_file(tmp_path):
  binary = write(tmp_path, b"\x1f\x8b\x08\x00\xff\xfe", "packed.csv")
  assert error(binary).startswith(f"{binary}: not a text CSV file")
  assert error(tmp_path / "missing.csv") == f"{tmp_path / 'missing.csv'}: file not found"


# --- Datumaro's `mnist_csv` layout: rows of rows x cols pixels, `meta_<subset>.csv`, rows
# without images.

SIZES = [(28, 28), (3, 4), (3, 4), (1, 5)]
MIXED = [RNG.integers(0, 256, size, dtype=np.uint8) for size in SIZES]


def datumaro_rows(images, labels) -> str:
  return "".join(",".join([str(l)] + [str(int(v)) for v in im.ravel()]) + "\n"
                 for im, l in zip(images, labels))


def test_rows_of_the_sizes_a_meta_file_gives(tmp_path):
  path = write(tmp_path, datumaro_rows(MIXED, [1, -1, 0, 2]), "mnist_test.csv")
  layout = mnist_csv.read_layout(path, sizes=SIZES)
  assert layout == mnist_csv.CsvLayout(False, 785, None, 4, tuple(SIZES))
  images, labels = mnist_csv.read_mnist_csv(path, sizes=SIZES)
  assert labels.tolist() == [1, -1, 0, 2]
  assert [im.shape for im in images] == SIZES
  for got, want in zip(images, MIXED):
    np.testing.assert_array_equal(got, want)
  # A batch ends where the size changes.
  batches = list(mnist_csv.iter_mnist_csv(path, sizes=SIZES))
  assert [b[0].shape for b in batches] == [(1, 28, 28), (2, 3, 4), (1, 1, 5)]


def test_one_size_from_a_meta_file_is_one_array(tmp_path):
  images = RNG.integers(0, 256, (3, 2, 5), dtype=np.uint8)
  path = write(tmp_path, datumaro_rows(images, [0, 1, 2]))
  got, _ = mnist_csv.read_mnist_csv(path, sizes=[(2, 5)] * 3)
  np.testing.assert_array_equal(got, images)


def test_a_row_that_does_not_fit_its_meta_size(tmp_path):
  path = write(tmp_path, datumaro_rows(MIXED, [1, 1, 1, 1]))
  assert error(path, sizes=[(28, 28), (3, 4), (4, 4), (1, 5)]) == (
      f"{path}: line 3 has 13 fields, expected 17 (a label and 16 pixel values, for the 4x4 "
      "image its meta row gives)")
  assert error(path, sizes=SIZES[:3]) == (
      f"{path}: has 4 rows, but its meta file describes 3 items")


@pytest.mark.parametrize("rows,ids", [(["3", "-1"], None), (["2,None", "7"], ["a", "b"])])
def test_rows_without_image_data_are_refused_by_name(tmp_path, rows, ids):
  # Datumaro writes `label` for an item without an image, `label,None` for an image without data.
  text = datumaro_rows(MIXED[:1], [0]) + "\n".join(rows) + "\n"
  path = write(tmp_path, text)
  with pytest.raises(SourceFormatError) as e:
    mnist_csv.read_layout(path, ids=None if ids is None else ["z"] + ids)
  which = "1, 2" if ids is None else "1 ('a'), 2 ('b')"
  assert e.value.problem == (
      f"items {which} of 3 have no image: their rows hold no pixels (only a label, or "
      "`label,None`), which is how Datumaro writes an item without image data; a dataset of "
      "images needs an image for every item")


def test_a_file_of_labels_only(tmp_path):
  # What Datumaro writes without --save-media.
  path = write(tmp_path, "1\n-1\n0\n")
  assert error(path) == (
      f"{path}: none of its 3 items has an image: their rows hold no pixels (only a label, or "
      "`label,None`), which is how Datumaro writes an item without image data; a dataset of "
      "images needs an image for every item")


@pytest.mark.parametrize("text,ids,sizes", [
    ("a\n1\nb/\u00fc\n", ("a", "1", "b/\u00fc"), None),
    ("28,28\n3,4\n1,5\n", None, ((28, 28), (3, 4), (1, 5))),
    ("x,28,28\n1,3,4\nz,1,5\n", ("x", "1", "z"), ((28, 28), (3, 4), (1, 5))),
])
def test_meta_csv(tmp_path, text, ids, sizes):
  path = tmp_path / "meta_test.csv"
  path.write_bytes(text.encode("utf-8"))
  assert mnist_csv.read_meta(path) == ItemMeta(ids, sizes)
  assert mnist_csv.read_meta(path, 3) == ItemMeta(ids, sizes)


@pytest.mark.parametrize("text,num_items,problem", [
    ("a,1,2\nb,3\n", None, "line 2 has 2 fields, but line 1 has 3; every row of a meta file has "
     "the same columns (an id containing ',' cannot be stored)"),
    ("a,1,2,3\n", None, "line 1 has 4 fields; a meta row is [id], [rows, cols] or "
     "[id, rows, cols]"),
    ("a,1,x\n", None, "line 1: cols 'x' is not a whole number"),
    ("a\nb\n", 3, "has 2 rows, but the subset has 3 items; the meta file describes one row per "
     "item"),
    ("a,28,28\nb,0,0\n", None, "item 1 ('b') of 2 has no image: the meta file gives it the size "
     "0x0, which is how Datumaro writes an item without image data; a dataset of images needs an "
     "image for every item"),
])
def test_meta_csv_faults(tmp_path, text, num_items, problem):
  path = tmp_path / "meta_x.csv"
  path.write_text(text)
  with pytest.raises(SourceFormatError) as e:
    mnist_csv.read_meta(path, num_items)
  assert str(e.value) == f"{path}: {problem}"


def test_write_datumaro_subset(tmp_path):
  paths = mnist_csv.write_datumaro_subset(tmp_path, "test", MIXED, [1, -1, 0, 2],
                                          ["x", "1", "y/\u00fc", "3"])
  assert [p.name for p in paths] == ["mnist_test.csv", "meta_test.csv"]
  assert paths[0].read_text() == datumaro_rows(MIXED, [1, -1, 0, 2])
  assert paths[1].read_bytes() == "x,28,28\n1,3,4\ny/\u00fc,3,4\n3,1,5\n".encode("utf-8")
  paths = mnist_csv.write_datumaro_subset(tmp_path, "train", MIXED[:1], [4], ["0"])
  assert [p.name for p in paths] == ["mnist_train.csv"]
  with pytest.raises(ValueError, match="id 'a,b' cannot be stored in a meta CSV row"):
    mnist_csv.write_datumaro_subset(tmp_path, "bad", MIXED[:1], [4], ["a,b"])
  assert not (tmp_path / "mnist_bad.csv").exists()
