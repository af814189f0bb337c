"""The MNIST CSV reader: header or not, -1 labels, exact errors naming file, line and problem."""

import numpy as np
import pytest

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import mnist_csv

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
