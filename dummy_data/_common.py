"""Shared pieces of the dummy-data generators: digit-like glyphs, deterministic gzip.

Every `dummy_data/<builder>/generate.py` writes its folder's files in the real source format, byte
for byte; nothing in `dummy_data/` is edited by hand. Run `python dummy_data/generate_all.py`.
"""

from __future__ import annotations

import gzip
import io
import os
import pathlib
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))  # the repository, for tfds_builders.formats


def glyph(text: str, size: int = 28, rng: np.random.Generator = None, invert: bool = False,
          font_size: int = None) -> np.ndarray:
  """A size×size uint8 image of `text` drawn like a handwritten MNIST digit (white on black)."""
  rng = rng or np.random.default_rng(0)
  font = ImageFont.load_default(size=font_size or int(size * 0.75))
  canvas = Image.new("L", (size * 2, size * 2), 0)
  draw = ImageDraw.Draw(canvas)
  box = draw.textbbox((0, 0), text, font=font)
  w, h = box[2] - box[0], box[3] - box[1]
  x = (canvas.width - w) // 2 - box[0] + int(rng.integers(-2, 3))
  y = (canvas.height - h) // 2 - box[1] + int(rng.integers(-2, 3))
  draw.text((x, y), text, fill=255, font=font, stroke_width=int(rng.integers(0, 2)),
            stroke_fill=255)
  canvas = canvas.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR)
  left = (canvas.width - size) // 2
  image = np.asarray(canvas.crop((left, left, left + size, left + size)), dtype=np.uint8)
  return 255 - image if invert else image


def write_gzip(path: os.PathLike, data: bytes) -> None:
  """gzip with a fixed mtime and no file name, so regenerating gives identical bytes."""
  buf = io.BytesIO()
  with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
    f.write(data)
  pathlib.Path(path).write_bytes(buf.getvalue())
