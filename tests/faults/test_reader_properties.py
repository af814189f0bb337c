"""Property tests of the readers other than IDX (see tests/formats/test_idx_properties.py): NORB,
MNIST CSV, the ImageNet tar walkers, JPEG checks and devkit, and the gzip/xz layer under them.

Random arrays written in a format read back exactly; random and mutated bytes raise only
SourceFormatError, within the example deadline and a bounded Python allocation.
"""

import gzip
import io
import lzma
import math
import struct
import tarfile
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from conftest import DUMMY_DATA
from tfds_builders.errors import SourceFormatError
from tfds_builders.formats import compression, imagenet_archive, imagenet_devkit, jpeg, mnist_csv
from tfds_builders.formats import norb

BOUNDED = settings(max_examples=120, deadline=3000,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])
MEMORY_LIMIT = 64 << 20


def only_our_error(read, *args):
  """Runs read(*args); SourceFormatError is allowed, anything else fails, and so does a Python
  allocation over MEMORY_LIMIT. Returns the result, or None when the input was refused."""
  tracemalloc.start()
  try:
    return read(*args)
  except SourceFormatError as e:
    assert e.problem, "an error must say what is wrong"
    return None
  finally:
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"peak allocation {peak} bytes"


@st.composite
def mutated(draw, valid: bytes, max_changes=4):
  """`valid` with a few bytes replaced, then maybe cut short."""
  raw = bytearray(valid)
  for _ in range(draw(st.integers(1, max_changes))):
    raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
  cut = draw(st.one_of(st.just(len(raw)), st.integers(0, len(raw))))
  return bytes(raw[:cut])


# ---------------------------------------------------------------- NORB

NORB_NATIVE = [np.uint8, np.int16, np.int32, np.float32, np.float64]


@st.composite
def norb_arrays(draw):
  dtype = np.dtype(draw(st.sampled_from(NORB_NATIVE)))
  shape = draw(hnp.array_shapes(min_dims=1, max_dims=5, min_side=0, max_side=5))
  return draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(dtype, allow_nan=False)))


COMPRESS = {"stored": lambda b: b, "gzip": gzip.compress, "xz": lzma.compress}


@BOUNDED
@given(norb_arrays(), st.sampled_from(sorted(COMPRESS)), st.integers(1, 4))
def test_norb_random_arrays_round_trip(array, compress, batch_items):
  data = COMPRESS[compress](norb.norb_bytes(array))
  out = norb.read_norb(io.BytesIO(data))
  assert out.dtype == array.dtype and out.shape == array.shape
  np.testing.assert_array_equal(out, array)
  header = norb.read_norb_header(io.BytesIO(data))
  assert (header.shape, header.dtype) == (array.shape, array.dtype.newbyteorder("<")
                                          if array.dtype.itemsize > 1 else array.dtype)
  batches = list(norb.iter_norb(io.BytesIO(data), batch_items=batch_items))
  if array.shape[0]:
    np.testing.assert_array_equal(np.concatenate(batches), array)


def read_norb_every_way(data):
  norb.read_norb_header(io.BytesIO(data))
  array = norb.read_norb(io.BytesIO(data))
  batches = list(norb.iter_norb(io.BytesIO(data)))
  assert sum(len(b) for b in batches) == len(array)
  return array


@BOUNDED
@given(st.binary(max_size=200))
def test_norb_random_bytes_raise_only_our_error(data):
  only_our_error(read_norb_every_way, data)


@BOUNDED
@given(st.sampled_from(sorted(norb.NORB_DTYPES) + [norb.PACKED_MAGIC]), st.integers(-3, 6),
       st.lists(st.integers(-2**31, 2**31 - 1), min_size=6, max_size=6),
       st.binary(max_size=64), st.booleans())
def test_norb_headers_that_lie_about_sizes(magic, ndim, dims, payload, compress):
  stored = max(3, ndim) if ndim >= 0 else 3
  data = struct.pack(f"<Ii{stored}i", magic, ndim, *dims[:stored]) + payload
  only_our_error(read_norb_every_way, gzip.compress(data) if compress else data)


def test_norb_many_items_of_zero_bytes_are_read_at_once():
  # 2^31-1 items of 0x1 bytes is a valid, empty matrix; reading it must not loop per batch.
  data = struct.pack("<Ii3i", 0x1E3D4C55, 2, 2**31 - 1, 0, 1)
  batches = list(norb.iter_norb(io.BytesIO(data), batch_items=1024))
  assert [b.shape for b in batches] == [(2**31 - 1, 0)]
  assert norb.read_norb(io.BytesIO(data)).shape == (2**31 - 1, 0)


NORB_VALID = norb.norb_bytes(np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4))


@BOUNDED
@given(st.sampled_from(sorted(COMPRESS)), st.data())
def test_norb_mutated_valid_files(compress, data):
  only_our_error(read_norb_every_way, data.draw(mutated(COMPRESS[compress](NORB_VALID))))


@BOUNDED
@given(st.lists(st.tuples(st.integers(-2, 12), st.integers(-1, 10), st.integers(-1, 36),
                          st.integers(-1, 7)), min_size=1, max_size=4), st.data())
def test_smallnorb_info_is_accepted_exactly_when_every_value_is_in_range(rows, data):
  info = np.array(rows, np.int32)
  categories = np.array(data.draw(st.lists(st.integers(-1, 6), min_size=len(rows),
                                           max_size=len(rows))), np.int32)
  files = [io.BytesIO(norb.norb_bytes(a)) for a in (
      np.zeros((len(rows), 2, 96, 96), np.uint8), categories, info)]
  for f, name in zip(files, ("dat", "cat", "info")):
    f.name = f"x-{name}.mat"
  allowed = [range(10), range(9), range(0, 35, 2), range(6)]
  in_range = (all(0 <= c <= 4 for c in categories) and
              all(v in allowed[k] for row in rows for k, v in enumerate(row)))
  try:
    got_categories, got_info = norb.read_smallnorb_labels(*files)
  except SourceFormatError as e:
    assert not in_range, str(e)
    assert str(e).startswith(("x-cat.mat: category ", "x-info.mat: "))
  else:
    assert in_range
    assert got_categories.tolist() == categories.tolist() and got_info.tolist() == info.tolist()


# ---------------------------------------------------------------- MNIST CSV


@st.composite
def csv_datasets(draw):
  n = draw(st.integers(1, 6))
  height, width = draw(st.integers(1, 5)), draw(st.integers(1, 5))
  images = draw(hnp.arrays(np.uint8, (n, height, width)))
  labels = np.array(draw(st.lists(st.integers(-1, 10**6), min_size=n, max_size=n)))
  return images, labels


@BOUNDED
@given(csv_datasets(), st.booleans(), st.integers(1, 4))
def test_csv_random_arrays_round_trip(tmp_path_factory, dataset, header, batch_rows):
  images, labels = dataset
  path = tmp_path_factory.mktemp("csv") / "mnist_x.csv"
  path.write_bytes(mnist_csv.mnist_csv_bytes(images, labels, header=header))
  got_images, got_labels = mnist_csv.read_mnist_csv(path, image_shape=images.shape[1:])
  np.testing.assert_array_equal(got_images, images)
  assert got_labels.tolist() == labels.tolist()
  batches = list(mnist_csv.iter_mnist_csv(path, images.shape[1:], batch_rows=batch_rows))
  assert [len(b[1]) for b in batches] == [min(batch_rows, len(labels) - i)
                                          for i in range(0, len(labels), batch_rows)]


def read_csv(path):
  images, labels = mnist_csv.read_mnist_csv(path)
  # Whatever is accepted is a well-formed dataset.
  assert images.dtype == np.uint8 and images.ndim == 3 and len(images) == len(labels)
  assert (labels >= -1).all()
  return images, labels


CSV_ALPHABET = "0123456789,,,,\n\n-+ \rx.e_"


@BOUNDED
@given(st.one_of(st.binary(max_size=200), st.text(CSV_ALPHABET, max_size=200).map(str.encode)))
def test_csv_random_bytes_raise_only_our_error(tmp_path_factory, data):
  path = tmp_path_factory.mktemp("csv") / "mnist_x.csv"
  path.write_bytes(data)
  only_our_error(read_csv, path)


CSV_VALID = mnist_csv.mnist_csv_bytes(np.arange(3 * 16).reshape(3, 4, 4) * 5 % 256, [1, -1, 9],
                                      header=True)


@BOUNDED
@given(st.data())
def test_csv_mutated_valid_files(tmp_path_factory, data):
  raw = bytearray(CSV_VALID)
  for _ in range(data.draw(st.integers(1, 4))):
    raw[data.draw(st.integers(0, len(raw) - 1))] = ord(data.draw(st.sampled_from(CSV_ALPHABET)))
  path = tmp_path_factory.mktemp("csv") / "mnist_x.csv"
  path.write_bytes(bytes(raw[:data.draw(st.integers(0, len(raw)))]))
  only_our_error(read_csv, path)


@pytest.mark.parametrize("value", ["99999999999999999999", "-99999999999999999999", "1_0"])
def test_csv_numbers_numpy_cannot_hold_or_parse_name_the_line(tmp_path, value):
  path = tmp_path / "mnist_x.csv"
  path.write_text(f"1,0,0,0,0\n2,0,{value},0,0\n")
  with pytest.raises(SourceFormatError) as e:
    mnist_csv.read_mnist_csv(path)
  assert str(e.value).startswith(f"{path}: line 2, field 3 (pixel 2): ")


# ---------------------------------------------------------------- ImageNet tar walkers


def tar_of(members):
  out = io.BytesIO()
  with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
    for name, data in members:
      info = tarfile.TarInfo(name)
      info.size, info.mtime = len(data), 0
      tar.addfile(info, io.BytesIO(data))
  return out.getvalue()


TAR_VALID = tar_of([("ILSVRC2012_val_00000001.JPEG", b"a" * 700),
                    ("ILSVRC2012_val_00000002.JPEG", b"b" * 30)])


def walk_tar_file(path):
  members = imagenet_archive.list_members(path)
  for member, data in imagenet_archive.read_members(members):
    assert len(data) == member.size
  return members


def walk_tar_stream(data):
  return list(imagenet_archive.iter_tar_stream(io.BytesIO(data), "inner.tar"))


@BOUNDED
@given(st.one_of(st.binary(max_size=1600), mutated(TAR_VALID, 8)))
def test_tar_walkers_on_random_and_mutated_bytes(tmp_path_factory, data):
  path = tmp_path_factory.mktemp("tar") / "ILSVRC2012_img_val.tar"
  path.write_bytes(data)
  listed = only_our_error(walk_tar_file, path)
  streamed = only_our_error(walk_tar_stream, data)
  for members in (listed or []), (streamed or []):
    for member in members:
      name = member.path if hasattr(member, "path") else member[0]
      assert not name.startswith("/") and ".." not in name.split("/")


@BOUNDED
@given(st.lists(st.tuples(st.sampled_from(["a.JPEG", "d/b.JPEG", "../c.JPEG", "/e.JPEG",
                                           "d/../../f.JPEG", "C:/g.JPEG", "..\\h.JPEG"]),
                          st.binary(max_size=40)), min_size=1, max_size=4))
def test_unsafe_member_anywhere_refuses_the_whole_archive(tmp_path_factory, members):
  data = tar_of(members)
  path = tmp_path_factory.mktemp("tar") / "x.tar"
  path.write_bytes(data)
  unsafe = [n for n, _ in members if n[0] in "/.C" or ".." in n]
  for read in (lambda: imagenet_archive.list_members(path), lambda: walk_tar_stream(data)):
    if unsafe:
      with pytest.raises(SourceFormatError, match="has an absolute path or '..' in it"):
        read()
    else:
      assert len(read()) == len(members)


# ---------------------------------------------------------------- JPEG checks


def encoded(image, fmt="JPEG", **kwargs):
  out = io.BytesIO()
  image.save(out, format=fmt, **kwargs)
  return out.getvalue()


_PICTURE = Image.fromarray(np.indices((12, 16)).sum(0).astype(np.uint8) * 9, "L").convert("RGB")
JPEG_VALID = {"rgb": encoded(_PICTURE), "cmyk": encoded(_PICTURE.convert("CMYK")),
              "png": encoded(_PICTURE, "PNG")}


def check_jpeg(data):
  out, fix = jpeg.checked_jpeg(data, "n01440764_1.JPEG")
  assert fix in (None, jpeg.FIX_CMYK, jpeg.FIX_NOT_JPEG)
  assert out.startswith(jpeg.JPEG_MAGIC)
  return out


@BOUNDED
@given(st.one_of(st.binary(max_size=300),
                 st.binary(max_size=300).map(lambda b: jpeg.JPEG_MAGIC + b),
                 st.sampled_from(sorted(JPEG_VALID)).flatmap(
                     lambda kind: mutated(JPEG_VALID[kind], 6))))
def test_jpeg_checks_on_random_and_mutated_bytes(data):
  only_our_error(check_jpeg, data)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_image_claiming_more_pixels_than_a_photo_is_refused_before_decoding():
  # A 12 MB PNG header says 10000x10000 (100 M pixels): Pillow only warns below 179 M pixels and
  # would allocate 300 MB to decode it. No ILSVRC2012 image has even 20 M pixels.
  small = bytearray(JPEG_VALID["png"])
  assert small[12:16] == b"IHDR"
  small[16:24] = struct.pack(">II", 10000, 10000)
  import zlib
  small[29:33] = struct.pack(">I", zlib.crc32(bytes(small[12:29])))
  for check in (jpeg.checked_jpeg, lambda data, name: jpeg.resize_shorter_side(data, name, 256,
                                                                             90)):
    with pytest.raises(SourceFormatError) as e:
      check(bytes(small), "n01440764_9.JPEG")
    assert str(e.value) == ("n01440764_9.JPEG: claims to be 10000x10000 (100000000 pixels), more "
                            "than 67108864: the image header is damaged")


# ---------------------------------------------------------------- devkit

DEVKIT = DUMMY_DATA / "ilsvrc2012" / "ILSVRC2012_devkit_t12.tar.gz"
META_MAT = (DUMMY_DATA / "ilsvrc2012" / "ILSVRC2012_devkit_t12" / "data" / "meta.mat").read_bytes()


def read_meta(data):
  classes = imagenet_devkit.read_meta_mat(data, "meta.mat")
  assert all(1 <= i <= 1000 for i in classes)
  return classes


@BOUNDED
@given(st.one_of(st.binary(max_size=300), mutated(META_MAT, 6)))
def test_meta_mat_random_and_mutated(data):
  only_our_error(read_meta, data)


def test_meta_mat_claiming_more_than_the_file_holds_is_refused_before_scipy_allocates():
  # The dummy meta.mat's `synsets` struct: its tag at 128, its 8x1 dimensions at 160.
  assert META_MAT[126:128] == b"IM" and struct.unpack_from("<2i", META_MAT, 160) == (8, 1)
  assert len(META_MAT) == 4720
  # 50 M synsets in a 4.7 KB file: scipy would fill a 3 GB array for a minute before failing.
  lying = bytearray(META_MAT)
  lying[160:168] = struct.pack("<2i", 1, 50_000_000)
  with pytest.raises(SourceFormatError) as e:
    tracemalloc.start()
    try:
      imagenet_devkit.read_meta_mat(bytes(lying), "meta.mat")
    finally:
      peak = tracemalloc.get_traced_memory()[1]
      tracemalloc.stop()
  # 8 fields per synset; the entries start at byte 336 of the 4720.
  assert str(e.value) == ("meta.mat: a 1x50000000 struct array claims 400000000 entries but only "
                          "4384 bytes follow: the file is damaged")
  assert peak < 1 << 20
  # A number claiming 64 MB: scipy would allocate it before finding the file too short.
  offset = META_MAT.index(struct.pack("<2I", 9, 8))  # the first miDOUBLE of 8 bytes
  lying = bytearray(META_MAT)
  lying[offset + 4:offset + 8] = struct.pack("<I", 64 << 20)
  with pytest.raises(SourceFormatError) as e:
    imagenet_devkit.read_meta_mat(bytes(lying), "meta.mat")
  assert str(e.value) == (f"meta.mat: a MATLAB data element claims {64 << 20} bytes but only "
                          f"8 follow: the file is damaged or truncated")


@pytest.mark.parametrize("offset,value,was,problem", [
    # The second byte of an array's flags: the complex flag on a number with no imaginary part.
    (1457, 0x08, b"\x06\x00\x00\x00", "a MATLAB array's flags announce 2 data parts but it "
     "holds 1: the file is damaged"),
    # A dimensions element turned into the 4-byte "small element" form holding 2 bytes.
    (3250, 0x02, b"\x05\x00\x00\x00", "a MATLAB array header (flags, dimensions, name) is "
     "damaged"),
])
def test_meta_mat_that_crashes_scipy_is_refused_before_scipy_reads_it(offset, value, was,
                                                                      problem):
  # Without the checks, scipy.io.loadmat kills the process with a segmentation fault here.
  assert META_MAT[offset - offset % 4:offset - offset % 4 + 4] == was
  damaged = bytearray(META_MAT)
  damaged[offset] = value
  with pytest.raises(SourceFormatError) as e:
    imagenet_devkit.read_meta_mat(bytes(damaged), "meta.mat")
  assert str(e.value) == f"meta.mat: {problem}"


@settings(max_examples=60, deadline=3000,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_devkit_archive_mutated(tmp_path_factory, data):
  valid = DEVKIT.read_bytes()
  if data.draw(st.booleans()):
    valid = gzip.decompress(valid)
  path = tmp_path_factory.mktemp("devkit") / "ILSVRC2012_devkit_t12.tar.gz"
  path.write_bytes(data.draw(mutated(valid, 8)))
  only_our_error(imagenet_devkit.read_devkit, path)


@pytest.mark.parametrize("field,value,problem", [
    ("ILSVRC2012_ID", "one", "ILSVRC2012_ID 'one' of synset 1 is not a number"),
    ("num_children", "none", "num_children 'none' of synset 1 is not a number"),
])
def test_meta_mat_fields_of_the_wrong_type_name_the_synset(field, value, problem):
  import scipy.io
  fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children"]
  synsets = np.zeros((1, 1), dtype=[(f, object) for f in fields])
  for f, v in zip(fields, [1.0, "n01440764", "tench", "a fish", 0.0]):
    synsets[0, 0][f] = v
  synsets[0, 0][field] = value
  buf = io.BytesIO()
  scipy.io.savemat(buf, {"synsets": synsets})
  with pytest.raises(SourceFormatError) as e:
    imagenet_devkit.read_meta_mat(buf.getvalue(), "meta.mat")
  assert str(e.value) == f"meta.mat: {problem}"


# ---------------------------------------------------------------- gzip / xz layer

PAYLOAD = bytes(range(256)) * 3 + b"end"


def read_through(data):
  with compression.open_source(io.BytesIO(data)) as stream:
    out = stream.read_exact(len(PAYLOAD), "payload")
    stream.expect_end("payload")
    return stream.compression, bytes(out)


@BOUNDED
@given(st.sampled_from(["gzip", "xz"]), st.data())
def test_compressed_streams_mutated(kind, data):
  valid = COMPRESS[kind](PAYLOAD)
  got = only_our_error(read_through, data.draw(mutated(valid, 4)))
  if got is not None and got[0] == kind:
    # A mutation the stream accepted must not have changed the data (CRC32 / CRC64 guard it).
    assert got[1] == PAYLOAD


@BOUNDED
@given(st.binary(max_size=100).map(lambda b: b"\x1f\x8b" + b) |
       st.binary(max_size=100).map(lambda b: compression.XZ_MAGIC + b) | st.binary(max_size=100))
def test_compressed_streams_random(data):
  only_our_error(read_through, data)


@pytest.mark.parametrize("make,problem", [
    (lambda: b"", "the file is empty"),
    (lambda: gzip.compress(PAYLOAD)[:40], "the gzip stream is truncated"),
    (lambda: gzip.compress(PAYLOAD)[:-8] + b"\0\0\0\0" + gzip.compress(PAYLOAD)[-4:],
     "the gzip stream is corrupt"),
    (lambda: lzma.compress(PAYLOAD)[:30], "the xz stream is truncated"),
    (lambda: b"<html>login</html>", "truncated: expected 771 bytes of payload at offset 0, "
     "found only 18"),
])
def test_compressed_stream_faults_have_exact_messages(make, problem):
  with pytest.raises(SourceFormatError) as e:
    read_through(make())
  assert e.value.problem.startswith(problem), e.value.problem


def test_the_deflate_bound_is_a_real_bound():
  # The check_claim bound must never refuse an honest file: zeros compress best.
  data = gzip.compress(bytes(1 << 20), 9)
  with compression.open_source(io.BytesIO(data)) as stream:
    stream.check_claim(0, 1 << 20)
    assert stream.max_size >= (1 << 20)
    assert stream.max_size <= len(data) * 1032 + 1024
  assert math.ceil((1 << 20) / len(data)) < 1032
