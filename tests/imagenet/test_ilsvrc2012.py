"""ilsvrc2012's behaviour on the dummy archives: labels through the devkit's ID -> WNID table, the
bundled fallback and the disagreement stop, fixes by bytes, extracted tree == archives, class
metadata, and the errors for missing inputs, corrupt images and truncated archives."""

import importlib.util
import io
import os
import shutil
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import DUMMY_DATA
from tfds_builders.errors import ManualDirError, SourceFormatError
from tfds_builders.formats import jpeg
from tfds_builders.imagenet import classes

SOURCES = DUMMY_DATA / "ilsvrc2012"
_spec = importlib.util.spec_from_file_location("ilsvrc2012_generate", SOURCES / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

VAL_NAME = "ILSVRC2012_val_{:08d}.JPEG"
TREE = ("train", "val", "test", "ILSVRC2012_devkit_t12")
NAMES = tfds.features.ClassLabel(names_file=classes.labels_file())


def build(manual_dir, data_dir, name="ilsvrc2012", **download_kwargs):
  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=os.fspath(manual_dir), **download_kwargs))
  return builder


def examples(builder, split):
  """file name -> (label, image bytes as stored)."""
  ds = builder.as_dataset(split=split, shuffle_files=False,
                          decoders={"image": tfds.decode.SkipDecoding()})
  return {ex["file_name"].decode(): (int(ex["label"]), ex["image"]) for ex in tfds.as_numpy(ds)}


def manual_dir_with(tmp_path, *names):
  folder = tmp_path / "manual"
  folder.mkdir()
  for name in names:
    os.symlink(SOURCES / name, folder / name)
  return folder


def tree_manual_dir(parent):
  """A manual_dir holding only the dummy extracted tree (links to it)."""
  folder = parent / "tree"
  folder.mkdir()
  for name in TREE:
    os.symlink(SOURCES / name, folder / name)
  return folder


def source_images(tar_name):
  """file name -> bytes of the dummy train (inner tars) or flat archive, read with tarfile."""
  out = {}
  with tarfile.open(SOURCES / tar_name) as tar:
    for member in tar:
      data = tar.extractfile(member).read()
      if member.name.endswith(".tar"):
        with tarfile.open(fileobj=io.BytesIO(data)) as inner:
          out.update({m.name: inner.extractfile(m).read() for m in inner})
      else:
        out[os.path.basename(member.name)] = data
  return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  return build(SOURCES, tmp_path_factory.mktemp("data"))


def test_validation_labels_go_through_the_devkit_id_table(built):
  got = {name: label for name, (label, _) in examples(built, "validation").items()}
  expected = {VAL_NAME.format(n): NAMES.str2int(w) for n, w in generate.VALIDATION.items()}
  assert got == expected
  # Using ILSVRC2012_ID - 1 as the label (the classic bug) would get them wrong.
  ids = {VAL_NAME.format(n): generate.CLASS_IDS[w] for n, w in generate.VALIDATION.items()}
  assert all(got[name] != ids[name] - 1 for name in got)


def test_train_labels_come_from_the_inner_tar_names(built):
  got = examples(built, "train")
  assert len(got) == 21
  assert {name: label for name, (label, _) in got.items()} == {
      name: NAMES.str2int(name.split("_")[0]) for name in source_images(
          "ILSVRC2012_img_train.tar")}
  assert {label for label, _ in examples(built, "test").values()} == {-1}


def test_images_pass_through_except_the_fixes_found_by_bytes(built):
  sources = source_images("ILSVRC2012_img_train.tar")
  stored = {name: image for name, (_, image) in examples(built, "train").items()}
  fixed = {name for name in sources if stored[name] != sources[name]}
  assert fixed == {generate.CMYK_IMAGE, generate.PNG_IMAGE}
  for name in fixed:
    assert jpeg.jpeg_components(stored[name], name) == 3
    before = np.asarray(Image.open(io.BytesIO(sources[name])).convert("RGB"), np.int16)
    after = np.asarray(Image.open(io.BytesIO(stored[name])), np.int16)
    assert np.abs(before - after).max() <= 8
  assert Image.open(io.BytesIO(sources[generate.GREY_IMAGE])).mode == "L"  # kept as is
  for split, tar_name in (("validation", "ILSVRC2012_img_val.tar"),
                          ("test", "ILSVRC2012_img_test_v10102019.tar")):
    stored = {name: image for name, (_, image) in examples(built, split).items()}
    assert stored == source_images(tar_name)


def test_raw256_resizes_the_shorter_side_to_256_keeping_the_aspect(built, tmp_path):
  resized = build(SOURCES, tmp_path, name="ilsvrc2012_raw256")
  originals = examples(built, "train")
  got = examples(resized, "train")
  assert got.keys() == originals.keys()
  for name, (label, image) in got.items():
    source = Image.open(io.BytesIO(originals[name][1]))
    out = Image.open(io.BytesIO(image))
    assert (out.format, out.mode, min(out.size), label) == ("JPEG", "RGB", 256, originals[name][0])
    assert abs(out.size[0] / out.size[1] - source.size[0] / source.size[1]) < 0.01
    assert image == jpeg.resize_shorter_side(originals[name][1], name, 256, 90)


def test_extracted_tree_gives_the_same_examples(built, tmp_path):
  from_tree = build(tree_manual_dir(tmp_path), tmp_path / "data")
  for split in ("train", "validation", "test"):
    assert examples(from_tree, split) == examples(built, split)


def test_class_metadata_from_the_devkit_and_the_bundled_words(built, tmp_path):
  for info in (built.info, tfds.builder("ilsvrc2012", data_dir=built.data_dir_root).info):
    table = info.metadata["classes"]
    assert table["wnid"] == info.features["label"].names and len(table["wnid"]) == 1000
    vine_snake = table["wnid"].index("n01739381")
    assert (table["words"][vine_snake], table["gloss"][vine_snake],
            table["ilsvrc2012_id"][vine_snake]) == ("vine snake", "(dummy gloss of n01739381)", 7)
    assert (table["words"][0], table["gloss"][0], table["ilsvrc2012_id"][0]) == (
        "tench, Tinca tinca", "", 0)  # not in the dummy devkit: bundled words, no gloss
    assert table["source"] == ("devkit meta.mat for 7 classes, bundled word list (no glosses) "
                               "for the others")
    assert classes.readable_name(info, 0) == "tench"
    assert classes.readable_name(info, 0, full=True) == "tench, Tinca tinca"
    assert classes.readable_name(info, vine_snake) == "vine snake"


def test_without_devkit_the_bundled_labels_are_used(built, tmp_path):
  builder = build(manual_dir_with(tmp_path, "ILSVRC2012_img_val.tar"), tmp_path / "data")
  assert list(builder.info.splits) == ["validation"]
  assert examples(builder, "validation") == examples(built, "validation")
  assert builder.info.metadata["classes"]["source"] == classes.SOURCE_BUNDLED
  assert set(builder.info.metadata["classes"]["gloss"]) == {""}


def test_devkit_disagreeing_with_the_bundled_labels_stops_the_build(tmp_path):
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_val.tar")
  swapped = dict(generate.CLASS_IDS, n09193705=3, n01751748=1)  # IDs of two classes swapped
  generate.write_devkit(manual / "ILSVRC2012_devkit_t12.tar.gz", class_ids=swapped,
                        ground_truth=generate.ground_truth_ids())
  with pytest.raises(SourceFormatError) as e:
    build(manual, tmp_path / "data")
  message = str(e.value)
  assert message.startswith(
      f"{manual / 'ILSVRC2012_img_val.tar'}: validation labels disagree for 2 image(s):\n"
      "  ILSVRC2012_val_00000001.JPEG: devkit says n09193705, tensorflow_datasets' "
      "validation_labels.txt says n01751748\n"
      "  ILSVRC2012_val_00000002.JPEG: devkit says n01751748, tensorflow_datasets' "
      "validation_labels.txt says n09193705\n")
  assert "Use the original ILSVRC2012_devkit_t12, or remove it" in message


def test_val_folder_disagreeing_with_the_labels_stops_the_build(tmp_path):
  manual = tmp_path / "manual"
  shutil.copytree(SOURCES / "val", manual / "val")
  (manual / "val/n01751748/ILSVRC2012_val_00000001.JPEG").rename(
      manual / "val/n02105855/ILSVRC2012_val_00000001.JPEG")
  with pytest.raises(SourceFormatError, match="ILSVRC2012_val_00000001.JPEG: bundled list says "
                     "n01751748, its folder says n02105855"):
    build(manual, tmp_path / "data")


def test_missing_and_misnamed_inputs_are_listed_in_one_error(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / "ILSVRC2012_img_train.tar.crdownload").write_bytes(b"x")
  (manual / "ilsvrc2012_img_val.zip").write_bytes(b"x")
  (manual / "notes.txt").write_bytes(b"x")
  with pytest.raises(ManualDirError) as e:
    build(manual, tmp_path / "data")
  d = manual
  assert str(e.value) == f"""\
ilsvrc2012: input files are missing or misnamed in {d}.
Looked for:
  train: {d}/ILSVRC2012_img_train.tar or {d}/train/<wnid>/*.JPEG -- not found
  validation: {d}/ILSVRC2012_img_val.tar or {d}/val/ (flat, or in <wnid>/ folders) -- not found
  test: {d}/ILSVRC2012_img_test_v10102019.tar, {d}/ILSVRC2012_img_test.tar or {d}/test/*.JPEG \
-- not found
  devkit: {d}/ILSVRC2012_devkit_t12.tar.gz, {d}/ILSVRC2012_devkit_t12.tar or \
{d}/ILSVRC2012_devkit_t12/data/ -- not found
Found instead:
  {d}/ILSVRC2012_img_train.tar.crdownload: an unfinished download: finish or restart it
  {d}/ilsvrc2012_img_val.zip: looks like ILSVRC2012_img_val.tar under another name: rename it \
to ILSVRC2012_img_val.tar if it is that file
How to fix: download the archives from https://image-net.org/download-images (registration \
needed) and put them, with exactly the names above, in the manual directory (--manual_dir, or \
DownloadConfig(manual_dir=...)); an extracted tree in the folders above works too. Each split is \
optional, at least one is needed; the devkit is optional."""


def test_a_misnamed_file_stops_the_build_even_when_another_split_is_there(tmp_path):
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_train.tar")
  os.symlink(SOURCES / "ILSVRC2012_img_val.tar", manual / "ILSVRC2012_img_val (1).tar")
  with pytest.raises(ManualDirError) as e:
    build(manual, tmp_path / "data")
  assert f"-- found {manual}/ILSVRC2012_img_train.tar\n" in str(e.value)
  assert (f"  {manual}/ILSVRC2012_img_val (1).tar: looks like ILSVRC2012_img_val.tar under "
          "another name: rename it to ILSVRC2012_img_val.tar if it is that file") in str(e.value)


def test_empty_manual_dir(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  with pytest.raises(ManualDirError, match="Found instead:\n  nothing that looks like one of "
                     "these files\nHow to fix: download the archives"):
    build(manual, tmp_path / "data")


def _train_tar_with(tmp_path, inner_images, cut=None):
  inner = generate.tar_bytes(inner_images)
  manual = tmp_path / "manual"
  manual.mkdir()
  data = generate.tar_bytes([("n01440764.tar", inner)])
  (manual / "ILSVRC2012_img_train.tar").write_bytes(data if cut is None else data[:cut])
  return manual


def test_corrupt_jpeg_stops_with_the_member_name(tmp_path):
  good = (SOURCES / "train/n01735189/n01735189_1.JPEG").read_bytes()
  manual = _train_tar_with(tmp_path, [("n01440764_1.JPEG", good),
                                      ("n01440764_2.JPEG", good[:-300])])
  with pytest.raises(SourceFormatError) as e:
    build(manual, tmp_path / "data")
  assert str(e.value) == (
      f"{manual / 'ILSVRC2012_img_train.tar'}:n01440764.tar:n01440764_2.JPEG: corrupt JPEG: no "
      "end-of-image marker after the image data; the file is truncated")


def test_truncated_train_tar_stops_with_the_member_name(tmp_path):
  good = (SOURCES / "train/n01735189/n01735189_1.JPEG").read_bytes()
  manual = _train_tar_with(tmp_path, [("n01440764_1.JPEG", good), ("n01440764_2.JPEG", good)],
                           cut=512 + 512 + 1536 + 512 + 200)
  with pytest.raises(SourceFormatError, match=r"truncated: member n01440764.tar needs bytes up "
                     r"to \d+ but the file has 3272; copy or download it again"):
    build(manual, tmp_path / "data")


def test_features_match_the_official_imagenet2012():
  ours = tfds.builder("ilsvrc2012").info
  official = tfds.builder("imagenet2012").info
  assert repr(ours.features) == repr(official.features)
  assert ours.features["label"].names == official.features["label"].names
  assert ours.supervised_keys == official.supervised_keys


def test_same_train_examples_as_the_official_imagenet2012(built, tmp_path):
  # The official builder reads the val tar's names even to build train alone.
  manual = manual_dir_with(tmp_path, "ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar")
  official = tfds.builder("imagenet2012", data_dir=tmp_path / "official")
  official.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=os.fspath(manual)))
  theirs = examples(official, "train")
  ours = examples(built, "train")
  assert theirs.keys() == ours.keys()
  for name, (label, image) in ours.items():
    assert label == theirs[name][0]
    if name in (generate.CMYK_IMAGE, generate.PNG_IMAGE):
      # Both re-encode these at quality 100, TF with half-resolution chroma and we with full, and
      # TF's CMYK conversion rounds differently: close, not equal.
      a = np.asarray(Image.open(io.BytesIO(image)), np.int16)
      b = np.asarray(Image.open(io.BytesIO(theirs[name][1])), np.int16)
      assert a.shape == b.shape and np.median(np.abs(a - b)) <= 4
    else:
      assert image == theirs[name][1]
