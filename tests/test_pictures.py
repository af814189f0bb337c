"""The README's pictures are what the code renders now from the sample sources."""

import pathlib

import numpy as np

import tfds_builders
from tfds_builders import pictures

IMAGES = pathlib.Path(__file__).resolve().parent.parent / "docs" / "images"


def test_grid_layout_and_tiles():
  grey = np.full((28, 28, 1), 200, np.uint8)
  wide = np.zeros((30, 60, 3), np.uint8)
  wide[..., 0] = 255
  canvas = pictures.grid([grey, wide])
  assert canvas.shape == (pictures.TILE + 2 * pictures.GAP,
                          pictures.COLUMNS * (pictures.TILE + pictures.GAP) + pictures.GAP, 3)
  first = canvas[pictures.GAP:pictures.GAP + pictures.TILE, pictures.GAP:pictures.GAP + 96]
  assert (first == 200).all()  # a grey image fills its tile, replicated to RGB
  x = 2 * pictures.GAP + pictures.TILE
  second = canvas[pictures.GAP:pictures.GAP + pictures.TILE, x:x + pictures.TILE]
  assert (second[24:72, :, 0] == 255).all() and (second[:24] == 0).all()  # aspect kept, padded


def test_boxes_are_outlined_on_the_pixels_they_cover():
  image = np.zeros((10, 20, 1), np.uint8)
  out = pictures.draw_boxes(image, np.array([[0.2, 0.25, 0.6, 0.75]], np.float32))
  outline = np.zeros((10, 20), bool)
  outline[2, 5:15] = outline[5, 5:15] = outline[2:6, 5] = outline[2:6, 14] = True
  assert out.shape == (10, 20, 3) and (out[outline] == pictures.BOX_COLOUR).all()
  assert (out[~outline] == 0).all()


def test_committed_pictures_match_the_code(tmp_path):
  written = pictures.render_all(tmp_path)
  assert sorted(written) == tfds_builders.builder_names()
  for name in written:
    assert (tmp_path / f"{name}.png").read_bytes() == (IMAGES / f"{name}.png").read_bytes(), (
        f"docs/images/{name}.png is stale: run `python -m tfds_builders pictures`")
