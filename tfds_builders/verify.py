"""`python -m tfds_builders verify NAME --data_dir D`: reads a built dataset end to end.

A copy of a built dataset that lost bytes (a `gsutil cp -r` or `rsync` cut short, a Colab session
that died mid-copy) is found today as a DataLossError half-way through an epoch, naming neither the
shard nor the record. This reads every shard of every split once, without training, and names
what is wrong:

- every shard dataset_info.json lists is present (names and counts from TFDS's own SplitInfo, so
  the file names are never re-derived here);
- TFRecord shards: every frame, both CRCs (tfds_builders.formats.tfrecord); ArrayRecord shards:
  the array_record package's reader, which checks its own chunks;
- each shard holds the number of records dataset_info.json gives it;
- every example decodes against the features: parsed and decoded by TFDS
  (`features.deserialize_example`), images of the declared shape, ClassLabel values among the
  classes (or -1, TFDS's "no label").

Decoding is tf.data's work, in parallel and batched: one record at a time in Python would make this
slower than the epoch it is meant to replace. Records are framed and CRC-checked in the generator
that feeds it; the few records that fail are decoded again one by one, only to say why.

Only what is wrong with the bytes is called damage: a missing shard, a CRC or length that does not
match, a truncated record, a wrong count, an example that does not decode. A shard that cannot be
read (permissions, credentials, a bucket that stops answering, or a bug in the reading itself) is
named with the error as it was raised, and says nothing about the data in it.

`--sources --manual_dir M` also compares the source files with the registered checksums
(`tfds_builders.sources.Resolver.check_manual_dir`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import tempfile
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import paths, tfrecord

WHOLE, DAMAGED, NOT_FOUND, UNREADABLE, NOTHING_COMPARED = 0, 1, 2, 3, 4
# For `python -m tfds_builders verify --help`, and read here first.
EXIT_STATUS = """\
exit status:
  0  whole: every shard read, every record intact, every example decodes (with --sources: every
     source file matches, or they are the bundled samples)
  1  damaged: a shard missing, a record whose CRC or length does not match, a truncated shard,
     a record count other than dataset_info.json's, an example that does not decode (with
     --sources: a source file that differs or is missing)
  2  no such dataset in the data dir, no such manual dir, or a wrong command line
  3  unreadable: a shard could not be read (permissions, credentials, the network, a bug): the
     error is named, and nothing is known of that shard's records past it
  4  with --sources, nothing was compared: no source file could be compared with the registered
     size and sha256 (the message says why, and which folder to pass instead)
when several apply, the highest is the exit status\
"""
__doc__ += "\n" + EXIT_STATUS

# Records handed to tf.data at a time: large enough that the generator's Python step per element
# is negligible, small enough that memory stays flat on any shard size.
CHUNK_RECORDS = 1024
# Record problems named per shard; a shard of garbage would otherwise print a line per record.
MAX_PROBLEMS_PER_SHARD = 10


class DatasetNotFound(Exception):
  """The data dir holds no built dataset of this name (and version)."""


@dataclasses.dataclass
class ShardReport:
  path: str
  expected: int  # records, from dataset_info.json
  read: int = 0  # records framed (whatever their CRC)
  framing_broken: bool = False  # truncated, damaged length: the count means nothing
  problems: List[str] = dataclasses.field(default_factory=list)
  omitted: int = 0  # problems past MAX_PROBLEMS_PER_SHARD, counted but not listed
  # The error that stopped the reading (I/O or a bug), never taken for damage: the count and
  # the records past it mean nothing.
  error: Optional[BaseException] = None
  read_error: Optional[str] = None

  def add(self, problem: str) -> None:
    if len(self.problems) < MAX_PROBLEMS_PER_SHARD:
      self.problems.append(f"{self.path}: {problem}")
    else:
      self.omitted += 1

  def cannot_read(self, error: BaseException) -> None:
    if self.error is None:
      self.error = error
      self.read_error = (f"{self.path}: cannot be read after {self.read} records: "
                         f"{type(error).__name__}: {_first_line(error)}")

  def lines(self) -> List[str]:
    more = [f"{self.path}: and {self.omitted} more bad records"] if self.omitted else []
    return self.problems + more + ([self.read_error] if self.read_error else [])


@dataclasses.dataclass
class SplitReport:
  name: str
  shards: List[ShardReport]

  @property
  def bad(self) -> List[ShardReport]:
    return [s for s in self.shards if s.problems]

  @property
  def unreadable(self) -> List[ShardReport]:
    return [s for s in self.shards if s.error is not None]


# ------------------------------------------------------------------ reading shards


def _tfrecord_records(shard: ShardReport) -> Iterator[Tuple[int, bytes]]:
  try:
    # Not paths.open_binary: it reports a permission error as a source's format error.
    with paths.as_path(shard.path).open("rb") as f:
      for record in tfrecord.read_records(f, shard.path):
        shard.read += 1
        if record.data is None:
          shard.add(f"record {record.index} at byte {record.offset}: {record.problem}")
        else:
          yield record.index, record.data
  except SourceFormatError as e:  # the framing reader's only error: truncated, a length's CRC
    shard.framing_broken = True
    shard.add(e.problem)
  except Exception as e:  # permissions, a bucket that stops answering (OpError), a bug
    shard.cannot_read(e)


def _is_riegeli_damage(error: Exception) -> bool:
  # The array_record reader raises plain RuntimeErrors from C++ for every failure; Riegeli words
  # each kind of damage it finds ("Corrupted Riegeli/records file: chunk data hash mismatch ...")
  # with the format's name, and an I/O failure without it.
  return "Riegeli/records file" in str(error)


def _array_record_records(shard: ShardReport) -> Iterator[Tuple[int, bytes]]:
  from array_record.python import array_record_module

  try:
    with _local_copy(shard.path) as local:
      # The reader says only "not ok" of a file it could not open, as of a damaged one: open it
      # here first, so that an unreadable file is named as such with its error.
      with open(local, "rb") as f:
        f.read(1)
      try:
        reader = array_record_module.ArrayRecordReader(local)
      except Exception as e:
        if not _is_riegeli_damage(e):
          raise
        shard.framing_broken = True
        shard.add(f"not a readable ArrayRecord file: {_first_line(e)}")
        return
      try:
        # ArrayRecord keeps its index in a footer: a truncated file, or a damaged footer, opens
        # without an error but not ok(), holding no records.
        if not reader.ok():
          shard.framing_broken = True
          shard.add("not a readable ArrayRecord file: its footer (the index of its records) is "
                    "damaged or missing; truncated?")
          return
        total = reader.num_records()
        for begin in range(0, total, CHUNK_RECORDS):
          end = min(begin + CHUNK_RECORDS, total)
          try:
            records = list(enumerate(reader.read(begin, end), begin))
          except Exception:
            # Riegeli checks a hash per chunk and fails the whole range: read the range one
            # record at a time to name each record that is damaged.
            records = []
            for index in range(begin, end):
              try:
                records.append((index, reader.read([index])[0]))
              except Exception as e:
                if not _is_riegeli_damage(e):
                  raise
                shard.read += 1
                shard.add(f"record {index}: {_first_line(e)}")
          for index, data in records:
            shard.read += 1
            yield index, data
      finally:
        try:
          reader.close()
        except Exception as e:
          # A reader that found damage raises it again when closed (a damaged footer, here).
          if not _is_riegeli_damage(e):
            raise
          if not shard.problems:
            shard.add(f"not a readable ArrayRecord file: {_first_line(e)}")
  except Exception as e:  # the file, its copy from a bucket, or a record could not be read
    shard.cannot_read(e)


@contextlib.contextmanager
def _local_copy(path: str) -> Iterator[str]:
  """A local path for `path`: itself, or a temporary copy of a remote file (the array_record
  reader opens paths with its own file layer, which does not read gs:// through etils)."""
  if paths.is_local(path):
    yield path
    return
  with tempfile.NamedTemporaryFile(prefix="verify_", suffix=".array_record") as copy:
    with paths.open_binary(path) as f:
      while chunk := f.read(16 << 20):
        copy.write(chunk)
    copy.flush()
    yield copy.name


def _first_line(error: Exception) -> str:
  text = str(getattr(error, "message", "") or error).strip()
  # TensorFlow wraps its messages in where the op ran: "{{function_node ...}} <message> [Op:...]".
  text = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", text)
  text = re.sub(r"\s*\[Op:[^\]]*\].*$", "", text, flags=re.S)
  return text.splitlines()[0] if text else type(error).__name__


def _records(shard: ShardReport, file_format: str) -> Iterator[Tuple[int, bytes]]:
  try:
    exists = paths.as_path(shard.path).exists()
  except Exception as e:  # a bucket that does not answer, credentials refused
    shard.cannot_read(e)
    return iter(())
  if not exists:
    shard.framing_broken = True
    shard.add("missing")
    return iter(())
  if file_format == "array_record":
    return _array_record_records(shard)
  return _tfrecord_records(shard)


# ------------------------------------------------------------------ decoding


@dataclasses.dataclass(frozen=True)
class _Check:
  """One property of a decoded example: `holds` is a graph-mode predicate, `explain` says in words
  why a decoded example fails it (eager)."""
  path: Tuple[str, ...]
  holds: Callable
  explain: Callable


def _checks(features) -> List[_Check]:
  """A check per image (declared shape) and per ClassLabel (in range) of the features."""
  import tensorflow as tf
  import tensorflow_datasets as tfds

  checks = []

  def walk(feature, path, in_sequence):
    if isinstance(feature, tfds.features.FeaturesDict):
      for key, child in feature.items():
        walk(child, path + (key,), in_sequence)
    elif isinstance(feature, tfds.features.Sequence):
      walk(feature.feature, path, True)
    elif isinstance(feature, tfds.features.Image) and not in_sequence:
      shape = tuple(feature.shape)

      def holds(value, shape=shape):
        # Not tf.shape: it returns the declared shape as a constant (TFDS set it on the decoded
        # tensor), so an image of another size would pass, and its decoding would be pruned
        # from the graph, an image that does not decode passing too.
        actual = tf.raw_ops.Shape(input=value)
        return tf.reduce_all(tf.stack(
            [tf.constant(True)] + [tf.equal(actual[i], d) for i, d in enumerate(shape)
                                   if d is not None]))

      def explain(value, shape=shape):
        actual = tuple(value.shape)
        if len(actual) == len(shape) and all(d is None or a == d for a, d in zip(actual, shape)):
          return None
        return f"decodes to shape {actual}, the features declare {tuple(shape)}"

      checks.append(_Check(path, holds, explain))
    elif isinstance(feature, tfds.features.ClassLabel):
      classes = feature.num_classes

      def holds(value, classes=classes):
        if isinstance(value, tf.RaggedTensor):  # a ClassLabel in a Sequence of sequences
          value = value.flat_values
        flat = tf.reshape(tf.cast(value, tf.int64), [-1])
        # -1 is TFDS's "no label" (ClassLabel accepts it when encoding).
        return tf.reduce_all((flat >= -1) & (flat < classes))

      def explain(value, classes=classes):
        if isinstance(value, tf.RaggedTensor):
          value = value.flat_values
        bad = [int(v) for v in tf.reshape(value, [-1]).numpy() if not -1 <= v < classes]
        if not bad:
          return None
        return f"{bad[0]} is not a class (there are {classes}: 0 to {classes - 1}, or -1)"

      checks.append(_Check(path, holds, explain))

  walk(features, (), False)
  return checks


def _value(decoded, path):
  for key in path:
    decoded = decoded[key]
  return decoded


def _why_undecodable(features, checks, data: bytes) -> str:
  """Why one record does not decode, or fails a check, in words (eager; failures only)."""
  import tensorflow as tf
  import tensorflow_datasets as tfds

  errors = (tf.errors.OpError, ValueError, TypeError)
  try:
    decoded = features.deserialize_example(tf.constant(data))
  except errors as e:
    # Decode one feature at a time, the others left encoded, to name the one that fails (nested
    # FeaturesDicts are decoded whole: a decoder cannot stand for a dict).
    keys = [k for k, f in features.items() if not isinstance(f, tfds.features.FeaturesDict)]
    try:
      features.deserialize_example(tf.constant(data), decoders={
          k: tfds.decode.SkipDecoding() for k in keys})
    except errors as parse_error:
      return f"is not an example of these features: {_first_line(parse_error)}"
    for key in keys:
      try:
        features.deserialize_example(tf.constant(data), decoders={
            k: tfds.decode.SkipDecoding() for k in keys if k != key})
      except errors as feature_error:
        return f"does not decode: {key}: {_first_line(feature_error)}"
    return f"does not decode: {_first_line(e)}"
  for check in checks:
    why = check.explain(_value(decoded, check.path))
    if why:
      return f"{'/'.join(check.path)}: {why}"
  return "does not decode"


Chunks = Callable[[], Iterator[Tuple[List[int], List[int], List[bytes]]]]


class _Decoder:
  """Decodes and checks examples in a tf.data pipeline fed with (shard, index, bytes) chunks.

  Where every feature is a fixed-size tensor (images of a declared size, labels, scalars: the
  MNIST family, smallNORB, ImageNet's images), each chunk is parsed as one batch
  (`tf.io.parse_example`) and each feature decoded by its own `decode_batch_example`: half the
  time of decoding example by example, which is what one epoch of tfds.load does. Other features
  (sequences, images of any size) are decoded one example at a time.
  """

  def __init__(self, features):
    import tensorflow as tf

    self.features = features
    self.checks = _checks(features)
    checks = self.checks

    def check_one(shard, index, serialized):
      decoded = features.deserialize_example(serialized)
      holds = [c.holds(_value(decoded, c.path)) for c in checks]
      ok = tf.reduce_all(tf.stack(holds)) if holds else tf.constant(True)
      # Features no check reads would have their decoding pruned from the graph: make the
      # answer wait for every decoded tensor.
      with tf.control_dependencies(tf.nest.flatten(decoded, expand_composites=True)):
        ok = tf.identity(ok)
      return shard, index, ok

    self._check_one = check_one
    self._check_batch = self._batch_checker(features)

  @staticmethod
  def _batch_checker(features):
    """A check of a whole chunk at once, or None when the features cannot be parsed as one
    batch of fixed-size tensors."""
    import tensorflow as tf
    import tensorflow_datasets as tfds
    try:
      # TFDS's own parsing specs (not re-derived from the features here); an internal of
      # tensorflow_datasets 4.9: if it moves, examples are decoded one by one, as tfds.load does.
      from tensorflow_datasets.core import example_parser
      specs = example_parser.ExampleParser(features.get_serialized_info()).flat_feature_specs
    except (ImportError, AttributeError):
      return None
    leaves = []

    def walk(feature, path) -> bool:
      if isinstance(feature, tfds.features.FeaturesDict):
        return all(walk(child, path + (key,)) for key, child in feature.items())
      if isinstance(feature, tfds.features.Sequence):
        return False
      if isinstance(feature, tfds.features.Image) and None in tuple(feature.shape):
        return False  # a batch of images of different sizes cannot be stacked
      key = "/".join(path)
      if not isinstance(specs.get(key), tf.io.FixedLenFeature):
        return False
      leaves.append((key, feature))
      return True

    if not walk(features, ()) or len(leaves) != len(specs):
      return None

    def check_batch(shard, index, serialized):
      parsed = tf.io.parse_example(serialized, specs)
      oks, decoded = [tf.ones_like(index, tf.bool)], []
      for key, feature in leaves:
        if isinstance(feature, tfds.features.Image):
          # Each image's shape as decoded: TFDS's decode_batch_example stacks the images at the
          # declared shape without looking at the decoded one (a 20x20 PNG passes as 28x28).
          shapes = tf.map_fn(lambda encoded, f=feature: tf.raw_ops.Shape(
              input=f.decode_example(encoded)), parsed[key],
                             fn_output_signature=tf.TensorSpec([len(feature.shape)], tf.int32))
          oks.append(tf.reduce_all(tf.equal(shapes, tf.constant(feature.shape, tf.int32)),
                                   axis=1))
          continue
        value = feature.decode_batch_example(parsed[key])
        decoded.append(value)
        if isinstance(feature, tfds.features.ClassLabel):
          flat = tf.reshape(tf.cast(value, tf.int64), [tf.shape(value)[0], -1])
          oks.append(tf.reduce_all((flat >= -1) & (flat < feature.num_classes), axis=1))
      ok = tf.reduce_all(tf.stack(oks), axis=0)
      # A chunk holding an image that does not decode fails as a whole, and is looked at again
      # example by example.
      with tf.control_dependencies(decoded):
        ok = tf.identity(ok)
      return shard, index, ok

    return check_batch

  def failures(self, chunks: Chunks, one_by_one: bool = False) -> Dict[int, List[int]]:
    """shard number -> indices of the records that did not decode or failed a check. In batches,
    every record of a chunk that failed as a whole is among them: `one_by_one` tells which."""
    import numpy as np
    import tensorflow as tf

    fed: Dict[int, List[np.ndarray]] = {}
    raised: List[BaseException] = []

    def generate():
      # Reading errors are the shard readers' to report; whatever escapes them (a bug here) is
      # raised below, not dropped by ignore_errors with the rest of the records.
      try:
        for shard_ids, indices, records in chunks():
          fed.setdefault(shard_ids[0], []).append(np.asarray(indices, np.int64))
          yield (np.asarray(shard_ids, np.int32), np.asarray(indices, np.int64),
                 np.asarray(records, dtype=object))
      except Exception as e:
        raised.append(e)

    spec = (tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None], tf.string))
    ds = tf.data.Dataset.from_generator(generate, output_signature=spec)
    if one_by_one or self._check_batch is None:
      ds = ds.unbatch().map(self._check_one, num_parallel_calls=tf.data.AUTOTUNE,
                            deterministic=False)
    else:
      ds = ds.map(self._check_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    # A record (or chunk) that does not decode raises inside the map: it is dropped here, and
    # found below as indices that were fed but never came out. The generator itself never
    # raises, so that nothing but decoding is ever dropped.
    ds = ds.ignore_errors()
    if one_by_one or self._check_batch is None:
      ds = ds.batch(CHUNK_RECORDS)
    decoded: Dict[int, List[np.ndarray]] = {}
    failed: Dict[int, List[int]] = {}
    for shard_ids, indices, oks in ds.as_numpy_iterator():
      for shard_id in np.unique(shard_ids):
        rows = shard_ids == shard_id
        decoded.setdefault(int(shard_id), []).append(indices[rows])
        failed.setdefault(int(shard_id), []).extend(int(i) for i in indices[rows & ~oks])
    if raised:
      raise raised[0]
    for shard_id, arrays in fed.items():
      given = np.concatenate(arrays)
      came_out = np.concatenate(decoded.get(shard_id, [np.zeros(0, np.int64)]))
      lost = np.setdiff1d(given, came_out)
      if len(lost):
        failed.setdefault(shard_id, []).extend(int(i) for i in lost)
    return {k: sorted(v) for k, v in failed.items() if v}


# ------------------------------------------------------------------ the command


def load_builder(name: str, data_dir: Optional[str]):
  """The builder of a built dataset, with its info read from the data dir (DatasetNotFound if
  there is none)."""
  import tensorflow_datasets as tfds

  builder = tfds.builder(name, data_dir=data_dir)
  info_file = paths.as_path(builder.data_dir) / "dataset_info.json"
  if not info_file.exists():
    where = data_dir or "TFDS's default data dir"
    raise DatasetNotFound(f"{where} holds no built {name} {builder.version} (no {info_file})")
  return builder


def verify_split(split: str, split_info, file_format: str, decoder: _Decoder,
                 progress: bool) -> SplitReport:
  import tensorflow_datasets as tfds

  report = SplitReport(split, [ShardReport(os.fspath(p), int(n)) for p, n in
                               zip(split_info.filepaths, split_info.shard_lengths)])
  total = sum(s.expected for s in report.shards)
  bar = tfds.core.utils.tqdm(total=total, desc=f"verify {split}", unit=" examples", leave=False,
                             disable=not progress)

  def chunks():
    for shard_id, shard in enumerate(report.shards):
      indices, records = [], []
      for index, data in _records(shard, file_format):
        indices.append(index)
        records.append(data)
        if len(records) == CHUNK_RECORDS:
          yield [shard_id] * len(records), indices, records
          bar.update(len(records))
          indices, records = [], []
      if records:
        yield [shard_id] * len(records), indices, records
        bar.update(len(records))

  with bar:
    failures = decoder.failures(chunks)
  for shard_id, shard in enumerate(report.shards):
    if not shard.framing_broken and shard.error is None and shard.read != shard.expected:
      shard.add(f"holds {shard.read} records, dataset_info.json says {shard.expected}")
    if shard_id in failures:
      _explain(shard, failures[shard_id], file_format, decoder)
  return report


def _explain(shard: ShardReport, candidates: Sequence[int], file_format: str,
             decoder: _Decoder) -> None:
  """Reads the shard again for the records that failed to decode (or were in a chunk that did),
  finds which fail one by one, and says why the first few failed."""
  wanted = set(candidates)
  # A throwaway report: the shard's own problems were counted on the first read.
  again = ShardReport(shard.path, shard.expected)
  records = [(i, data) for i, data in _records(again, file_format) if i in wanted]
  if again.error is not None:  # the shard could be read once, but not twice
    shard.cannot_read(again.error)

  def chunks():
    for begin in range(0, len(records), CHUNK_RECORDS):
      part = records[begin:begin + CHUNK_RECORDS]
      yield [0] * len(part), [i for i, _ in part], [data for _, data in part]

  failed = decoder.failures(chunks, one_by_one=True).get(0, [])
  by_index = dict(records)
  for index in failed[:MAX_PROBLEMS_PER_SHARD]:
    why = _why_undecodable(decoder.features, decoder.checks, by_index[index])
    shard.add(f"record {index}: {why}")
  shard.omitted += max(0, len(failed) - MAX_PROBLEMS_PER_SHARD)


def verify(name: str, data_dir: Optional[str], out=print, progress: Optional[bool] = None) -> int:
  """Verifies a built dataset, printing a line per split (and one per problem) and a summary.
  Returns WHOLE, DAMAGED, or UNREADABLE when any shard could not be read (see EXIT_STATUS).
  Raises DatasetNotFound."""
  builder = load_builder(name, data_dir)
  info = builder.info
  file_format = info.file_format.value if info.file_format else "tfrecord"
  if progress is None:
    progress = sys.stderr.isatty()
  out(f"verify {info.full_name} ({file_format}) in {builder.data_dir}")
  decoder = _Decoder(info.features)
  reports = []
  for split, split_info in info.splits.items():
    report = verify_split(split, split_info, file_format, decoder, progress)
    reports.append(report)
    examples = sum(s.expected for s in report.shards)
    shards = len(report.shards)
    states = [f"{len(shards_of)} of {shards} shards {what}" for shards_of, what in (
        (report.bad, "damaged"), (report.unreadable, "unreadable")) if shards_of]
    out(f"  {split}: {examples} examples in {shards} shard{'s' if shards != 1 else ''}: "
        f"{', '.join(states) or 'whole'}")
    for shard in report.shards:
      for line in shard.lines():
        out(f"    {line}")
  shards = sum(len(r.shards) for r in reports)
  bad = [s for r in reports for s in r.bad]
  unreadable = [s for r in reports for s in r.unreadable]
  if not bad and not unreadable:
    examples = sum(s.read for r in reports for s in r.shards)
    out(f"whole: {len(reports)} splits, {shards} shards, {examples} examples: every record is "
        "intact and every example decodes")
    return WHOLE
  if bad:
    where = ", ".join(f"{r.name} {len(r.bad)}" for r in reports if r.bad)
    out(f"damaged: {len(bad)} of {shards} shards ({where}); copy them again or rebuild")
  if not unreadable:
    return DAMAGED
  where = ", ".join(f"{r.name} {len(r.unreadable)}" for r in reports if r.unreadable)
  out(f"unreadable: {len(unreadable)} of {shards} shards ({where}) could not be read, so what "
      "they hold is unknown: fix what the error names (permissions, credentials, the network) "
      "and verify again")
  _print_tracebacks_of_bugs(unreadable)
  return UNREADABLE


def _print_tracebacks_of_bugs(shards: Sequence[ShardReport]) -> None:
  """The traceback of each error that is neither an I/O error nor TensorFlow's, on stderr: the
  one line that names it is not enough to fix a bug."""
  import traceback
  import tensorflow as tf

  for shard in shards:
    if not isinstance(shard.error, (OSError, tf.errors.OpError)):
      print(f"verify: reading {shard.path} raised an error that is not an I/O error; its "
            "traceback:", file=sys.stderr)
      traceback.print_exception(shard.error, file=sys.stderr)


# ------------------------------------------------------------------ sources


def verify_sources(name: str, manual_dir: str, out=print) -> int:
  """Compares the files of `manual_dir` (or `manual_dir/<builder>/`) with the builder's
  registered checksums (`sources.Resolver.check_manual_dir`), printing a line per file and a
  summary. Returns WHOLE, DAMAGED, or NOTHING_COMPARED when no file could be compared."""
  import tensorflow_datasets as tfds
  from tfds_builders import sources
  from tfds_builders.builder_base import sample_sources_dir

  sources_name = tfds.builder_cls(name.partition("/")[0].split(":")[0]).sources_name()
  check = sources.Resolver(sources_name, manual_dir,
                           samples_dir=os.path.realpath(sample_sources_dir())).check_manual_dir()
  for line in check.lines():
    out(line)
  return {sources.PASSED: WHOLE, sources.FAILED: DAMAGED,
          sources.NOTHING_COMPARED: NOTHING_COMPARED}[check.verdict]
