"""Writes tiny ILSVRC2012 archives in the real formats, and the same data as an extracted tree.

Seven real WNIDs, chosen so the dummy validation images carry the labels the installed
tensorflow_datasets package gives them (the WNIDs of ILSVRC2012_val_00000001..06 and 01108):

- `ILSVRC2012_img_train.tar`: one inner `<wnid>.tar` per class, 3 JPEGs each (21 images), among them
  `n01739381_1309.JPEG` as a CMYK JPEG, `n02105855_2933.JPEG` as a PNG under a JPEG name (the two
  real quirks, same names as in ImageNet) and one greyscale JPEG.
- `ILSVRC2012_img_val.tar`: flat `ILSVRC2012_val_000000NN.JPEG`, 7 images.
- `ILSVRC2012_img_test_v10102019.tar`: 4 images under `test/`, as the 2019 test archive has them.
- `ILSVRC2012_devkit_t12.tar.gz`: `data/meta.mat` (MATLAB v5, written by scipy) whose ILSVRC2012_IDs
  are NOT in sorted-WNID order, plus one inner WordNet node to be ignored, and
  `data/ILSVRC2012_validation_ground_truth.txt` with 1108 lines (lines of images not in the val tar
  hold ID 1: only lines of present images are read).
- The same images as an extracted tree: `train/<wnid>/`, `val/<wnid>/` (per-class folders),
  `test/`, and the devkit extracted (`ILSVRC2012_devkit_t12/data/`). The builder prefers the
  archives when both are present, so this folder builds from the archives; tests build from the
  tree through a folder holding links to these four only. (Kept at most four levels deep, as the
  package data patterns in setup.py install.)

Words are the real WordNet lemmas; glosses are placeholders (marked as such).
"""

import io
import pathlib
import shutil
import sys
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import numpy as np  # noqa: E402
import scipy.io  # noqa: E402
from PIL import Image  # noqa: E402
from _common import write_gzip  # noqa: E402
# The WordNet lemmas of the 1000 classes in sorted-WNID order, from the table tensorflow_datasets
# ships (the builder reads the same table when there is no devkit).
from tensorflow_datasets.datasets.siscore.labels import IMAGENET_LABELS_LIST as WORDS  # noqa: E402

# WNID -> ILSVRC2012_ID: deliberately not the sorted-WNID order (the real table isn't either).
CLASS_IDS = {
    "n09193705": 1,
    "n02105855": 2,
    "n01751748": 3,
    "n04263257": 4,
    "n01735189": 5,
    "n03125729": 6,
    "n01739381": 7,
}
# Validation image number -> WNID, as in the installed TFDS validation_labels.txt.
VALIDATION = {
    1: "n01751748", 2: "n09193705", 3: "n02105855", 4: "n04263257", 5: "n03125729",
    6: "n01735189", 1108: "n01739381",
}
CMYK_IMAGE = "n01739381_1309.JPEG"
PNG_IMAGE = "n02105855_2933.JPEG"
GREY_IMAGE = "n04263257_53.JPEG"
TRAIN_NUMBERS = {"n01739381": (1309, 21, 400), "n02105855": (2933, 15, 88)}
TEST_COUNT = 4
SIZES = ((48, 36), (36, 52), (40, 40), (64, 30))
TREE_FOLDERS = ("train", "val", "test", "ILSVRC2012_devkit_t12")


def all_wnids():
  """The 1000 sorted WNIDs, in the label order of the bundled word list."""
  import importlib.util
  root = pathlib.Path(importlib.util.find_spec("tensorflow_datasets").origin).parent
  return (root / "datasets/imagenet2012/labels.txt").read_text().split()


def picture(rng, size):
  """A small RGB image: a colour gradient with a rectangle, different for every call."""
  w, h = size
  y, x = np.mgrid[0:h, 0:w]
  base = rng.integers(0, 256, 3)
  img = np.stack([(base[c] + x * (c + 1) * 3 + y * (3 - c) * 2) % 256 for c in range(3)], -1)
  x0, y0 = rng.integers(0, w // 2), rng.integers(0, h // 2)
  img[y0:y0 + h // 3, x0:x0 + w // 3] = rng.integers(0, 256, 3)
  return Image.fromarray(img.astype(np.uint8), "RGB")


def encode(image, fmt="JPEG"):
  out = io.BytesIO()
  image.save(out, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
  return out.getvalue()


def tar_bytes(members, gnu=False):
  """An uncompressed tar of (name, bytes), with fixed metadata so regenerating is byte-identical."""
  out = io.BytesIO()
  with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT if gnu else
                    tarfile.USTAR_FORMAT) as tar:
    for name, data in members:
      info = tarfile.TarInfo(name)
      info.size, info.mtime, info.mode = len(data), 0, 0o644
      tar.addfile(info, io.BytesIO(data))
  return out.getvalue()


def train_images(rng):
  """wnid -> [(file name, bytes)], in sorted-WNID order."""
  out = {}
  for k, wnid in enumerate(sorted(CLASS_IDS)):
    numbers = TRAIN_NUMBERS.get(wnid, (k + 1, 10 * k + 3, 100 * k + 5))
    out[wnid] = []
    for j, number in enumerate(numbers):
      name = f"{wnid}_{number}.JPEG"
      image = picture(rng, SIZES[(k + j) % len(SIZES)])
      if name == CMYK_IMAGE:
        data = encode(image.convert("CMYK"))
      elif name == PNG_IMAGE:
        data = encode(image, "PNG")
      elif name == GREY_IMAGE:
        data = encode(image.convert("L"))
      else:
        data = encode(image)
      out[wnid].append((name, data))
  return out


def synsets_struct(class_ids, glosses=None):
  """meta.mat's `synsets` struct array: the classes plus one inner WordNet node."""
  wnids = all_wnids()
  fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children",
            "wordnet_height", "num_train_images"]
  rows = []
  for wnid, ilsvrc2012_id in sorted(class_ids.items(), key=lambda kv: kv[1]):
    gloss = (glosses or {}).get(wnid, f"(dummy gloss of {wnid})")
    rows.append((float(ilsvrc2012_id), wnid, WORDS[wnids.index(wnid)], gloss, 0.0,
                 np.zeros((1, 0)), 0.0, 3.0))
  rows.append((1001.0, "n00001740", "entity", "(dummy gloss of the root)", 2.0,
               np.array([[1.0, 2.0]]), 19.0, 0.0))
  struct = np.zeros((len(rows), 1), dtype=[(f, object) for f in fields])
  for i, row in enumerate(rows):
    for f, value in zip(fields, row):
      struct[i, 0][f] = value
  return struct


def devkit_tar(class_ids, ground_truth, glosses=None):
  """The bytes of an (uncompressed) ILSVRC2012_devkit_t12 tar."""
  mat = io.BytesIO()
  scipy.io.savemat(mat, {"synsets": synsets_struct(class_ids, glosses)}, format="5")
  # The 116-byte text header holds the creation time; a fixed one keeps regeneration identical.
  header = b"MATLAB 5.0 MAT-file, written by dummy_data/ilsvrc2012/generate.py".ljust(116)
  mat_bytes = header + mat.getvalue()[116:]
  truth = "".join(f"{i}\n" for i in ground_truth).encode()
  return tar_bytes([
      ("ILSVRC2012_devkit_t12/data/meta.mat", mat_bytes),
      ("ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt", truth),
  ])


def ground_truth_ids(class_ids=CLASS_IDS, validation=VALIDATION):
  last = max(validation)
  return [class_ids[validation[i]] if i in validation else 1 for i in range(1, last + 1)]


def write_devkit(path, class_ids=CLASS_IDS, ground_truth=None, gzipped=True):
  data = devkit_tar(class_ids, ground_truth or ground_truth_ids())
  if gzipped:
    write_gzip(path, data)
  else:
    pathlib.Path(path).write_bytes(data)


def main(out=HERE):
  out = pathlib.Path(out)
  rng = np.random.default_rng(2012)
  train = train_images(rng)
  inner = [(f"{wnid}.tar", tar_bytes(images)) for wnid, images in train.items()]
  (out / "ILSVRC2012_img_train.tar").write_bytes(tar_bytes(inner))
  val = {n: encode(picture(rng, SIZES[n % len(SIZES)])) for n in sorted(VALIDATION)}
  (out / "ILSVRC2012_img_val.tar").write_bytes(
      tar_bytes([(f"ILSVRC2012_val_{n:08d}.JPEG", data) for n, data in val.items()]))
  test = {n: encode(picture(rng, SIZES[n % len(SIZES)])) for n in range(1, TEST_COUNT + 1)}
  (out / "ILSVRC2012_img_test_v10102019.tar").write_bytes(
      tar_bytes([(f"test/ILSVRC2012_test_{n:08d}.JPEG", data) for n, data in test.items()]))
  write_devkit(out / "ILSVRC2012_devkit_t12.tar.gz")

  tree = out
  for folder in TREE_FOLDERS:
    if (tree / folder).exists():
      shutil.rmtree(tree / folder)
  for wnid, images in train.items():
    (tree / "train" / wnid).mkdir(parents=True)
    for name, data in images:
      (tree / "train" / wnid / name).write_bytes(data)
  for n, data in val.items():
    folder = tree / "val" / VALIDATION[n]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"ILSVRC2012_val_{n:08d}.JPEG").write_bytes(data)
  (tree / "test").mkdir()
  for n, data in test.items():
    (tree / "test" / f"ILSVRC2012_test_{n:08d}.JPEG").write_bytes(data)
  with tarfile.open(fileobj=io.BytesIO(devkit_tar(CLASS_IDS, ground_truth_ids()))) as devkit:
    devkit.extractall(tree, filter="data")


if __name__ == "__main__":
  main()
