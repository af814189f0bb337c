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
- `ILSVRC2012_bbox_train_v2.tar.gz`: gzip of a tar of `<wnid>/` folders of PASCAL-VOC XMLs, as
  the real one; 11 of the 21 train images have one (in ImageNet about 545k of 1.28M do). Each box
  frames the rectangle drawn in its image. With the quirks the real files hold: a box past the
  image edge (clamped), a coordinate written as a float, a `<size>` twice the JPEG's (boxes are
  relative to the size the annotator saw), an XML of several objects, an XML for an image that is
  not in the image archive (`n01735189_7777`), and a dog XML naming its breed's words
  (`Shetland_sheepdog`) where the WNID belongs.
- `ILSVRC2012_bbox_val_v3.tgz`: `val/ILSVRC2012_val_000000NN.xml`, one per validation image (one
  with two objects, one past the edge) plus one for an image that is not in the val tar.
- The same images as an extracted tree: `train/<wnid>/`, `val/<wnid>/` (per-class folders),
  `test/`, the devkit extracted (`ILSVRC2012_devkit_t12/data/`) and the box XMLs extracted into
  folders named after their archives (`ILSVRC2012_bbox_train_v2/<wnid>/`,
  `ILSVRC2012_bbox_val_v3/val/`). The builder prefers the archives when both are present, so this
  folder builds from the archives; tests build from the tree through a folder holding links to
  these only. (Kept at most four levels deep, as the package data patterns in setup.py install.)

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
TREE_FOLDERS = ("train", "val", "test", "ILSVRC2012_devkit_t12", "ILSVRC2012_bbox_train_v2",
                "ILSVRC2012_bbox_val_v3")
BOX_ARCHIVES = {"train": "ILSVRC2012_bbox_train_v2.tar.gz",
                "validation": "ILSVRC2012_bbox_val_v3.tgz"}
# The train images that have a box XML: about half, as in ImageNet.
TRAIN_WITH_BOXES = ("n01735189_1", "n01735189_5", "n01739381_21", "n01751748_23", "n01751748_205",
                    "n02105855_15", "n03125729_5", "n03125729_405", "n04263257_53",
                    "n09193705_7", "n09193705_605")
TRAIN_XML_WITHOUT_IMAGE = "n01735189_7777"
VAL_XML_WITHOUT_IMAGE = 7
PAST_THE_EDGE = {"n03125729_5": ("xmax", 3), 2: ("ymax", 1)}  # stem or val number -> (field, px)
FLOAT_COORDINATE = "n01751748_23"    # its xmin written as "<xmin>4.0</xmin>"
DOUBLE_SIZE = "n04263257_53"         # <size> twice the JPEG's, boxes drawn at that size
TWO_OBJECTS = ("n09193705_605", 4)   # a second object (the image's top-left quarter)
BY_WORDS = ("n02105855_15", "Shetland_sheepdog")


def all_wnids():
  """The 1000 sorted WNIDs, in the label order of the bundled word list."""
  import importlib.util
  root = pathlib.Path(importlib.util.find_spec("tensorflow_datasets").origin).parent
  return (root / "datasets/imagenet2012/labels.txt").read_text().split()


def picture_with_box(rng, size):
  """A small RGB image: a colour gradient with a rectangle, different for every call; and the
  rectangle as pixel (xmin, ymin, xmax, ymax), the object its box XML frames."""
  w, h = size
  y, x = np.mgrid[0:h, 0:w]
  base = rng.integers(0, 256, 3)
  img = np.stack([(base[c] + x * (c + 1) * 3 + y * (3 - c) * 2) % 256 for c in range(3)], -1)
  x0, y0 = rng.integers(0, w // 2), rng.integers(0, h // 2)
  img[y0:y0 + h // 3, x0:x0 + w // 3] = rng.integers(0, 256, 3)
  return Image.fromarray(img.astype(np.uint8), "RGB"), (int(x0), int(y0), int(x0 + w // 3),
                                                         int(y0 + h // 3))


def picture(rng, size):
  return picture_with_box(rng, size)[0]


def box_xml(folder, stem, size, objects, depth=3):
  """A box XML as ImageNet writes them (tabs, <source>, <segmented>, VOC object fields).

  `objects`: (name, xmin, ymin, xmax, ymax) each; coordinates are written as given (str or int).
  """
  width, height = size
  parts = [f"<annotation>\n\t<folder>{folder}</folder>\n\t<filename>{stem}</filename>\n"
           "\t<source>\n\t\t<database>ILSVRC_2012</database>\n\t</source>\n"
           f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n"
           f"\t\t<depth>{depth}</depth>\n\t</size>\n\t<segmented>0</segmented>\n"]
  for name, xmin, ymin, xmax, ymax in objects:
    parts.append(f"\t<object>\n\t\t<name>{name}</name>\n\t\t<pose>Unspecified</pose>\n"
                 "\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n"
                 f"\t\t<bndbox>\n\t\t\t<xmin>{xmin}</xmin>\n\t\t\t<ymin>{ymin}</ymin>\n"
                 f"\t\t\t<xmax>{xmax}</xmax>\n\t\t\t<ymax>{ymax}</ymax>\n\t\t</bndbox>\n"
                 "\t</object>\n")
  parts.append("</annotation>\n")
  return "".join(parts).encode()


def boxes_for(key, wnid, size, rect):
  """(xml <size>, objects) of one image: its rectangle, with the quirk this image stands for."""
  scale = 2 if key == DOUBLE_SIZE else 1
  size = (size[0] * scale, size[1] * scale)
  xmin, ymin, xmax, ymax = (v * scale for v in rect)
  box = {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}
  if key in PAST_THE_EDGE:
    field, pixels = PAST_THE_EDGE[key]
    box[field] = (size[0] if field[0] == "x" else size[1]) + pixels
  if key == FLOAT_COORDINATE:
    box["xmin"] = f"{box['xmin']}.0"
  name = BY_WORDS[1] if key == BY_WORDS[0] else wnid
  objects = [(name, box["xmin"], box["ymin"], box["xmax"], box["ymax"])]
  if key == TWO_OBJECTS[0] or key == TWO_OBJECTS[1]:
    objects.append((wnid, 0, 0, size[0] // 2, size[1] // 2))
  return size, objects


def box_archive(members, folders=()):
  """gzip-ready tar bytes of (path, bytes), with folder entries first as `tar czf` writes them."""
  out = io.BytesIO()
  with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
    for folder in folders:
      info = tarfile.TarInfo(folder)
      info.type, info.mtime, info.mode = tarfile.DIRTYPE, 0, 0o755
      tar.addfile(info)
    for name, data in members:
      info = tarfile.TarInfo(name)
      info.size, info.mtime, info.mode = len(data), 0, 0o644
      tar.addfile(info, io.BytesIO(data))
  return out.getvalue()


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
  """wnid -> [(file name, bytes)] in sorted-WNID order, and file name -> (size, rectangle)."""
  out, rects = {}, {}
  for k, wnid in enumerate(sorted(CLASS_IDS)):
    numbers = TRAIN_NUMBERS.get(wnid, (k + 1, 10 * k + 3, 100 * k + 5))
    out[wnid] = []
    for j, number in enumerate(numbers):
      name = f"{wnid}_{number}.JPEG"
      size = SIZES[(k + j) % len(SIZES)]
      image, rects[name] = picture_with_box(rng, size)
      rects[name] = (size, rects[name])
      if name == CMYK_IMAGE:
        data = encode(image.convert("CMYK"))
      elif name == PNG_IMAGE:
        data = encode(image, "PNG")
      elif name == GREY_IMAGE:
        data = encode(image.convert("L"))
      else:
        data = encode(image)
      out[wnid].append((name, data))
  return out, rects


def train_box_xmls(rects):
  """path in the archive -> XML bytes: the boxed train images, plus one XML without an image."""
  xmls = {}
  for stem in TRAIN_WITH_BOXES:
    wnid = stem.split("_")[0]
    size, objects = boxes_for(stem, wnid, *rects[f"{stem}.JPEG"])
    xmls[f"{wnid}/{stem}.xml"] = box_xml(wnid, stem, size, objects)
  wnid = TRAIN_XML_WITHOUT_IMAGE.split("_")[0]
  xmls[f"{wnid}/{TRAIN_XML_WITHOUT_IMAGE}.xml"] = box_xml(
      wnid, TRAIN_XML_WITHOUT_IMAGE, (500, 375), [(wnid, 10, 20, 300, 200)])
  return dict(sorted(xmls.items()))


def val_box_xmls(val_rects):
  """path in the archive -> XML bytes: one per validation image, plus one without an image."""
  xmls = {}
  for n, (size, rect) in val_rects.items():
    stem = f"ILSVRC2012_val_{n:08d}"
    xml_size, objects = boxes_for(n, VALIDATION[n], size, rect)
    xmls[f"val/{stem}.xml"] = box_xml("val", stem, xml_size, objects)
  stem = f"ILSVRC2012_val_{VAL_XML_WITHOUT_IMAGE:08d}"
  xmls[f"val/{stem}.xml"] = box_xml("val", stem, (500, 333), [("n01440764", 1, 2, 400, 300)])
  return dict(sorted(xmls.items()))


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
  train, train_rects = train_images(rng)
  inner = [(f"{wnid}.tar", tar_bytes(images)) for wnid, images in train.items()]
  (out / "ILSVRC2012_img_train.tar").write_bytes(tar_bytes(inner))
  val, val_rects = {}, {}
  for n in sorted(VALIDATION):
    image, rect = picture_with_box(rng, SIZES[n % len(SIZES)])
    val[n], val_rects[n] = encode(image), (SIZES[n % len(SIZES)], rect)
  (out / "ILSVRC2012_img_val.tar").write_bytes(
      tar_bytes([(f"ILSVRC2012_val_{n:08d}.JPEG", data) for n, data in val.items()]))
  test = {n: encode(picture(rng, SIZES[n % len(SIZES)])) for n in range(1, TEST_COUNT + 1)}
  (out / "ILSVRC2012_img_test_v10102019.tar").write_bytes(
      tar_bytes([(f"test/ILSVRC2012_test_{n:08d}.JPEG", data) for n, data in test.items()]))
  write_devkit(out / "ILSVRC2012_devkit_t12.tar.gz")
  train_xmls, val_xmls = train_box_xmls(train_rects), val_box_xmls(val_rects)
  write_gzip(out / BOX_ARCHIVES["train"], box_archive(
      train_xmls.items(), sorted({p.split("/")[0] + "/" for p in train_xmls})))
  write_gzip(out / BOX_ARCHIVES["validation"], box_archive(val_xmls.items(), ["val/"]))

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
  for folder, xmls in (("ILSVRC2012_bbox_train_v2", train_xmls),
                       ("ILSVRC2012_bbox_val_v3", val_xmls)):
    for path, data in xmls.items():
      (tree / folder / path).parent.mkdir(parents=True, exist_ok=True)
      (tree / folder / path).write_bytes(data)


if __name__ == "__main__":
  main()
