"""Sources in a bucket: `--manual_dir gs://...` for every builder, plain and on Beam.

A GCS emulator (gcp-storage-emulator; the `bucket` fixture of tests/support/gcs_emulator.py) runs
on 127.0.0.1 for this module; the sample sources are uploaded to it and each dataset built from
`gs://` must equal, example by example, the build from the local folder. `STORAGE_EMULATOR_HOST`
points the GCS client (gcsfs) at it, as GCS client libraries expect. `EPATH_USE_TF=false` makes
TFDS's path type use gcsfs: TensorFlow's own GCS file system has no setting for another endpoint,
so it cannot be pointed at an emulator. `GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false` stops gcsfs from
first asking the bucket's type over gRPC, which an emulator never answers (a 60 s wait per bucket).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import tensorflow_datasets as tfds

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import DUMMY_DATA
from support import loopback
from support.gcs_emulator import bucket  # noqa: F401  (the fixture)


@pytest.fixture
def no_outside_network():
  """A connection to anything but this machine fails the test, even if the code under test
  takes the refusal in its stride (the emulator is on 127.0.0.1)."""
  with loopback.only_loopback() as refused:
    yield
  assert [host for kind, host in refused if kind == "connect"] == []


def examples(builder):
  """split -> every example as stored (images undecoded), in the dataset's order."""
  out = {}
  for split in sorted(builder.info.splits):
    decoders = {k: tfds.decode.SkipDecoding() for k, f in builder.info.features.items()
                if isinstance(f, tfds.features.Image)}
    ds = builder.as_dataset(split=split, shuffle_files=False, decoders=decoders)
    out[split] = [{k: (v.tobytes() if hasattr(v, "tobytes") else v) for k, v in ex.items()}
                  for ex in tfds.as_numpy(ds)]
  return out


def build(name, data_dir, manual_dir, **config):
  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=manual_dir, **config))
  return builder


@pytest.mark.parametrize("name, counts", [
    ("mnist_idx", {"train": 24, "test": 12}),
    ("norb_small", {"train": 8, "test": 7}),
    ("ilsvrc2012", {"train": 21, "validation": 7, "test": 4}),
    ("mnist_csv", {"train": 12, "test": 6}),
    # EMNIST's members are read from the zip in the bucket; QMNIST's nist files are xz with an
    # md5 only, and int32 label tables.
    ("emnist_idx/digits", {"train": 14, "test": 9}),
    ("qmnist_nist", {"nist": 16}),
])
def test_build_from_a_bucket_equals_the_build_from_a_local_folder(bucket, tmp_path, name, counts,
                                                                  no_outside_network):
  folder = tfds.builder_cls(name.split("/")[0]).sources_name()
  local = build(name, tmp_path / "local", DUMMY_DATA / folder)
  remote = build(name, tmp_path / "remote", f"{bucket}/{folder}")
  assert {s: i.num_examples for s, i in remote.info.splits.items()} == counts
  assert examples(remote) == examples(local)
  # Nothing was copied out of the bucket: there is no download cache.
  assert not (tmp_path / "remote" / "downloads" / folder).exists()


def test_ilsvrc2012_on_beam_workers_reads_the_bucket(bucket, tmp_path, no_outside_network):
  import apache_beam as beam
  options = beam.options.pipeline_options.PipelineOptions(
      ["--runner=apache_beam.runners.portability.fn_api_runner.FnApiRunner",
       "--direct_running_mode=multi_processing", "--direct_num_workers=2"])
  local = build("ilsvrc2012", tmp_path / "local", DUMMY_DATA / "ilsvrc2012")
  beamed = build("ilsvrc2012", tmp_path / "beam", f"{bucket}/ilsvrc2012", beam_options=options)
  assert {s: i.num_examples for s, i in beamed.info.splits.items()} == {
      "train": 21, "validation": 7, "test": 4}
  by_name = lambda exs: sorted(exs, key=lambda ex: ex["file_name"])  # noqa: E731
  local_examples, beam_examples = examples(local), examples(beamed)
  for split in local_examples:
    assert by_name(beam_examples[split]) == by_name(local_examples[split])


def test_missing_bucket_folder_is_named(bucket, tmp_path, no_outside_network):
  from tfds_builders.errors import ManualDirError
  with pytest.raises(ManualDirError) as e:
    build("mnist_idx", tmp_path / "data", f"{bucket}/mnsit_idx")
  assert str(e.value).startswith(
      f"mnist_idx: the manual directory {bucket}/mnsit_idx does not exist.")


def test_a_train_tar_in_the_bucket_is_streamed_in_flat_memory(bucket, tmp_path):
  """An inner class tar of 100 MB is read member by member from the bucket, never whole."""
  import io
  import tarfile
  from etils import epath
  inner = io.BytesIO()
  with tarfile.open(fileobj=inner, mode="w") as tar:
    for i in range(1000):
      data = os.urandom(100_000)
      info = tarfile.TarInfo(f"n01440764_{i}.JPEG")
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  outer = io.BytesIO()
  with tarfile.open(fileobj=outer, mode="w") as tar:
    info = tarfile.TarInfo("n01440764.tar")
    info.size = len(inner.getvalue())
    tar.addfile(info, io.BytesIO(inner.getvalue()))
  path = f"{bucket}/big/ILSVRC2012_img_train.tar"
  epath.Path(path).write_bytes(outer.getvalue())
  script = textwrap.dedent(f"""
      import json, resource
      from tfds_builders.formats import imagenet_archive as archive
      # Warm up on the small sample archive: gcsfs, its event loop and its first buffers are a
      # fixed cost, paid before the measurement.
      for unit in archive.train_inner_tars({bucket + "/ilsvrc2012/ILSVRC2012_img_train.tar"!r}):
        for _ in archive.iter_inner_tar(unit):
          pass
      before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
      [inner] = archive.train_inner_tars({path!r})
      count = sum(len(data) == 100_000 for _, data in archive.iter_inner_tar(inner))
      after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
      print(json.dumps({{"count": count, "grew_mb": (after - before) / 1024}}))
  """)
  # Started through sh, which forks it, so that its ru_maxrss is its own, not pytest's peak.
  out = subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c", script],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ))
  assert out.returncode == 0, out.stderr[-3000:]
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result["count"] == 1000
  assert result["grew_mb"] < 40, result  # the inner tar is 100 MB: it is never held whole
  print(f"streamed 100 MB from the bucket; peak RSS grew {result['grew_mb']:.0f} MB")
