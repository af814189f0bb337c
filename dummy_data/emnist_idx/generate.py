"""Writes EMNIST's `gzip.zip` like the real archive, for all six subsets:
`gzip/emnist-<subset>-<train|test>-<images-idx3|labels-idx1>-ubyte.gz` and
`gzip/emnist-<subset>-mapping.txt`.

Images are stored transposed, as EMNIST stores them (the glyph of the class name, transposed).
Counts differ per subset (train 10+i, test 5+i) so that a builder with a hard-coded table fails.
Letters labels are 1..26, as in the real files.
"""

import io
import pathlib
import sys
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from _common import glyph  # noqa: E402
from tfds_builders.formats.idx import idx_bytes  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
DIGITS = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CLASSES = {
    "byclass": DIGITS + UPPER + "abcdefghijklmnopqrstuvwxyz",
    "bymerge": DIGITS + UPPER + "abdefghnqrt",
    "balanced": DIGITS + UPPER + "abdefghnqrt",
    "letters": "abcdefghijklmnopqrstuvwxyz",
    "digits": DIGITS,
    "mnist": DIGITS,
}
FIRST_LABEL = {"letters": 1}


def gzip_bytes(data: bytes) -> bytes:
  import gzip
  buf = io.BytesIO()
  with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
    f.write(data)
  return buf.getvalue()


def add(z: zipfile.ZipFile, name: str, data: bytes) -> None:
  info = zipfile.ZipInfo(name, date_time=(2017, 1, 1, 0, 0, 0))
  info.compress_type = zipfile.ZIP_STORED  # the members are gzip already
  z.writestr(info, data)


def main():
  rng = np.random.default_rng(1919)
  with zipfile.ZipFile(HERE / "gzip.zip", "w") as z:
    for i, (subset, names) in enumerate(CLASSES.items()):
      first = FIRST_LABEL.get(subset, 0)
      # mapping.txt: "<label> <ASCII code>" per class; for letters EMNIST gives upper and lower.
      mapping = "".join(f"{k + first} {ord(c.upper()) if subset == 'letters' else ord(c)}"
                        + (f" {ord(c)}" if subset == "letters" else "") + "\n"
                        for k, c in enumerate(names))
      add(z, f"gzip/emnist-{subset}-mapping.txt", mapping.encode("ascii"))
      for split, count in (("train", 10 + i), ("test", 5 + i)):
        # A stride through the classes so that the first and the last classes both appear.
        classes = (np.arange(count) * 7) % len(names)
        images = np.stack([glyph(names[k], rng=rng).T for k in classes])
        labels = (classes + first).astype(np.uint8)
        add(z, f"gzip/emnist-{subset}-{split}-images-idx3-ubyte.gz", gzip_bytes(idx_bytes(images)))
        add(z, f"gzip/emnist-{subset}-{split}-labels-idx1-ubyte.gz", gzip_bytes(idx_bytes(labels)))


if __name__ == "__main__":
  main()
