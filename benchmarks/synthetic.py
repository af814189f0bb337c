"""Full-size synthetic sources in the real formats, for benchmarking builders on identical inputs.

The real MNIST/smallNORB/ImageNet files cannot be shipped (ImageNet needs registration) and the
benchmark must not download, so the harness writes files of the real formats, counts and image
sizes instead. The pixels are synthetic but shaped like the real ones (sparse digit strokes;
textured grey 96×96 photos; noisy natural-looking colour JPEGs of ~400×350 at quality 90), because
PNG/zlib cost depends on content. Everything is deterministic and written once per cache folder:
a folder holding a `.complete` marker is reused as it is.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
import pathlib
import sys
import tarfile
from typing import Callable, List

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
NORB_PREFIXES = {
    "train": ("smallnorb-5x46789x9x18x6x2x96x96-training", (4, 6, 7, 8, 9)),
    "test": ("smallnorb-5x01235x9x18x6x2x96x96-testing", (0, 1, 2, 3, 5)),
}
IMAGENET_TRAIN = "ILSVRC2012_img_train.tar"
IMAGENET_VAL = "ILSVRC2012_img_val.tar"
IMAGENET_VAL_IN_TRAIN = 4


@dataclasses.dataclass(frozen=True)
class Sizes:
  """How much of each dataset to write; `full()` is the real datasets' shape."""
  mnist_train: int
  mnist_test: int
  norb_train: int
  norb_test: int
  # ImageNet train: `imagenet_classes` inner tars of `imagenet_per_class` images; the flat-memory
  # variant packs the same images into a quarter as many inner tars, each 4× as large.
  imagenet_classes: int
  imagenet_per_class: int
  imagenet_val: int
  imagenet_image_size: tuple  # (width, height) of the typical image; sizes vary ±25% around it

  @classmethod
  def full(cls) -> "Sizes":
    return cls(60_000, 10_000, 24_300, 24_300, 16, 200, 500, (400, 350))

  @classmethod
  def tiny(cls) -> "Sizes":
    return cls(300, 100, 60, 40, 4, 6, 8, (64, 48))

  def tag(self) -> str:
    return (f"m{self.mnist_train}-{self.mnist_test}_n{self.norb_train}-{self.norb_test}_"
            f"i{self.imagenet_classes}x{self.imagenet_per_class}-{self.imagenet_val}-"
            f"{self.imagenet_image_size[0]}x{self.imagenet_image_size[1]}")


def _write_gzip(path: pathlib.Path, data: bytes) -> None:
  # Level 6 is what the originals were compressed with (their sizes match `gzip -6`).
  with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="",
                                            compresslevel=6) as gz:
    gz.write(data)


def _cached(folder: pathlib.Path, write: Callable[[pathlib.Path], None]) -> pathlib.Path:
  marker = folder / ".complete"
  if not marker.exists():
    folder.mkdir(parents=True, exist_ok=True)
    write(folder)
    marker.write_text("ok\n")
  return folder


# ---------------------------------------------------------------- MNIST (IDX, gzip)


def _digit_pool(rng: np.random.Generator, count: int = 500) -> np.ndarray:
  """Digit-like 28×28 strokes (white on black, ~20% ink like MNIST), drawn once."""
  font = ImageFont.load_default(size=22)
  pool = np.empty((count, 28, 28), np.uint8)
  for i in range(count):
    canvas = Image.new("L", (56, 56), 0)
    draw = ImageDraw.Draw(canvas)
    draw.text((28 + int(rng.integers(-3, 4)), 28 + int(rng.integers(-3, 4))), str(i % 10),
              fill=255, font=font, anchor="mm", stroke_width=int(rng.integers(1, 3)),
              stroke_fill=255)
    canvas = canvas.rotate(float(rng.uniform(-20, 20)), resample=Image.BILINEAR)
    canvas = canvas.filter(ImageFilter.GaussianBlur(0.7))
    pool[i] = np.asarray(canvas.crop((14, 14, 42, 42)))
  return pool


def write_mnist(folder: pathlib.Path, sizes: Sizes) -> pathlib.Path:
  def write(out: pathlib.Path) -> None:
    # Imported here: the package imports TensorFlow, which the benchmark jobs must not inherit
    # from this module.
    from tfds_builders.formats.idx import idx_bytes
    rng = np.random.default_rng(1998)
    pool = _digit_pool(rng)
    for split, count in (("train", sizes.mnist_train), ("test", sizes.mnist_test)):
      pick = rng.integers(0, len(pool), count)
      images = pool[pick]
      # Shift each image by up to 2 pixels so no two PNGs are the same bytes.
      shifts = rng.integers(-2, 3, (count, 2))
      for dy in range(-2, 3):
        for dx in range(-2, 3):
          rows = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
          images[rows] = np.roll(images[rows], (dy, dx), axis=(1, 2))
      labels = (pick % 10).astype(np.uint8)
      images_name, labels_name = MNIST_FILES[split]
      _write_gzip(out / images_name, idx_bytes(images))
      _write_gzip(out / labels_name, idx_bytes(labels))
  return _cached(folder, write)


# ---------------------------------------------------------------- smallNORB (NORB matrices, gzip)


def norb_table(count: int, instances) -> np.ndarray:
  """The first `count` rows of the full factorial (category, instance, elevation, azimuth,
  lighting) that a real split enumerates: 5 × 5 × 9 × 18 × 6 = 24,300 rows."""
  grid = np.array(np.meshgrid(range(5), instances, range(9), range(0, 35, 2), range(6),
                              indexing="ij")).reshape(5, -1).T
  return grid[:count].astype(np.int32)


def write_norb(folder: pathlib.Path, sizes: Sizes) -> pathlib.Path:
  def write(out: pathlib.Path) -> None:
    from tfds_builders.formats.norb import norb_bytes
    rng = np.random.default_rng(2004)
    # A pool of scenes like the real ones: a textured object (blurred noise) in the middle of a
    # smooth background; per example a random pool scene plus faint sensor noise on the object.
    # The real -dat files gzip to ~29% of their size; these to ~21%.
    pool = rng.integers(0, 256, (64, 2, 96, 96)).astype(np.float32)
    for i in range(len(pool)):
      for cam in range(2):
        pool[i, cam] = np.asarray(Image.fromarray(pool[i, cam].astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(3)), np.float32)
    pool = (pool - pool.mean()) * 4 + 128
    yy, xx = np.mgrid[:96, :96]
    background = 60 + 40 * (yy / 95.0)
    inside = (yy - 48) ** 2 + (xx - 48) ** 2 < 26 ** 2
    pool = np.where(inside, pool, background)
    for split, count in (("train", sizes.norb_train), ("test", sizes.norb_test)):
      prefix, instances = NORB_PREFIXES[split]
      table = norb_table(count, instances)
      dat = np.empty((count, 2, 96, 96), np.uint8)
      for start in range(0, count, 2048):
        n = min(2048, count - start)
        base = pool[rng.integers(0, len(pool), n)]
        noise = rng.normal(0, 0.6, base.shape).astype(np.float32) * inside
        dat[start:start + n] = np.clip(base + noise, 0, 255).astype(np.uint8)
      _write_gzip(out / f"{prefix}-dat.mat.gz", norb_bytes(dat))
      _write_gzip(out / f"{prefix}-cat.mat.gz", norb_bytes(table[:, 0].copy()))
      _write_gzip(out / f"{prefix}-info.mat.gz", norb_bytes(table[:, 1:].copy()))
  return _cached(folder, write)


# ---------------------------------------------------------------- ImageNet (tars of JPEGs)


def _wnids() -> List[str]:
  # The official label list; both builders take their class names from it.
  import tensorflow_datasets as tfds  # only here: the rest of this module needs no TFDS
  path = tfds.core.tfds_path("datasets/imagenet2012/labels.txt")
  return pathlib.Path(os.fspath(path)).read_text().split()


def _jpeg(rng: np.random.Generator, size) -> bytes:
  """A photo stand-in: smooth colour blobs and grain, quality 90, ~85 KB at 400×350 (ImageNet's
  JPEGs average ~110 KB at ~400×350)."""
  width = int(size[0] * rng.uniform(0.75, 1.25))
  height = int(size[1] * rng.uniform(0.75, 1.25))
  coarse = rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
  image = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
  grain = rng.normal(0, 18, (height, width, 3))
  pixels = np.clip(np.asarray(image, np.float32) + grain, 0, 255).astype(np.uint8)
  out = io.BytesIO()
  Image.fromarray(pixels).save(out, format="JPEG", quality=90)
  return out.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
  info = tarfile.TarInfo(name)
  info.size = len(data)
  info.mtime = 1_330_000_000
  tar.addfile(info, io.BytesIO(data))


def _train_tar(path: pathlib.Path, wnids: List[str], images: List[bytes], per_class: int) -> None:
  # GNU format, as the distributed archives are; inner tars are built in memory, one at a time.
  with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as outer:
    for c, wnid in enumerate(wnids):
      buf = io.BytesIO()
      with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as inner:
        for i in range(per_class):
          _add(inner, f"{wnid}_{i + 1}.JPEG", images[c * per_class + i])
      _add(outer, f"{wnid}.tar", buf.getvalue())


def _val_tar(path: pathlib.Path, images: List[bytes]) -> None:
  with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as val:
    for i, data in enumerate(images):
      _add(val, f"ILSVRC2012_val_{i + 1:08d}.JPEG", data)


def write_imagenet(folder: pathlib.Path, sizes: Sizes) -> pathlib.Path:
  """Three manual_dirs: `train/` (many inner tars), `train_4x/` (the same images in 4× larger
  inner tars), each with a val tar of IMAGENET_VAL_IN_TRAIN images, and `val/` (the val tar)."""
  def write(out: pathlib.Path) -> None:
    rng = np.random.default_rng(2012)
    wnids = _wnids()
    total = sizes.imagenet_classes * sizes.imagenet_per_class
    images = [_jpeg(rng, sizes.imagenet_image_size) for _ in range(total)]
    for sub in ("train", "train_4x", "val"):
      (out / sub).mkdir(exist_ok=True)
    # The official imagenet2012 opens the val tar before it checks that it exists, so it cannot
    # build train alone: the train folders get a val tar of a few images, negligible in time.
    for sub in ("train", "train_4x"):
      _val_tar(out / sub / IMAGENET_VAL, images[:IMAGENET_VAL_IN_TRAIN])
    _train_tar(out / "train" / IMAGENET_TRAIN, wnids[:sizes.imagenet_classes], images,
               sizes.imagenet_per_class)
    _train_tar(out / "train_4x" / IMAGENET_TRAIN, wnids[:sizes.imagenet_classes // 4], images,
               sizes.imagenet_per_class * 4)
    _val_tar(out / "val" / IMAGENET_VAL, [images[i % total] for i in range(sizes.imagenet_val)])
  if sizes.imagenet_classes % 4:
    raise ValueError("imagenet_classes must be a multiple of 4 (the 4× inner-tar variant)")
  return _cached(folder, write)


def write_all(root: pathlib.Path, sizes: Sizes, datasets=("mnist", "smallnorb", "imagenet")):
  """{dataset: folder} for the requested datasets, written under root/<sizes tag>/ if missing."""
  base = root / sizes.tag()
  writers = {"mnist": write_mnist, "smallnorb": write_norb, "imagenet": write_imagenet}
  return {name: writers[name](base / name, sizes) for name in datasets}


if __name__ == "__main__":
  where = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tfds_builders_bench")
  for name, path in write_all(where, Sizes.full()).items():
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    print(f"{name}: {path} ({total / 1e6:.1f} MB)")
