"""Find smallNORB examples by pose in a built dataset: one pass to index, then dict look-ups.

    from tfds_builders.smallnorb.lookup import PoseIndex
    index = PoseIndex.load("norb_small", split="train")
    [pair] = index.find("airplanes", instance=6, elevation=0, azimuth=17, lighting=5)
    strip = index.turntable("cars", instance=9, elevation=50, lighting=0, degrees=True)

Works on any built dataset with smallNORB's label features: `norb_small` (either config) and the
official `smallnorb` at version 2.1.0.
"""

from __future__ import annotations

import collections
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow_datasets as tfds

from tfds_builders.smallnorb.norb_small import azimuth_degrees, elevation_degrees

POSE_FEATURES = ("label_category", "instance", "label_elevation", "label_azimuth",
                 "label_lighting")
NUM_AZIMUTHS = 18
_INDEX_BATCH = 4096

Category = Union[int, str]


class PoseIndex:
  """Maps (category, instance, elevation, azimuth, lighting) to positions in one split.

  Built from one pass over the split's label features (images are read as bytes, not decoded);
  examples are then fetched by position, so a query never scans the dataset.
  """

  def __init__(self, builder: tfds.core.DatasetBuilder, split: str = "train"):
    self.builder = builder
    self.split = split
    features = builder.info.features
    missing = [name for name in POSE_FEATURES if name not in features]
    if missing:
      raise ValueError(f"{builder.name} has no smallNORB pose features {missing}; build "
                       "norb_small, or smallnorb at version 2.1.0")
    self.category_names = list(features["label_category"].names)
    self._has_camera = "camera" in features
    columns = POSE_FEATURES + (("camera",) if self._has_camera else ())
    self._positions: Dict[Tuple[int, ...], List[int]] = collections.defaultdict(list)
    self._cameras: List[int] = []
    position = 0
    for batch in self._label_batches(columns):
      poses = np.stack([batch[name] for name in POSE_FEATURES], axis=1).tolist()
      for offset, pose in enumerate(poses):
        self._positions[tuple(pose)].append(position + offset)
      if self._has_camera:
        self._cameras.extend(batch["camera"].tolist())
      position += len(poses)
    self.num_examples = position
    self._source = None

  @classmethod
  def load(cls, name: str = "norb_small", split: str = "train",
           data_dir: Optional[str] = None) -> "PoseIndex":
    """Indexes an already built dataset, e.g. `load("norb_small/mono", "test")`."""
    return cls(tfds.builder(name, data_dir=data_dir), split)

  @staticmethod
  def _in_order() -> tfds.ReadConfig:
    # One file at a time, so that the n-th example read is the n-th of the split: the same
    # position that split slicing (`train[n:n+1]`) and data sources address.
    return tfds.ReadConfig(interleave_cycle_length=1)

  def _random_access(self) -> bool:
    return self.builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD

  def _label_batches(self, columns: Sequence[str]) -> Iterator[Dict[str, np.ndarray]]:
    """The split's label columns in batches, in order; images are read but never decoded."""
    skip_images = {name: tfds.decode.SkipDecoding()
                   for name, feature in self.builder.info.features.items()
                   if isinstance(feature, tfds.features.Image)}
    if self._random_access():
      source = self.builder.as_data_source(split=self.split, decoders=skip_images)
      for start in range(0, len(source), _INDEX_BATCH):
        rows = source.__getitems__(range(start, min(start + _INDEX_BATCH, len(source))))
        yield {name: np.array([row[name] for row in rows]) for name in columns}
      return
    dataset = self.builder.as_dataset(split=self.split, shuffle_files=False,
                                      read_config=self._in_order(), decoders=skip_images)
    dataset = dataset.map(lambda ex: {name: ex[name] for name in columns})
    yield from tfds.as_numpy(dataset.batch(_INDEX_BATCH))

  def pose_key(self, category: Category, instance: int, elevation: int, azimuth: int,
               lighting: int, degrees: bool = False) -> Tuple[int, int, int, int, int]:
    """The labels of a pose given as ids (azimuth 0-17) or, with degrees=True, in degrees."""
    if isinstance(category, str):
      if category not in self.category_names:
        raise ValueError(f"unknown category {category!r}; one of {self.category_names}")
      category = self.category_names.index(category)
    if degrees:
      elevation = _label_from_degrees(elevation, elevation_degrees, range(9), "elevation")
      azimuth = _label_from_degrees(azimuth, azimuth_degrees, range(NUM_AZIMUTHS), "azimuth")
    return (int(category), int(instance), int(elevation), int(azimuth), int(lighting))

  def positions(self, category: Category, instance: int, elevation: int, azimuth: int,
                lighting: int, degrees: bool = False, camera: Optional[int] = None) -> List[int]:
    """Positions in the split of the examples with this pose (in `mono`, one per camera)."""
    found = self._positions.get(
        self.pose_key(category, instance, elevation, azimuth, lighting, degrees), [])
    if camera is not None:
      if not self._has_camera:
        raise ValueError(f"{self.builder.name} has no `camera` feature; use the mono config")
      found = [p for p in found if self._cameras[p] == camera]
    return list(found)

  def find(self, category: Category, instance: int, elevation: int, azimuth: int,
           lighting: int, degrees: bool = False, camera: Optional[int] = None) -> List[dict]:
    """The examples (numpy dicts) with this pose; [] when the split does not hold it."""
    return self.examples(self.positions(category, instance, elevation, azimuth, lighting,
                                        degrees, camera))

  def turntable(self, category: Category, instance: int, elevation: int, lighting: int,
                degrees: bool = False, camera: Optional[int] = None) -> List[dict]:
    """Every azimuth of one object at one elevation and lighting, in azimuth order."""
    found = []
    for azimuth in range(NUM_AZIMUTHS):
      found += self.positions(category, instance, elevation,
                              azimuth_degrees(azimuth) if degrees else azimuth, lighting,
                              degrees, camera)
    return self.examples(found)

  def examples(self, positions: Sequence[int]) -> List[dict]:
    """Fetches examples by position: random access for array_record, else a one-row slice."""
    if not positions:
      return []
    if self._random_access():
      if self._source is None:
        self._source = self.builder.as_data_source(split=self.split)
      return [self._source[p] for p in positions]
    # A TFRecord shard has no index: each slice reads its shard up to the position, but decodes
    # only the one example.
    slices = self.builder.as_dataset(
        split=[f"{self.split}[{p}:{p + 1}]" for p in positions], shuffle_files=False,
        read_config=self._in_order())
    return [next(iter(tfds.as_numpy(one))) for one in slices]


def _label_from_degrees(value, to_degrees, labels: range, what: str) -> int:
  for label in labels:
    if to_degrees(label) == value:
      return label
  raise ValueError(f"{value} is not a smallNORB {what} in degrees (one of "
                   f"{[to_degrees(label) for label in labels]})")
