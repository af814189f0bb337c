"""Sample grids of every dataset, rendered from the bundled sample sources.

`python -m tfds_builders pictures --out docs/images` writes `<builder>.png` (the first examples of
the first split, in the dataset's stored order) for every builder's default config, with each
image's boxes drawn where examples carry `objects`. The grids use
only numpy and the package's own PNG encoder, so the same code and sources give the same bytes, and
a test checks that the committed pictures are what the code renders now.
"""

from __future__ import annotations

import pathlib
import tempfile
from typing import Dict, List

import numpy as np

from tfds_builders.formats.png import PngEncoder

TILE = 96
COLUMNS = 8
ROWS = 2
GAP = 4
BOX_COLOUR = (255, 255, 0)


def _to_tile(image: np.ndarray) -> np.ndarray:
  """An H×W×C uint8 image as a TILE×TILE RGB tile (nearest-neighbour, aspect kept, padded)."""
  if image.shape[-1] == 1:
    image = np.repeat(image, 3, axis=-1)
  h, w = image.shape[:2]
  scale = TILE / max(h, w)
  rows = np.minimum((np.arange(max(1, round(h * scale))) / scale).astype(int), h - 1)
  cols = np.minimum((np.arange(max(1, round(w * scale))) / scale).astype(int), w - 1)
  resized = image[rows][:, cols]
  tile = np.zeros((TILE, TILE, 3), np.uint8)
  top, left = (TILE - resized.shape[0]) // 2, (TILE - resized.shape[1]) // 2
  tile[top:top + resized.shape[0], left:left + resized.shape[1]] = resized
  return tile


def draw_boxes(image: np.ndarray, yxyx: np.ndarray) -> np.ndarray:
  """An RGB copy of `image` with each normalised (ymin, xmin, ymax, xmax) box outlined."""
  out = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image.copy()
  h, w = out.shape[:2]
  for ymin, xmin, ymax, xmax in np.asarray(yxyx, np.float64).reshape(-1, 4):
    # Rounded: float32 boxes of pixel edges (0.6 of 10 rows is 6.0000002) land on those edges.
    top, left = min(round(ymin * h), h - 1), min(round(xmin * w), w - 1)
    bottom, right = max(top, min(round(ymax * h) - 1, h - 1)), max(
        left, min(round(xmax * w) - 1, w - 1))
    out[top, left:right + 1] = out[bottom, left:right + 1] = BOX_COLOUR
    out[top:bottom + 1, left] = out[top:bottom + 1, right] = BOX_COLOUR
  return out


def grid(images: List[np.ndarray]) -> np.ndarray:
  rows = -(-len(images) // COLUMNS)
  canvas = np.full((rows * (TILE + GAP) + GAP, COLUMNS * (TILE + GAP) + GAP, 3), 255, np.uint8)
  for i, image in enumerate(images):
    r, c = divmod(i, COLUMNS)
    y, x = GAP + r * (TILE + GAP), GAP + c * (TILE + GAP)
    canvas[y:y + TILE, x:x + TILE] = _to_tile(image)
  return canvas


def sample_images(builder, count: int) -> List[np.ndarray]:
  import tensorflow_datasets as tfds
  split = sorted(builder.info.splits)[-1] if "train" not in builder.info.splits else "train"
  images = []
  for example in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False).take(count)):
    if "objects" in example:
      images.append(draw_boxes(example["image"], example["objects"]["bbox"]))
      continue
    images.append(example["image"])
    if "image2" in example and len(images) < count:  # stereo pairs: both cameras side by side
      images.append(example["image2"])
  return images[:count]


def render_all(out_dir: pathlib.Path, sources: pathlib.Path = None, names=None) -> Dict[str, str]:
  import tensorflow_datasets as tfds
  import tfds_builders
  from tfds_builders.builder_base import sample_sources_dir

  tfds_builders.register_builders()  # `import tfds_builders` does not under python -m tfds_builders
  sources = sources or sample_sources_dir()
  out_dir.mkdir(parents=True, exist_ok=True)
  written = {}
  names = names or tfds_builders.builder_names()
  with tempfile.TemporaryDirectory() as data_dir:
    for name in names:
      builder = tfds.builder(name, data_dir=data_dir)
      builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
          manual_dir=sources / builder.sources_name()))
      canvas = grid(sample_images(builder, COLUMNS * ROWS))
      path = out_dir / f"{name}.png"
      path.write_bytes(PngEncoder(*canvas.shape, level=9).encode(canvas))
      written[name] = str(path)
  return written
