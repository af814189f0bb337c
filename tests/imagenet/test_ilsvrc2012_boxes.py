"""ilsvrc2012_localization: `ilsvrc2012`'s examples plus `objects`, every box equal to the XML it came
from (archives, extracted folders, Beam workers), the summary line of each split, the box archives
required by this builder only, and bad XML stopping the build with the member named."""

import gzip
import logging
import os
import re
import tarfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from formats.test_imagenet_boxes import expected_from_xml, xmls_in
from imagenet.test_ilsvrc2012 import SOURCES, build, generate, manual_dir_with
from tfds_builders.errors import ManualDirError, SourceFormatError
from tfds_builders.formats import imagenet_boxes

TRAIN_BOXES = SOURCES / "ILSVRC2012_bbox_train_v2.tar.gz"
VAL_BOXES = SOURCES / "ILSVRC2012_bbox_val_v3.tgz"
BOXES = {"train": TRAIN_BOXES, "validation": VAL_BOXES}
COUNTS = {"train": 21, "validation": 7, "test": 4}


def read(builder, split):
  """file name -> (label, image bytes, boxes float32 (k, 4), box labels) of every example."""
  ds = builder.as_dataset(split=split, shuffle_files=False,
                          decoders={"image": tfds.decode.SkipDecoding()})
  out = {}
  for ex in tfds.as_numpy(ds):
    objects = ex.get("objects")
    out[ex["file_name"].decode()] = (
        int(ex["label"]), ex["image"],
        None if objects is None else objects["bbox"],
        None if objects is None else objects["label"].tolist())
  return out


class _Lines(logging.Handler):
  def __init__(self):
    super().__init__(logging.DEBUG)
    self.records = []

  def emit(self, record):
    self.records.append(record)


def build_logging(manual_dir, data_dir, name="ilsvrc2012_localization", **kwargs):
  """The build and the (level, message) of each box summary line it logged."""
  handler = _Lines()
  logger = logging.getLogger("tfds_builders")
  level = logger.level
  logger.addHandler(handler)
  logger.setLevel(logging.DEBUG)
  try:
    builder = build(manual_dir, data_dir, name, **kwargs)
  finally:
    logger.removeHandler(handler)
    logger.setLevel(level)
  return builder, [(r.levelno, r.getMessage()) for r in handler.records
                   if " boxes from " in r.getMessage()]


@pytest.fixture(scope="module")
def localization(tmp_path_factory):
  return build_logging(SOURCES, tmp_path_factory.mktemp("ilsvrc2012_localization"))


@pytest.fixture(scope="module")
def default(tmp_path_factory):
  return build(SOURCES, tmp_path_factory.mktemp("default"))


def assert_boxes_match_the_xmls(builder):
  with_boxes = {}
  for split in ("train", "validation", "test"):
    xmls = xmls_in(BOXES[split]) if split in BOXES else {}
    examples = read(builder, split)
    assert len(examples) == COUNTS[split]
    with_boxes[split] = 0
    for name, (_, _, yxyx, labels) in examples.items():
      stem = name.rsplit(".", 1)[0]
      if stem not in xmls:
        assert yxyx.shape == (0, 4) and labels == [], name
        continue
      with_boxes[split] += 1
      want_yxyx, want_labels, _ = expected_from_xml(xmls[stem], stem)
      assert yxyx.dtype == np.float32 and yxyx.tobytes() == want_yxyx.tobytes(), name
      assert labels == want_labels.tolist(), name
  return with_boxes


def test_every_box_equals_the_xml_it_came_from(localization):
  builder, _ = localization
  assert assert_boxes_match_the_xmls(builder) == {"train": 11, "validation": 7, "test": 0}
  assert builder.info.features["objects"]["label"].names == builder.info.features["label"].names


def test_images_labels_and_file_names_are_those_of_default(localization, default):
  builder, _ = localization
  for split in COUNTS:
    ours = {name: ex[:2] for name, ex in read(builder, split).items()}
    theirs = {name: ex[:2] for name, ex in read(default, split).items()}
    assert ours == theirs
  assert "objects" not in default.info.features
  assert list(default.info.features) == ["image", "label", "file_name"]


def test_one_summary_line_per_split_counts_what_was_clamped_renamed_and_skipped(localization):
  _, lines = localization
  assert lines == [
      (logging.INFO, f"ilsvrc2012: train boxes from {TRAIN_BOXES}: 11 of 21 images have a box "
                     "XML (12 boxes); 1 box past the image edge clamped to it (e.g. "
                     "n03125729_5.xml); 1 box named by words instead of a WNID (e.g. "
                     "n02105855_15.xml); 1 XML for images not in the split skipped (e.g. "
                     "n01735189_7777.xml)"),
      (logging.INFO, f"ilsvrc2012: validation boxes from {VAL_BOXES}: 7 of 7 images have a box "
                     "XML (8 boxes); 1 box past the image edge clamped to it (e.g. "
                     "ILSVRC2012_val_00000002.xml); 1 XML for images not in the split skipped "
                     "(e.g. ILSVRC2012_val_00000007.xml)"),
  ]


def test_extracted_xml_folders_give_the_same_dataset(localization, tmp_path):
  builder, _ = localization
  manual = manual_dir_with(tmp_path, *generate.TREE_FOLDERS)
  from_tree, lines = build_logging(manual, tmp_path / "data")
  for split in COUNTS:
    assert read(from_tree, split).keys() == read(builder, split).keys()
    for name, (label, image, yxyx, labels) in read(from_tree, split).items():
      theirs = read(builder, split)[name]
      assert (label, image, labels) == (theirs[0], theirs[1], theirs[3])
      assert yxyx.tobytes() == theirs[2].tobytes()
  assert [line.split(": ", 2)[2] for _, line in lines] == [
      line.split(": ", 2)[2] for _, line in localization[1]]
  assert f"train boxes from {manual / 'ILSVRC2012_bbox_train_v2'}:" in lines[0][1]


def test_the_box_archives_are_required_for_localization_only(tmp_path):
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar",
                           "ILSVRC2012_bbox_val_v3.tgz")
  with pytest.raises(ManualDirError) as e:
    build(manual, tmp_path / "data", "ilsvrc2012_localization")
  d = manual
  assert str(e.value) == f"""\
ilsvrc2012: input files are missing or misnamed in {d}.
Looked for:
  train: {d}/ILSVRC2012_img_train.tar or {d}/train/<wnid>/*.JPEG -- found \
{d}/ILSVRC2012_img_train.tar
  validation: {d}/ILSVRC2012_img_val.tar or {d}/val/ (flat, or in <wnid>/ folders) -- found \
{d}/ILSVRC2012_img_val.tar
  test: {d}/ILSVRC2012_img_test_v10102019.tar, {d}/ILSVRC2012_img_test.tar or {d}/test/*.JPEG \
-- not found
  devkit: {d}/ILSVRC2012_devkit_t12.tar.gz, {d}/ILSVRC2012_devkit_t12.tar or \
{d}/ILSVRC2012_devkit_t12/data/ -- not found
  train_boxes: {d}/ILSVRC2012_bbox_train_v2.tar.gz, {d}/ILSVRC2012_bbox_train_v2.tgz, \
{d}/ILSVRC2012_bbox_train_v2.tar or {d}/ILSVRC2012_bbox_train_v2/<wnid>/*.xml -- not found
  validation_boxes: {d}/ILSVRC2012_bbox_val_v3.tgz, {d}/ILSVRC2012_bbox_val_v3.tar.gz, \
{d}/ILSVRC2012_bbox_val_v3.tar or {d}/ILSVRC2012_bbox_val_v3/val/*.xml -- found \
{d}/ILSVRC2012_bbox_val_v3.tgz
Found instead:
  nothing that looks like one of these files
How to fix: ilsvrc2012_localization needs the box archive of every split it builds: \
ILSVRC2012_bbox_train_v2.tar.gz for train (from https://image-net.org/download-images, beside \
the images, with exactly the names above; extracted into a folder of the archive's name works \
too). Build ilsvrc2012 for the images without boxes."""
  # The same folder builds `ilsvrc2012`, which never reads the box archives.
  assert {s: i.num_examples for s, i in build(manual, tmp_path / "default").info.splits.items()
          } == {"train": 21, "validation": 7}
  # A split without images needs no boxes: validation alone builds.
  (manual / "ILSVRC2012_img_train.tar").unlink()
  alone = build(manual, tmp_path / "alone", "ilsvrc2012_localization")
  assert {s: i.num_examples for s, i in alone.info.splits.items()} == {"validation": 7}


def test_default_does_not_read_the_box_archives(tmp_path):
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_val.tar")
  (manual / "ILSVRC2012_bbox_val_v3.tgz").write_bytes(b"damaged" * 100)
  assert build(manual, tmp_path / "default").info.splits["validation"].num_examples == 7
  with pytest.raises(SourceFormatError) as e:
    build(manual, tmp_path / "localization", "ilsvrc2012_localization")
  assert str(e.value) == (f"{manual / 'ILSVRC2012_bbox_val_v3.tgz'}: is not a readable tar or "
                          "tar.gz archive (invalid header)")


SWAPPED_SUMMARY = (
    "ilsvrc2012: validation boxes from {archive}: 7 of 7 images have a box XML (8 boxes); 1 box "
    "past the image edge clamped to it (e.g. ILSVRC2012_val_00000002.xml); 1 box with a maximum "
    "below its minimum put in order (e.g. ILSVRC2012_val_00000003.xml); 1 XML for images not in "
    "the split skipped (e.g. ILSVRC2012_val_00000007.xml)")


def val_boxes_with(manual, change):
  """A copy of the sample val box archive in `manual`, each XML passed through change(path,
  text) (None leaves the XML out)."""
  members = []
  for path, text in generate.val_box_xmls(
      {n: ((48, 36), (1, 2, 10, 12)) for n in generate.VALIDATION}).items():
    text = change(path, text.decode())
    if text is not None:
      members.append((path, text.encode()))
  (manual / "ILSVRC2012_bbox_val_v3.tgz").write_bytes(gzip.compress(
      generate.box_archive(members, ["val/"])))


def test_bad_xml_stops_the_build_naming_the_member(tmp_path):
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_val.tar")
  val_boxes_with(manual, lambda path, text: text.replace("<xmax>10<", "<xmax>ten<")
                 if path.endswith("_00000003.xml") else text)
  with pytest.raises(SourceFormatError) as e:
    build(manual, tmp_path / "data", "ilsvrc2012_localization")
  assert str(e.value) == (f"{manual / 'ILSVRC2012_bbox_val_v3.tgz'}:val/"
                          "ILSVRC2012_val_00000003.xml: object 1 <bndbox><xmax> is 'ten', not a "
                          "number")
  assert list((tmp_path / "data").rglob("dataset_info.json")) == []  # nothing tfds.load accepts


def test_a_maximum_below_its_minimum_is_put_in_order_and_counted(tmp_path):
  # Real train XMLs hold some (the inception pipeline's process_bounding_boxes.py orders them).
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_val.tar")
  val_boxes_with(manual, lambda path, text: text.replace("<xmax>10<", "<xmax>0<")
                 if path.endswith("_00000003.xml") else text)
  builder, lines = build_logging(manual, tmp_path / "data")
  assert lines == [(logging.INFO, SWAPPED_SUMMARY.format(archive=manual /
                                                         "ILSVRC2012_bbox_val_v3.tgz"))]
  examples = read(builder, "validation")
  assert examples["ILSVRC2012_val_00000003.JPEG"][2].tolist() == [
      np.float32([2 / 36, 0 / 48, 12 / 36, 1 / 48]).tolist()]


def test_a_validation_image_without_an_xml_is_a_warning(tmp_path):
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_val.tar")
  val_boxes_with(manual, lambda path, text: None if path.endswith(
      ("_00000005.xml", "_00001108.xml")) else text)
  builder, lines = build_logging(manual, tmp_path / "data")
  assert lines == [(logging.WARNING, f"ilsvrc2012: validation boxes from "
                    f"{manual / 'ILSVRC2012_bbox_val_v3.tgz'}: 5 of 7 images have a box XML "
                    "(6 boxes); 1 box past the image edge clamped to it (e.g. "
                    "ILSVRC2012_val_00000002.xml); 1 XML for images not in the split skipped "
                    "(e.g. ILSVRC2012_val_00000007.xml)")]
  examples = read(builder, "validation")
  assert examples["ILSVRC2012_val_00000005.JPEG"][2].shape == (0, 4)
  assert examples["ILSVRC2012_val_00000001.JPEG"][2].tolist() == [
      np.float32([2 / 36, 1 / 48, 12 / 36, 10 / 48]).tolist()]


def test_the_boxes_are_what_sample_distorted_bounding_box_takes(localization):
  builder, _ = localization
  ds = builder.as_dataset(split="validation", shuffle_files=False)
  for example in ds.take(3):
    shape = tf.shape(example["image"])
    bbox = example["objects"]["bbox"]
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        shape, bounding_boxes=bbox[tf.newaxis], min_object_covered=1.0,
        area_range=(0.05, 1.0), max_attempts=100, seed=1)
    # The crop covers all of at least one box (or is the whole image, which covers them all).
    height, width = int(shape[0]), int(shape[1])
    top, left = int(begin[0]), int(begin[1])
    bottom, right = top + int(size[0]), left + int(size[1])
    pixels = np.round(bbox.numpy() * [height, width, height, width])
    assert any(top <= y0 + 1 and left <= x0 + 1 and bottom >= y1 - 1 and right >= x1 - 1
               for y0, x0, y1, x1 in pixels), (begin, size, pixels)


def test_beam_workers_give_the_plain_run_each_unit_carrying_its_own_boxes(localization, tmp_path,
                                                                         monkeypatch):
  import apache_beam as beam
  from tfds_builders.imagenet import beam_generation
  units_of = []
  original = beam_generation.examples_transform
  monkeypatch.setattr(beam_generation, "examples_transform",
                      lambda units, *args: units_of.append(units) or original(units, *args))
  options = beam.options.pipeline_options.PipelineOptions(
      ["--runner=apache_beam.runners.portability.fn_api_runner.FnApiRunner",
       "--direct_running_mode=multi_processing", "--direct_num_workers=2"])
  beamed = build(SOURCES, tmp_path / "beam", "ilsvrc2012_localization", beam_options=options)
  assert [len(units) for units in units_of] == [7, 1, 1]
  train_stems = sorted(xmls_in(TRAIN_BOXES))
  for unit in units_of[0]:
    carried = [unit.boxes.stem_at(i) for i in range(len(unit.boxes))]
    assert carried == [s for s in train_stems if s.startswith(unit.wnid + "_")]
  val_unit, = units_of[1]
  assert [val_unit.boxes.stem_at(i) for i in range(len(val_unit.boxes))] == [
      imagenet_boxes.box_stem(m.name) for m in val_unit.members]
  assert len(units_of[2][0].boxes) == 0  # test: no boxes
  plain, _ = localization
  for split in COUNTS:
    ours, theirs = read(plain, split), read(beamed, split)
    assert sorted(ours) == sorted(theirs)
    for name in ours:
      assert ours[name][:2] == theirs[name][:2] and ours[name][3] == theirs[name][3], name
      assert ours[name][2].tobytes() == theirs[name][2].tobytes(), name
