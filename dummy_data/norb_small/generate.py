"""Writes smallNORB's six gzipped NORB binary-matrix files: 8 training and 7 test pairs.

Each pair shows a simple shape for its category (animal, figure, plane, truck, car), turned by the
azimuth, flattened by the elevation and lit by the lighting; the second camera sees it shifted
sideways, as a stereo rig would. The poses are the table below, so tests know every example: the
training set holds a turntable strip (category 0, instance 4, elevation 2, lighting 1, azimuths
0-60 degrees) and the test set a shorter one (category 4, instance 5).
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from _common import write_gzip  # noqa: E402
from tfds_builders.formats.norb import norb_bytes  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SIZE = 96
STEREO_SHIFT = 6  # pixels between the two cameras' views

# (category, instance, elevation 0-8, azimuth 0,2,...,34, lighting 0-5), in file order.
POSES = {
    "smallnorb-5x46789x9x18x6x2x96x96-training": [
        (0, 4, 2, 4, 1), (2, 6, 0, 34, 5), (0, 4, 2, 0, 1), (4, 9, 8, 10, 0),
        (0, 4, 2, 6, 1), (1, 7, 4, 0, 3), (0, 4, 2, 2, 1), (3, 8, 2, 0, 1),
    ],
    "smallnorb-5x01235x9x18x6x2x96x96-testing": [
        (0, 0, 1, 12, 2), (1, 1, 3, 8, 4), (4, 5, 6, 2, 0), (2, 2, 5, 20, 1),
        (3, 3, 7, 30, 5), (4, 5, 6, 0, 0), (4, 5, 6, 4, 0),
    ],
}

# A rough outline of each category, in a unit box centred on 0.
OUTLINES = {
    0: [(-0.8, -0.2), (0.5, -0.3), (0.8, -0.6), (0.9, -0.3), (0.6, 0.1), (0.5, 0.6), (0.3, 0.6),
        (0.3, 0.2), (-0.4, 0.2), (-0.4, 0.6), (-0.6, 0.6), (-0.7, 0.1)],  # four-legged animal
    1: [(-0.15, -0.9), (0.15, -0.9), (0.15, -0.6), (0.5, -0.4), (0.2, -0.3), (0.2, 0.2),
        (0.3, 0.9), (0.05, 0.9), (0.0, 0.3), (-0.05, 0.9), (-0.3, 0.9), (-0.2, 0.2), (-0.2, -0.3),
        (-0.5, -0.4), (-0.15, -0.6)],  # human figure
    2: [(-0.9, 0.0), (-0.2, -0.1), (0.1, -0.8), (0.3, -0.8), (0.2, -0.1), (0.8, -0.1),
        (0.9, -0.4), (1.0, -0.4), (0.95, 0.1), (0.2, 0.1), (0.3, 0.8), (0.1, 0.8), (-0.2, 0.1)],
    3: [(-0.9, -0.5), (0.3, -0.5), (0.3, -0.2), (0.7, -0.2), (0.9, 0.1), (0.9, 0.5), (-0.9, 0.5)],
    4: [(-0.9, 0.0), (-0.5, -0.1), (-0.3, -0.4), (0.3, -0.4), (0.5, -0.1), (0.9, 0.0),
        (0.9, 0.4), (-0.9, 0.4)],
}


def render(category, instance, elevation, azimuth, lighting, camera):
  degrees = np.deg2rad(10 * azimuth)
  flatten = 1.0 - 0.06 * elevation  # seen from higher up, the outline looks flatter
  scale = 30 + 2 * instance
  cx = SIZE / 2 + (STEREO_SHIFT / 2 if camera else -STEREO_SHIFT / 2)
  points = []
  for x, y in OUTLINES[category]:
    xr = x * np.cos(degrees) - y * np.sin(degrees)
    yr = x * np.sin(degrees) + y * np.cos(degrees)
    points.append((cx + scale * xr, SIZE / 2 + scale * flatten * yr))
  canvas = Image.new("L", (SIZE, SIZE), 40 + 10 * lighting)
  ImageDraw.Draw(canvas).polygon(points, fill=150 + 15 * lighting, outline=255)
  return np.asarray(canvas, dtype=np.uint8)


def main():
  for prefix, poses in POSES.items():
    table = np.array(poses, dtype=np.int32)
    dat = np.stack([[render(*pose, camera) for camera in (0, 1)] for pose in poses])
    write_gzip(HERE / f"{prefix}-dat.mat.gz", norb_bytes(dat.astype(np.uint8)))
    write_gzip(HERE / f"{prefix}-cat.mat.gz", norb_bytes(table[:, 0]))
    write_gzip(HERE / f"{prefix}-info.mat.gz", norb_bytes(table[:, 1:]))


if __name__ == "__main__":
  main()
