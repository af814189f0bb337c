"""The box-XML reader: every box of the sample archives against its XML, the archive and its
extracted folder alike, the quirks real files hold (flagged, not refused), everything else refused
with the member named, and an index of a few dozen bytes per XML."""

import gzip
import importlib.util
import io
import pickle
import re
import tarfile
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from conftest import DUMMY_DATA
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import imagenet_boxes as boxes
from tfds_builders.formats.imagenet_boxes import BY_WORDS, CLAMPED, SWAPPED
from tfds_builders.imagenet import classes

SOURCES = DUMMY_DATA / "ilsvrc2012"
TRAIN = SOURCES / "ILSVRC2012_bbox_train_v2.tar.gz"
VAL = SOURCES / "ILSVRC2012_bbox_val_v3.tgz"
_spec = importlib.util.spec_from_file_location("ilsvrc2012_generate", SOURCES / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)
WNIDS = classes.wnids()
WORDS = classes.bundled_words()
FIELD = re.compile(r"<(\w+)>([^<]*)</\1>")


def expected_from_xml(text: str, stem: str):
  """(yxyx float32, labels, flags) computed from the XML text without an XML parser: objects in
  order, each coordinate over the <size> field of its axis, clamped to [0, 1]."""
  width = float(re.search(r"<width>([^<]*)</width>", text).group(1))
  height = float(re.search(r"<height>([^<]*)</height>", text).group(1))
  rows, labels, flags = [], [], []
  for obj in re.findall(r"<object>(.*?)</object>", text, re.S):
    fields = dict(FIELD.findall(obj))
    raw = [float(fields["ymin"]) / height, float(fields["xmin"]) / width,
           float(fields["ymax"]) / height, float(fields["xmax"]) / width]
    rows.append([min(max(v, 0.0), 1.0) for v in raw])
    flag = CLAMPED if any(v < 0 or v > 1 for v in raw) else 0
    name = fields["name"]
    if name in WNIDS:
      labels.append(WNIDS.index(name))
    else:
      labels.append(WNIDS.index(stem.split("_")[0]))
      flag |= BY_WORDS
    flags.append(flag)
  return (np.array(rows, np.float32).reshape(-1, 4), np.array(labels, np.int16),
          np.array(flags, np.uint8))


def xmls_in(archive):
  """stem -> XML text of every XML in an archive, read with tarfile."""
  with tarfile.open(archive) as tar:
    return {m.name.rsplit("/", 1)[-1][:-4]: tar.extractfile(m).read().decode()
            for m in tar if m.isfile()}


@pytest.mark.parametrize("archive", [TRAIN, VAL], ids=["train", "validation"])
def test_every_box_of_the_sample_archives_matches_its_xml(archive):
  index = boxes.read_boxes(archive, WNIDS, WORDS).index
  xmls = xmls_in(archive)
  assert [index.stem_at(i) for i in range(len(index))] == sorted(xmls)
  for i in range(len(index)):
    stem = index.stem_at(i)
    yxyx, labels, flags = index.boxes_at(i)
    want = expected_from_xml(xmls[stem], stem)
    assert yxyx.dtype == np.float32 and yxyx.tobytes() == want[0].tobytes(), stem
    assert labels.tolist() == want[1].tolist() and flags.tolist() == want[2].tolist(), stem


def test_the_sample_quirks_are_read_and_flagged():
  index = boxes.read_boxes(TRAIN, WNIDS, WORDS).index
  at = index.positions()
  assert len(index) == 12 and len(index.labels) == 13  # 11 images, 1 XML without an image
  # A box 3 pixels past the right edge: xmax clamped to 1.
  yxyx, _, flags = index.boxes_at(at["n03125729_5"])
  assert flags.tolist() == [CLAMPED] and yxyx[0, 3] == 1.0
  # The breed's words where the WNID belongs: labelled with the class the file is named after.
  _, labels, flags = index.boxes_at(at["n02105855_15"])
  assert labels.tolist() == [WNIDS.index("n02105855")] and flags.tolist() == [BY_WORDS]
  # A coordinate written as a float is read as its value.
  text = xmls_in(TRAIN)["n01751748_23"]
  xmin = re.search(r"<xmin>(\d+)\.0</xmin>", text).group(1)
  width = re.search(r"<width>(\d+)</width>", text).group(1)
  assert index.boxes_at(at["n01751748_23"])[0][0, 1] == np.float32(int(xmin) / int(width))
  # A <size> twice the JPEG's (the annotator saw it larger): boxes are relative to the XML's size.
  text = xmls_in(TRAIN)["n04263257_53"]
  jpeg_size = Image.open(SOURCES / "train/n04263257/n04263257_53.JPEG").size
  assert (int(re.search(r"<width>(\d+)</width>", text).group(1)),
          int(re.search(r"<height>(\d+)</height>", text).group(1))) == (2 * jpeg_size[0],
                                                                       2 * jpeg_size[1])
  assert index.boxes_at(at["n09193705_605"])[0].shape == (2, 4)


def test_the_extracted_folders_give_the_same_index_as_the_archives():
  for archive, folder in ((TRAIN, "ILSVRC2012_bbox_train_v2"), (VAL, "ILSVRC2012_bbox_val_v3")):
    from_archive = boxes.read_boxes(archive, WNIDS, WORDS)
    from_folder = boxes.read_boxes(SOURCES / folder, WNIDS, WORDS)
    assert from_folder.index == from_archive.index
    assert (from_folder.not_xml, from_archive.not_xml) == (0, 0)
  assert len(from_archive.index) == 8  # seven validation images and one XML without an image


def test_an_uncompressed_tar_reads_the_same(tmp_path):
  plain = tmp_path / "ILSVRC2012_bbox_val_v3.tar"
  plain.write_bytes(gzip.decompress(VAL.read_bytes()))
  assert boxes.read_boxes(plain, WNIDS).index == boxes.read_boxes(VAL, WNIDS).index


def test_subsets_carry_exactly_their_images_boxes():
  index = boxes.read_boxes(TRAIN, WNIDS, WORDS).index
  one_class = index.take(index.with_prefix("n01735189_"))
  assert [one_class.stem_at(i) for i in range(len(one_class))] == [
      "n01735189_1", "n01735189_5", "n01735189_7777"]
  assert one_class.stems.dtype == np.dtype("S14")  # as narrow as its own stems
  for i in range(len(one_class)):
    got, want = one_class.boxes_at(i), index.boxes_at(index.positions()[one_class.stem_at(i)])
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
  found = index.find(["n09193705_605", "n09193705_63", "n01735189_1", "nothing"])
  assert [index.stem_at(i) for i in found] == ["n01735189_1", "n09193705_605"]
  assert pickle.loads(pickle.dumps(one_class)) == one_class
  assert len(index.take(index.with_prefix("n01440764_"))) == 0
  assert boxes.BoxIndex.empty() == index.take(np.array([], np.int64))


# ---------------------------------------------------------------- what is refused


def box_archive(tmp_path, members, name="boxes.tar.gz"):
  path = tmp_path / name
  path.write_bytes(gzip.compress(generate.box_archive(members)))
  return path


GOOD = generate.box_xml("n01440764", "n01440764_1", (500, 375),
                        [("n01440764", 10, 20, 300, 200)]).decode()


def refused(tmp_path, text, member="n01440764/n01440764_1.xml"):
  path = box_archive(tmp_path, [(member, text.encode() if isinstance(text, str) else text)])
  with pytest.raises(SourceFormatError) as e:
    boxes.read_boxes(path, WNIDS, WORDS)
  prefix = f"{path}:{member}: "
  assert str(e.value).startswith(prefix), str(e.value)
  return str(e.value)[len(prefix):]


@pytest.mark.parametrize("change, problem", [
    (lambda t: t[:-30], "is not well-formed XML (unclosed token: line 23, column 2)"),
    (lambda t: t.replace("<annotation>", "<voc>").replace("</annotation>", "</voc>"),
     "has <voc> at its root, not <annotation>"),
    (lambda t: re.sub(r"<size>.*</size>", "", t, flags=re.S), "has no <size>"),
    (lambda t: re.sub(r"<height>.*</height>", "", t), "<size> has no <height>"),
    (lambda t: t.replace("<width>500", "<width>0"), "<size><width> is '0', not a positive number"),
    (lambda t: t.replace("<width>500", "<width>nan"),
     "<size><width> is 'nan', not a positive number"),
    (lambda t: re.sub(r"<bndbox>.*</bndbox>", "", t, flags=re.S), "object 1 has no <bndbox>"),
    (lambda t: re.sub(r"<ymax>.*</ymax>", "", t), "object 1 <bndbox> has no <ymax>"),
    (lambda t: t.replace("<xmin>10", "<xmin>ten"),
     "object 1 <bndbox><xmin> is 'ten', not a number"),
    (lambda t: '<?xml version="1.0" encoding="foo"?>\n' + t,
     "declares an encoding that cannot be read (unknown encoding: foo); box XMLs are ASCII"),
    (lambda t: t.replace("<name>n01440764", "<name>n00000001"),
     "object 1: <name> n00000001 is not one of the 1000 ILSVRC2012 WNIDs"),
    (lambda t: t.replace("<name>n01440764", "<name>goldfish"),
     "object 1: <name> 'goldfish' is not a WNID (like n01440764) nor a name of the class the "
     "file is named after"),
    (lambda t: t.replace("<name>n01440764</name>", ""), "object 1 has no <name>"),
    (lambda t: '<!DOCTYPE a [<!ENTITY x "xxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;&x;">]>' + t,
     "declares a DOCTYPE or entities; box XMLs have none, and entities are not expanded here"),
])
def test_bad_xml_is_refused_naming_the_member(tmp_path, change, problem):
  assert refused(tmp_path, change(GOOD)) == problem


def test_the_second_object_is_named_by_its_number(tmp_path):
  two = GOOD.replace("</annotation>", re.search(r"\t<object>.*</object>\n", GOOD, re.S).group(0)
                     .replace("<xmax>300", "<xmax>five") + "</annotation>")
  assert refused(tmp_path, two) == "object 2 <bndbox><xmax> is 'five', not a number"


def test_an_oversized_member_is_refused_before_it_is_read(tmp_path):
  assert refused(tmp_path, b" " * (boxes.MAX_XML_BYTES + 1)) == (
      f"is {boxes.MAX_XML_BYTES + 1} bytes; a box XML is a few KB (at most "
      f"{boxes.MAX_XML_BYTES} accepted)")


def test_unsafe_members_links_and_damaged_archives_are_refused(tmp_path):
  path = box_archive(tmp_path, [("../n01440764_1.xml", GOOD.encode())])
  with pytest.raises(SourceFormatError) as e:
    boxes.read_boxes(path, WNIDS)
  assert str(e.value) == (f"{path}: member '../n01440764_1.xml' has an absolute path or '..' in "
                          "it; refusing to read this archive (it is not an ILSVRC2012 archive "
                          "as distributed)")
  out = io.BytesIO()
  with tarfile.open(fileobj=out, mode="w") as tar:
    link = tarfile.TarInfo("n01440764/n01440764_1.xml")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    tar.addfile(link)
  path.write_bytes(out.getvalue())
  with pytest.raises(SourceFormatError) as e:
    boxes.read_boxes(path, WNIDS)
  assert str(e.value) == (f"{path}: member 'n01440764/n01440764_1.xml' is a link or special "
                          "file, not a box XML")
  many = box_archive(tmp_path, [(f"n01440764/n01440764_{i}.xml", GOOD.encode())
                                for i in range(3000)], name="many.tar.gz").read_bytes()
  path.write_bytes(many[:len(many) // 2])
  with pytest.raises(SourceFormatError, match=re.escape(f"{path}: truncated or damaged tar "
                                                        "at member n01440764/n01440764_") +
                     r"\d+\.xml \(Compressed file ended before the end-of-stream marker was "
                     r"reached\)$"):
    boxes.read_boxes(path, WNIDS)
  path.write_bytes(b"not an archive at all" * 100)
  with pytest.raises(SourceFormatError, match=re.escape(
      f"{path}: is not a readable tar or tar.gz archive (")):
    boxes.read_boxes(path, WNIDS)


def test_two_xmls_of_one_image_name_both_places(tmp_path):
  path = box_archive(tmp_path, [("n01440764/n01440764_1.xml", GOOD.encode()),
                                ("extra/n01440764_1.xml", GOOD.encode())])
  with pytest.raises(SourceFormatError) as e:
    boxes.read_boxes(path, WNIDS)
  assert str(e.value) == (f"{path}: holds 1 box file name(s) more than once, e.g. "
                          "n01440764_1.xml at n01440764/n01440764_1.xml and "
                          "extra/n01440764_1.xml; each image has one box XML")


def test_files_that_are_not_xml_are_counted_not_read(tmp_path):
  path = box_archive(tmp_path, [("README.txt", b"notes"), ("n01440764/n01440764_1.xml",
                                                           GOOD.encode()), ("a/.DS_Store", b"\0")])
  reading = boxes.read_boxes(path, WNIDS)
  assert (len(reading.index), reading.not_xml, reading.not_xml_example) == (1, 2, "README.txt")
  folder = tmp_path / "extracted"
  (folder / "n01440764").mkdir(parents=True)
  (folder / "n01440764" / "n01440764_1.xml").write_text(GOOD)
  (folder / "notes.txt").write_text("x")
  reading = boxes.read_boxes(folder, WNIDS)
  assert reading.index == boxes.read_boxes(path, WNIDS).index
  assert (reading.not_xml, reading.not_xml_example) == (1, str(folder / "notes.txt"))


def test_an_xml_without_objects_gives_no_boxes(tmp_path):
  empty = re.sub(r"\t<object>.*</object>\n", "", GOOD, flags=re.S)
  index = boxes.read_boxes(box_archive(tmp_path, [("n01440764/n01440764_1.xml",
                                                   empty.encode())]), WNIDS).index
  assert len(index) == 1 and index.boxes_at(0)[0].shape == (0, 4)


def test_the_index_is_a_few_dozen_bytes_per_xml_and_reading_stays_small(tmp_path):
  count = 20_000
  members = []
  for i in range(count):
    wnid = WNIDS[i % 1000]
    members.append((f"{wnid}/{wnid}_{i}.xml", generate.box_xml(
        wnid, f"{wnid}_{i}", (500, 375), [(wnid, 10, 20, 300, 200)] * (1 + i % 2))))
  path = box_archive(tmp_path, members)
  del members
  tracemalloc.start()
  try:
    index = boxes.read_boxes(path, WNIDS).index
    _, peak = tracemalloc.get_traced_memory()
  finally:
    tracemalloc.stop()
  assert len(index) == count and len(index.labels) == count * 3 // 2
  assert index.nbytes / count < 64
  # While reading: the stems as Python bytes plus the flat arrays, then the sorted copy.
  assert peak / count < 300, peak / count


# ---------------------------------------------------------------- random and damaged bytes


def only_our_error(read, *args):
  """read(*args), where SourceFormatError is the only exception allowed, in bounded memory."""
  tracemalloc.start()
  try:
    return read(*args)
  except SourceFormatError as e:
    assert e.problem
    return None
  finally:
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 << 20, f"peak allocation {peak} bytes"


@st.composite
def mutated(draw, valid: bytes, max_changes=6):
  raw = bytearray(valid)
  for _ in range(draw(st.integers(1, max_changes))):
    raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
  return bytes(raw[:draw(st.one_of(st.just(len(raw)), st.integers(0, len(raw))))])


FUZZ = settings(max_examples=150, deadline=3000,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
VAL_TAR = gzip.decompress(VAL.read_bytes())


@FUZZ
@given(st.one_of(st.binary(max_size=600), mutated(VAL.read_bytes()), mutated(VAL_TAR, 12)))
def test_random_and_damaged_archives_raise_only_our_error(tmp_path_factory, data):
  path = tmp_path_factory.mktemp("fuzz") / "boxes.tgz"
  path.write_bytes(data)
  only_our_error(boxes.read_boxes, path, WNIDS, WORDS)


@FUZZ
@given(mutated(GOOD.encode(), 8))
def test_damaged_xml_raises_only_our_error_or_reads_a_valid_box(tmp_path_factory, xml):
  path = box_archive(tmp_path_factory.mktemp("fuzz"), [("n01440764/n01440764_1.xml", xml)])
  reading = only_our_error(boxes.read_boxes, path, WNIDS, WORDS)
  if reading is not None:
    yxyx = reading.index.yxyx
    assert ((0 <= yxyx) & (yxyx <= 1)).all()
    assert (yxyx[:, 2] >= yxyx[:, 0]).all() and (yxyx[:, 3] >= yxyx[:, 1]).all()


# Written by hand as the real archives are (tabs, VOC fields, `<filename>%s</filename>` in some,
# files under <wnid>/ with folder entries, gzip'd), holding the quirks the inception pipeline's
# process_bounding_boxes.py names: a box past the image edge (its example, n03127925_147), a box
# with a maximum below its minimum, a box entirely outside the image, and a breed's words where the
# WNID belongs.
REAL_LAYOUT = {
    "n03127925/n03127925_147.xml": """<annotation>
	<folder>n03127925</folder>
	<filename>%s</filename>
	<source>
		<database>ILSVRC_2012</database>
	</source>
	<size>
		<width>500</width>
		<height>400</height>
		<depth>3</depth>
	</size>
	<segmented>0</segmented>
	<object>
		<name>n03127925</name>
		<pose>Unspecified</pose>
		<truncated>0</truncated>
		<difficult>0</difficult>
		<bndbox>
			<xmin>100</xmin>
			<ymin>50</ymin>
			<xmax>520</xmax>
			<ymax>400</ymax>
		</bndbox>
	</object>
	<object>
		<name>n03127925</name>
		<pose>Unspecified</pose>
		<truncated>0</truncated>
		<difficult>0</difficult>
		<bndbox>
			<xmin>300</xmin>
			<ymin>200</ymin>
			<xmax>250</xmax>
			<ymax>100</ymax>
		</bndbox>
	</object>
</annotation>
""",
    "n02092002/n02092002_2106.xml": """<annotation>
	<folder>n02092002</folder>
	<filename>n02092002_2106</filename>
	<source>
		<database>ILSVRC_2012</database>
	</source>
	<size>
		<width>250</width>
		<height>200</height>
		<depth>3</depth>
	</size>
	<segmented>0</segmented>
	<object>
		<name>Scottish_deerhound</name>
		<pose>Unspecified</pose>
		<truncated>0</truncated>
		<difficult>0</difficult>
		<bndbox>
			<xmin>25</xmin>
			<ymin>20</ymin>
			<xmax>225</xmax>
			<ymax>180</ymax>
		</bndbox>
	</object>
	<object>
		<name>n02092002</name>
		<pose>Unspecified</pose>
		<truncated>0</truncated>
		<difficult>0</difficult>
		<bndbox>
			<xmin>260</xmin>
			<ymin>10</ymin>
			<xmax>300</xmax>
			<ymax>50</ymax>
		</bndbox>
	</object>
</annotation>
""",
}


def test_xmls_laid_out_as_the_real_archive_with_its_known_quirks(tmp_path):
  out = io.BytesIO()
  with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
    for folder in ("n02092002", "n03127925"):
      info = tarfile.TarInfo(folder)
      info.type, info.mode = tarfile.DIRTYPE, 0o755
      tar.addfile(info)
    for name, text in sorted(REAL_LAYOUT.items()):
      info = tarfile.TarInfo(name)
      info.size = len(text.encode())
      tar.addfile(info, io.BytesIO(text.encode()))
  path = tmp_path / "ILSVRC2012_bbox_train_v2.tar.gz"
  path.write_bytes(gzip.compress(out.getvalue()))
  index = boxes.read_boxes(path, WNIDS, WORDS).index
  at = index.positions()
  assert sorted(at) == ["n02092002_2106", "n03127925_147"]
  # Past the right edge: clamped; min > max on both axes: put in order.
  yxyx, labels, flags = index.boxes_at(at["n03127925_147"])
  assert yxyx.tolist() == np.float32([[50 / 400, 100 / 500, 400 / 400, 1.0],
                                      [100 / 400, 250 / 500, 200 / 400, 300 / 500]]).tolist()
  assert labels.tolist() == [WNIDS.index("n03127925")] * 2
  assert flags.tolist() == [CLAMPED, SWAPPED]
  # The breed's words, then a box entirely right of the image: clamped to its edge (zero width).
  yxyx, labels, flags = index.boxes_at(at["n02092002_2106"])
  assert yxyx.tolist() == np.float32([[20 / 200, 25 / 250, 180 / 200, 225 / 250],
                                      [10 / 200, 1.0, 50 / 200, 1.0]]).tolist()
  assert labels.tolist() == [WNIDS.index("n02092002")] * 2
  assert flags.tolist() == [BY_WORDS, CLAMPED]


def test_a_box_source_without_any_xml_is_refused(tmp_path):
  path = box_archive(tmp_path, [("n01440764.tar", b"\0" * 1024), ("README", b"boxes")])
  with pytest.raises(SourceFormatError) as e:
    boxes.read_boxes(path, WNIDS, WORDS)
  assert str(e.value) == (f"{path}: holds no box XML (2 other files, e.g. n01440764.tar); "
                          "ImageNet's box archives hold one <image stem>.xml per annotated image")


def test_an_extracted_folder_with_a_broken_link_or_a_pipe_named_xml(tmp_path):
  import os
  folder = tmp_path / "boxes" / "n01440764"
  folder.mkdir(parents=True)
  (folder / "n01440764_1.xml").write_text(GOOD)
  (folder / "n01440764_2.xml").symlink_to(tmp_path / "nowhere.xml")
  with pytest.raises(SourceFormatError) as e:
    boxes.read_boxes(tmp_path / "boxes", WNIDS, WORDS)
  assert str(e.value) == (f"{folder / 'n01440764_2.xml'}: is not a regular file (a broken link, "
                          "a pipe or a device); a box XML is a file")
  (folder / "n01440764_2.xml").unlink()
  os.mkfifo(folder / "n01440764_2.xml")  # read, it would block for ever
  with pytest.raises(SourceFormatError) as e:
    boxes.read_boxes(tmp_path / "boxes", WNIDS, WORDS)
  assert str(e.value) == (f"{folder / 'n01440764_2.xml'}: is not a regular file (a broken link, "
                          "a pipe or a device); a box XML is a file")
