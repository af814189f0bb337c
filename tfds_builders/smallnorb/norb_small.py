"""`norb_small`: smallNORB from NYU's NORB binary-matrix files, a drop-in for the official
`smallnorb` with the pose in degrees and a one-image-per-example `mono` config."""

from __future__ import annotations

import concurrent.futures
from typing import Iterator, List, Tuple

import numpy as np
import tensorflow_datasets as tfds

from tfds_builders import builder_base
from tfds_builders.sources import SourceFile
from tfds_builders.formats import norb
from tfds_builders.formats.png import PngEncoder

MIRRORS = ("https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/",)
# split -> (official file prefix, prefix of the `id` feature, as in the official builder)
SPLITS = {
    "train": ("smallnorb-5x46789x9x18x6x2x96x96-training", "train_"),
    "test": ("smallnorb-5x01235x9x18x6x2x96x96-testing", "test_"),
}
FILE_KINDS = ("dat", "cat", "info")
FILE_NAMES = [f"{prefix}-{kind}.mat.gz" for prefix, _ in SPLITS.values() for kind in FILE_KINDS]
CATEGORY_NAMES = ["four-legged animals", "human figures", "airplanes", "trucks", "cars"]
# The files only say "image pairs" from two cameras; every published loader reads the first
# image of a pair as the left camera's, and so do we.
CAMERA_NAMES = ["left", "right"]
IMAGE_SHAPE = (96, 96, 1)
_BATCH = 1024
# Chosen for reading, which happens every epoch, not for the one-time build: rows stored as they
# are (zlib level 0, no filter), so decoding is a copy. Measured by benchmarks/png_study.py
# (png_study.md) on 3,000 synthetic smallNORB-like photographs calibrated to the real files (-dat
# gzip ratio 29%, ~2.4 KB PNGs): CPU µs to decode one image with TFDS's decode_image, median of 7
# rounds on a shared 2-core machine, against TensorFlow's own PNGs (what `smallnorb` stores: 122
# µs, 2.5 KB): stored, 38-42 µs at 9.4 KB; unfiltered level 6, 89 µs at 2.9 KB (the fastest
# compressed one: inflating literals and undoing a row filter is most of a decode); Up 6, 95 µs;
# Paeth 3 (our earlier choice, for fast writing), 142 µs. Whole builds read back through TFDS,
# train split, CPU µs per example (benchmarks/RESULTS.md, five alternating rounds, machine otherwise
# idle): smallnorb 391, ours stored 188 (2.08x); with unfiltered level 6 (an earlier run), 372
# against 309 (1.21x, short of the 1.25x goal). The price is disk: 924 MB against the official 254 MB (stored rows do not depend on the
# pixels, so the same for the real files, against ~340 MB). TFDS caches neither in memory (both
# are over its 250 MiB limit), so every epoch decodes again. The build is the fastest too (no
# deflate): 0.19x the official's time.
_PNG_LEVEL = 0
_PNG_FILTER = "none"


def elevation_degrees(elevation):
  """Elevation label 0-8 -> degrees above the horizontal (30-70, every 5)."""
  return 30 + 5 * elevation


def azimuth_degrees(azimuth_label):
  """Azimuth label 0-17 (the file's 0,2,...,34 halved) -> degrees (0-340, every 20)."""
  return 20 * azimuth_label


def _encoded_pairs(dat_path) -> Iterator[Tuple[int, List[List[bytes]]]]:
  """(number of pairs, [left PNGs, right PNGs]) for each batch of a `-dat` file.

  PNG bytes are built here (same decoded pixels as the Image feature's own encoder, without a
  TensorFlow call per image); the Image feature stores them as they are. zlib releases the GIL,
  so a worker thread decompresses and encodes the next batch while TFDS serializes this one.
  """
  encoder = PngEncoder(*IMAGE_SHAPE, level=_PNG_LEVEL, row_filter=_PNG_FILTER)

  def encode(pairs):
    return len(pairs), [list(encoder.encode_batch(pairs[:, camera])) for camera in (0, 1)]

  batches = norb.iter_norb(dat_path, batch_items=_BATCH)

  def next_encoded():
    pairs = next(batches, None)
    return None if pairs is None else encode(pairs)

  with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
    ahead = worker.submit(next_encoded)
    while (encoded := ahead.result()) is not None:
      ahead = worker.submit(next_encoded)
      yield encoded


class NorbSmall(builder_base.SourceFilesMixin, tfds.core.GeneratorBasedBuilder):
  """smallNORB: 50 toys in 5 categories under 9 elevations × 18 azimuths × 6 lightings."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: stereo and mono configs, pose in degrees, checked "
                            "NORB files, mirrors and local sources."}
  BUILDER_CONFIGS = [
      tfds.core.BuilderConfig(
          name="stereo", description="One example per stereo pair: `image` is the left camera, "
          "`image2` the right one (as in the official `smallnorb`). 24,300 examples per split."),
      tfds.core.BuilderConfig(
          name="mono", description="One example per camera image: `image` is that camera's "
          "view, `camera` says which (0 left, 1 right); no `image2`. 48,600 examples per split."),
  ]
  # What tfds.load("norb_small") reads. A bare `tfds build norb_small` builds both configs (TFDS
  # builds every config of a bare name): both read the same six files, so neither can fail for
  # want of an input, and the pair costs about twice the disk of one (1.8 GB in all, stored rows).
  DEFAULT_BUILDER_CONFIG_NAME = "stereo"
  MANUAL_DOWNLOAD_INSTRUCTIONS = builder_base.local_sources_instructions("norb_small", FILE_NAMES)

  def _info(self) -> tfds.core.DatasetInfo:
    features = {"image": tfds.features.Image(shape=IMAGE_SHAPE)}
    if self.builder_config.name == "stereo":
      features["image2"] = tfds.features.Image(shape=IMAGE_SHAPE)
    else:
      features["camera"] = tfds.features.ClassLabel(
          names=CAMERA_NAMES, doc="Which camera of the stereo pair took `image`.")
    features.update({
        "label_category": tfds.features.ClassLabel(names=CATEGORY_NAMES),
        "instance": tfds.features.ClassLabel(num_classes=10),
        "label_elevation": tfds.features.ClassLabel(num_classes=9),
        "label_azimuth": tfds.features.ClassLabel(num_classes=18),
        "label_lighting": tfds.features.ClassLabel(num_classes=6),
        "id": tfds.features.Text(),
        "elevation_degrees": tfds.features.Scalar(
            np.int32, doc="Camera elevation above the horizontal: 30 + 5 × label_elevation."),
        "azimuth_degrees": tfds.features.Scalar(
            np.int32, doc="Turntable azimuth: 20 × label_azimuth (0-340)."),
    })
    return self.dataset_info_from_configs(
        description=(
            "smallNORB, read from NYU's NORB binary-matrix files: 50 toys of 5 categories "
            "(four-legged animals, human figures, airplanes, trucks, cars) photographed by two "
            "cameras under 6 lightings, 9 elevations (30-70 degrees) and 18 azimuths (0-340 "
            "degrees). Train holds instances 4, 6, 7, 8, 9 of each category, test 0, 1, 2, 3, 5. "
            "Same features, supervised keys and ids as the official `smallnorb` (version "
            "2.1.0), plus `elevation_degrees` and `azimuth_degrees`."),
        features=tfds.features.FeaturesDict(features),
        supervised_keys=("image", "label_category"),
        homepage="https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/",
        citation="""\
@inproceedings{LeCun2004LearningMF,
  title={Learning methods for generic object recognition with invariance to pose and lighting},
  author={LeCun, Yann and Huang, Fu Jie and Bottou, L{\\'e}on},
  booktitle={Proceedings of the 2004 IEEE Computer Society Conference on Computer Vision and
             Pattern Recognition (CVPR)},
  volume={2},
  pages={II-104},
  year={2004}
}
""",
    )

  def _split_generators(self, dl_manager):
    found = self.resolve(dl_manager, {name: SourceFile(name, MIRRORS) for name in FILE_NAMES})
    return {split: self._generate_examples(
        id_prefix=id_prefix, **{f"{kind}_path": found[f"{prefix}-{kind}.mat.gz"]
                                for kind in FILE_KINDS})
            for split, (prefix, id_prefix) in SPLITS.items()}

  def _generate_examples(self, id_prefix, dat_path, cat_path, info_path):
    categories, info = norb.read_smallnorb_labels(dat_path, cat_path, info_path)
    stereo = self.builder_config.name == "stereo"
    index = 0
    for count, views in _encoded_pairs(dat_path):
      for offset in range(count):
        instance, elevation, azimuth, lighting = (int(v) for v in info[index])
        labels = {
            "label_category": int(categories[index]),
            "instance": instance,
            "label_elevation": elevation,
            # The files store the azimuth as 0, 2, ..., 34 (tens of degrees); the label is 0-17.
            "label_azimuth": azimuth // 2,
            "label_lighting": lighting,
            "id": f"{id_prefix}{index:05d}",
            "elevation_degrees": elevation_degrees(elevation),
            "azimuth_degrees": azimuth_degrees(azimuth // 2),
        }
        if stereo:
          yield index, {**labels, "image": views[0][offset], "image2": views[1][offset]}
        else:
          for camera in (0, 1):
            yield 2 * index + camera, {**labels, "image": views[camera][offset],
                                       "camera": camera}
        index += 1
