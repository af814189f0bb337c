"""Full-size synthetic sources in the real formats, for benchmarking builders on identical inputs.

The real MNIST/smallNORB/ImageNet files cannot be shipped (ImageNet needs registration) and the
benchmark must not download, so the harness writes files of the real formats, counts and image
sizes instead. The pixels are synthetic, but PNG/zlib cost depends on content, so each generator is
calibrated against what is known of the real files (the numbers are in `CALIBRATION`, checked by
`python benchmarks/synthetic.py --check`): MNIST-like digits with the real ink fraction, mean and
gzip ratio; EMNIST-like letters and digits (only for the PNG study) with EMNIST's gzip ratio; grey
smallNORB-like photographs, a textured object on a smooth background with sensor noise, with the
real gzip ratio and PNG size; ImageNet-like colour JPEGs with the real mean bytes per image.
Everything is deterministic and written once per cache folder: a folder holding a `.complete`
marker is reused as it is.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
import pathlib
import string
import sys
import tarfile
import zlib
from typing import Callable, List, Sequence

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
GENERATION = "g2"  # g2: generators calibrated against the real files (CALIBRATION)


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
  # Class counts of the two train sets (each class `imagenet_per_class` images) that separate a
  # build's fixed cost from its per-image cost: time(large) - time(small) is images' work only.
  imagenet_scale: tuple = (8, 32)

  @classmethod
  def full(cls) -> "Sizes":
    return cls(60_000, 10_000, 24_300, 24_300, 16, 200, 500, (500, 375), (8, 32))

  @classmethod
  def tiny(cls) -> "Sizes":
    return cls(300, 100, 60, 40, 4, 6, 8, (64, 48), (2, 4))

  def scale_images(self) -> tuple:
    return tuple(classes * self.imagenet_per_class for classes in self.imagenet_scale)

  def tag(self) -> str:
    # GENERATION changes when the generators do, so that a cache of older pixels is not reused.
    return (f"{GENERATION}_m{self.mnist_train}-{self.mnist_test}_n{self.norb_train}-"
            f"{self.norb_test}_i{self.imagenet_classes}x{self.imagenet_per_class}-"
            f"{self.imagenet_val}-{self.imagenet_image_size[0]}x{self.imagenet_image_size[1]}-"
            f"s{'-'.join(map(str, self.imagenet_scale))}")


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


# ---------------------------------------------------------------- calibration against the real files

# What is known of the real sources, and what the generators below give (measured by `--check`):
# - MNIST train images: 9,912,422 bytes gzipped of 47,040,016 (21.1%; checksums/mnist_idx.tsv),
#   19% of pixels non-zero, mean 33.3 (the usual 0.1307 normalisation); TFDS's catalogue gives
#   `mnist` 21.00 MiB for 70,000 examples, ~315 bytes each with the record, ~290 of PNG.
# - EMNIST: gzip.zip is 561,753,746 bytes for 2,255,710 images of 784 bytes in all (31.7%).
# - smallNORB: the -dat files gzip to 131,896,188 of 447,897,640 bytes (29.4%;
#   checksums/norb_small.tsv); as PNGs (Pillow's defaults) a 96x96 image takes ~2.4 KB
#   (117,947,794 bytes of Parquet for 24,300 stereo pairs on the Hugging Face hub).
# - ImageNet train: ~147 GB for 1,281,167 JPEGs, ~115 KB each; the pictures are about 500x375.
CALIBRATION = {
    "mnist": dict(gzip_ratio=0.211, nonzero=0.19, mean=33.3, png_bytes=290),
    "emnist": dict(gzip_ratio=0.317),
    "smallnorb": dict(gzip_ratio=0.294, png_bytes=2430),
    "imagenet": dict(jpeg_kb=115),
}


def glyph_pool(rng: np.random.Generator, count: int, chars: Sequence[str], size: int,
               stroke_widths: Sequence[int], blur: float, floor: int) -> np.ndarray:
  """count×28×28 white-on-black characters: drawn at `size` points, rotated up to 20°, blurred,
  values below `floor` set to 0 (the real files have exact-zero backgrounds)."""
  font = ImageFont.load_default(size=size)
  pool = np.empty((count, 28, 28), np.uint8)
  for i in range(count):
    canvas = Image.new("L", (56, 56), 0)
    draw = ImageDraw.Draw(canvas)
    draw.text((28 + int(rng.integers(-3, 4)), 28 + int(rng.integers(-3, 4))), chars[i % len(chars)],
              fill=255, font=font, anchor="mm", stroke_width=int(rng.choice(stroke_widths)),
              stroke_fill=255)
    canvas = canvas.rotate(float(rng.uniform(-20, 20)), resample=Image.BILINEAR)
    canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    glyph = np.asarray(canvas.crop((14, 14, 42, 42))).copy()
    glyph[glyph < floor] = 0
    pool[i] = glyph
  return pool


def mnist_like_images(rng: np.random.Generator, count: int = 500) -> np.ndarray:
  """Digits with MNIST's ink: ~19% non-zero pixels, mean ~33, gzip ~22%, PNGs ~290 bytes."""
  return glyph_pool(rng, count, string.digits, size=18, stroke_widths=(1,), blur=0.4, floor=16)


def emnist_like_images(rng: np.random.Generator, count: int = 500) -> np.ndarray:
  """Letters and digits, thicker and fuzzier as EMNIST's are (gzip ~32%), upright."""
  return glyph_pool(rng, count, string.digits + string.ascii_letters, size=18,
                    stroke_widths=(1, 2), blur=0.6, floor=0)


def norb_like_images(rng: np.random.Generator, count: int, pool_size: int = 64) -> np.ndarray:
  """count×96×96 grey photographs like smallNORB's: a textured object (blurred noise, sensor noise
  σ 1.2) in the middle of a smooth background (a vertical gradient, sensor noise σ 0.09, which
  flips a few pixels by one level). Gzip ~28%, PNGs ~2.4 KB, as the real ones."""
  texture = rng.integers(0, 256, (pool_size, 96, 96)).astype(np.float32)
  for i in range(pool_size):
    texture[i] = np.asarray(Image.fromarray(texture[i].astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(3)), np.float32)
  texture = (texture - texture.mean()) * 4 + 128
  yy, xx = np.mgrid[:96, :96]
  background = 60 + 40 * (yy / 95.0)
  inside = (yy - 48) ** 2 + (xx - 48) ** 2 < 26 ** 2
  scenes = np.where(inside, texture, background)
  noise_sigma = np.where(inside, 1.2, 0.09).astype(np.float32)
  out = np.empty((count, 96, 96), np.uint8)
  for start in range(0, count, 4096):
    n = min(4096, count - start)
    base = scenes[rng.integers(0, pool_size, n)]
    noise = rng.normal(0, 1, base.shape).astype(np.float32) * noise_sigma
    out[start:start + n] = np.clip(base + noise, 0, 255).astype(np.uint8)
  return out


# ---------------------------------------------------------------- MNIST (IDX, gzip)


def write_mnist(folder: pathlib.Path, sizes: Sizes) -> pathlib.Path:
  def write(out: pathlib.Path) -> None:
    # Imported here: the package imports TensorFlow, which the benchmark jobs must not inherit
    # from this module.
    from tfds_builders.formats.idx import idx_bytes
    rng = np.random.default_rng(1998)
    pool = mnist_like_images(rng)
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
    for split, count in (("train", sizes.norb_train), ("test", sizes.norb_test)):
      prefix, instances = NORB_PREFIXES[split]
      table = norb_table(count, instances)
      dat = norb_like_images(rng, 2 * count).reshape(count, 2, 96, 96)
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
  """A photo stand-in: smooth colour blobs and grain, quality 90, ~114 KB at 500×375 ± 25% (the
  real train JPEGs average ~115 KB). The builds keep JPEG bytes as they are, so their cost follows
  the bytes; the pixels only need to be a valid JPEG of a realistic size."""
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


def scale_folder(images: int) -> str:
  return f"scale_{images}"


def write_imagenet(folder: pathlib.Path, sizes: Sizes) -> pathlib.Path:
  """manual_dirs: `train/` (many inner tars), `train_4x/` (the same images in 4× larger inner
  tars), `scale_<n>/` (n images, for each of `sizes.scale_images()`), each with a val tar of
  IMAGENET_VAL_IN_TRAIN images, and `val/` (the val tar)."""
  def write(out: pathlib.Path) -> None:
    rng = np.random.default_rng(2012)
    wnids = _wnids()
    total = sizes.imagenet_classes * sizes.imagenet_per_class
    images = [_jpeg(rng, sizes.imagenet_image_size)
              for _ in range(max(total, *sizes.scale_images()))]
    scaled = [scale_folder(n) for n in sizes.scale_images()]
    for sub in ("train", "train_4x", "val", *scaled):
      (out / sub).mkdir(exist_ok=True)
    # The official imagenet2012 opens the val tar before it checks that it exists, so it cannot
    # build train alone: the train folders get a val tar of a few images, negligible in time.
    for sub in ("train", "train_4x", *scaled):
      _val_tar(out / sub / IMAGENET_VAL, images[:IMAGENET_VAL_IN_TRAIN])
    for classes, sub in zip(sizes.imagenet_scale, scaled):
      _train_tar(out / sub / IMAGENET_TRAIN, wnids[:classes], images, sizes.imagenet_per_class)
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


def check_calibration(count: int = 2000) -> List[str]:
  """The generators' statistics beside CALIBRATION's real ones, one line per dataset."""
  rng = np.random.default_rng(0)

  def png_bytes(images) -> float:
    sizes = []
    for image in images[:300]:
      out = io.BytesIO()
      Image.fromarray(image).save(out, format="PNG")
      sizes.append(len(out.getvalue()))
    return float(np.mean(sizes))

  def gzip_ratio(images) -> float:
    return len(zlib.compress(images.tobytes(), 6)) / images.size

  mnist, emnist = mnist_like_images(rng, count), emnist_like_images(rng, count)
  norb = norb_like_images(rng, count)
  jpegs = [len(_jpeg(rng, Sizes.full().imagenet_image_size)) for _ in range(100)]
  real = CALIBRATION
  return [
      f"mnist: gzip {gzip_ratio(mnist):.3f} (real {real['mnist']['gzip_ratio']}), non-zero "
      f"{(mnist > 0).mean():.3f} ({real['mnist']['nonzero']}), mean {mnist.mean():.1f} "
      f"({real['mnist']['mean']}), PNG {png_bytes(mnist):.0f} B ({real['mnist']['png_bytes']})",
      f"emnist: gzip {gzip_ratio(emnist):.3f} (real {real['emnist']['gzip_ratio']})",
      f"smallnorb: gzip {gzip_ratio(norb):.3f} (real {real['smallnorb']['gzip_ratio']}), PNG "
      f"{png_bytes(norb):.0f} B ({real['smallnorb']['png_bytes']})",
      f"imagenet: JPEG {np.mean(jpegs) / 1e3:.0f} KB (real {real['imagenet']['jpeg_kb']})",
  ]


if __name__ == "__main__":
  if sys.argv[1:] == ["--check"]:
    print("\n".join(check_calibration()))
    sys.exit(0)
  where = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tfds_builders_bench")
  for name, path in write_all(where, Sizes.full()).items():
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    print(f"{name}: {path} ({total / 1e6:.1f} MB)")
