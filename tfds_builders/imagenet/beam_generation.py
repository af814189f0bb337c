"""Generating `ilsvrc2012` on Apache Beam: the builder's units of work fanned out over workers.

Imported only when the user passes Beam options, so the plain path and reading a built dataset
never need apache-beam. Workers run `planning.examples_of`, a module-level function over
picklable units (paths, offsets and labels; no open files), and open the archives themselves:
the archives must be readable at the same path from every worker.
"""

from __future__ import annotations

from typing import List, Optional

try:
  import apache_beam as beam
except ImportError as e:  # pragma: no cover - depends on the user's environment
  raise ImportError(
      "ilsvrc2012: Beam options were given (beam_runner/beam_options, or tfds build "
      "--beam_pipeline_options) but apache-beam is not installed. Install it with "
      "`pip install 'tfds_builders[beam]'`, or build without Beam options.") from e

from tfds_builders.imagenet import planning


class ExamplesOfUnits(beam.PTransform):
  """(key, example) of every unit: one train class tar or one chunk of val/test per element."""

  def __init__(self, units: List["planning.Unit"], shorter_side: Optional[int],
               jpeg_quality: int):
    super().__init__()
    self._units = list(units)
    self._shorter_side = shorter_side
    self._jpeg_quality = jpeg_quality

  def expand(self, pbegin):
    return (pbegin
            | "Units" >> beam.Create(self._units)
            # Spreads the units over workers; Create alone may keep them in one bundle.
            | "Spread" >> beam.Reshuffle()
            | "Examples" >> beam.FlatMap(planning.examples_of, self._shorter_side,
                                         self._jpeg_quality))


def examples_transform(units, shorter_side, jpeg_quality) -> beam.PTransform:
  return ExamplesOfUnits(units, shorter_side, jpeg_quality)
