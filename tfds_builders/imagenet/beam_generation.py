"""Generating `ilsvrc2012` on Apache Beam: the builder's units of work fanned out over workers.

Imported only when the user passes Beam options, so the plain path and reading a built dataset
never need apache-beam. Workers run `planning.examples_of`, a module-level function over
picklable units (paths, offsets and labels; no open files), and open the archives themselves:
the archives must be readable at the same path from every worker.

With boxes (ilsvrc2012_localization) each unit carries its own images' boxes, and each worker
also emits what it counted (`planning.BoxTally`); the tallies are merged into the split's one
summary line, logged by the worker that merges them.
"""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional

try:
  import apache_beam as beam
except ImportError as e:  # pragma: no cover - depends on the user's environment
  raise ImportError(
      "ilsvrc2012: Beam options were given (beam_runner/beam_options, or tfds build "
      "--beam_pipeline_options) but apache-beam is not installed. Install it with "
      "`pip install 'tfds_builders[beam]'`, or build without Beam options.") from e

from tfds_builders.formats import paths
from tfds_builders.imagenet import planning


def _local_absolute(path: str) -> str:
  return os.path.abspath(path) if paths.is_local(path) else path


def _absolute(unit: "planning.Unit") -> "planning.Unit":
  """The unit with its local sources named from the root: a worker that an external pool started
  runs in the pool's working directory, where a relative --manual_dir names nothing."""
  def member(m):
    return dataclasses.replace(m, archive=_local_absolute(m.archive))
  return dataclasses.replace(
      unit, inner_tar=member(unit.inner_tar) if unit.inner_tar is not None else None,
      members=tuple(member(m) for m in unit.members),
      files=tuple(_local_absolute(f) for f in unit.files))


_TALLY = "box_tally"


class _ExamplesOfUnit(beam.DoFn):
  """The examples of one unit, then (with boxes) the unit's tally on a side output."""

  def __init__(self, shorter_side: Optional[int], jpeg_quality: int):
    super().__init__()
    self._shorter_side = shorter_side
    self._jpeg_quality = jpeg_quality

  def process(self, unit):
    tally = planning.BoxTally()
    yield from planning.examples_of(unit, self._shorter_side, self._jpeg_quality, tally)
    if unit.boxes is not None:
      yield beam.pvalue.TaggedOutput(_TALLY, tally)


class ExamplesOfUnits(beam.PTransform):
  """(key, example) of every unit: one train class tar or one chunk of val/test per element."""

  def __init__(self, units: List["planning.Unit"], shorter_side: Optional[int],
               jpeg_quality: int, box_plan: Optional["planning.BoxPlan"] = None):
    super().__init__()
    self._units = [_absolute(unit) for unit in units]
    self._shorter_side = shorter_side
    self._jpeg_quality = jpeg_quality
    self._box_plan = box_plan

  def expand(self, pbegin):
    outputs = (pbegin
               | "Units" >> beam.Create(self._units)
               # Spreads the units over workers; Create alone may keep them in one bundle.
               | "Spread" >> beam.Reshuffle()
               | "Examples" >> beam.ParDo(_ExamplesOfUnit(self._shorter_side, self._jpeg_quality))
               .with_outputs(_TALLY, main="examples"))
    if self._box_plan is not None:
      _ = (outputs[_TALLY]
           | "MergeBoxTallies" >> beam.CombineGlobally(planning.merge_tallies)
           | "LogBoxSummary" >> beam.Map(self._box_plan.log))
    return outputs.examples


def examples_transform(units, shorter_side, jpeg_quality, box_plan=None) -> beam.PTransform:
  return ExamplesOfUnits(units, shorter_side, jpeg_quality, box_plan)
