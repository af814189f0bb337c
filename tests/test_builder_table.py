"""Our builders are listed from our own classes, never by loading every builder TFDS knows.

TFDS 4.9.7 ships a broken official builder (datasets/smart_buildings: its module raises ImportError
when imported), and asking TFDS for the class of every registered name imports them all, so a
listing done that way stopped `python -m tfds_builders demo` on that version. Each test that
touches TFDS's registry runs in a fresh process, so the registry of this one stays as it was.
"""

import json
import subprocess
import sys
import textwrap

import tensorflow_datasets as tfds

import tfds_builders
from tfds_builders.builder_base import SourceFilesMixin

# A datasets/ package of TFDS whose builder module raises ImportError, registered the way TFDS
# keeps its datasets/ packages: by folder name (the listing TFDS caches), imported only when a
# class is asked for. Like smart_buildings in TFDS 4.9.7, whose reader imports a *_pb2 module
# the wheel lacks.
BROKEN_OFFICIAL = textwrap.dedent('''\
    import contextlib, io, json, pathlib, sys
    import tensorflow_datasets as tfds
    import tensorflow_datasets.datasets as official_datasets
    from etils import epath
    from tensorflow_datasets.core import constants, registered

    NAME = "broken_official"
    folder = pathlib.Path(sys.argv[1])
    package = folder / NAME
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / f"{NAME}_dataset_builder.py").write_text(
        f"from tensorflow_datasets.datasets.{NAME} import missing_pb2\\n")
    official_datasets.__path__.append(str(folder))
    entry = (epath.Path(package), f"tensorflow_datasets.datasets.{NAME}.{NAME}_dataset_builder")
    registered._get_existing_dataset_packages(constants.DATASETS_TFDS_SRC_DIR)[NAME] = entry
    for provider in registered._DATASET_PROVIDER_REGISTRY:
      if hasattr(type(provider), "dataset_packages"):
        provider.dataset_packages[NAME] = entry

    # The simulation holds: TFDS lists the name, and loading its class raises ImportError, which
    # stops a listing that asks TFDS for the class of every name (the old builder_names()).
    assert NAME in tfds.list_builders(with_community_datasets=False)
    for load in (lambda: tfds.builder_cls(NAME),
                 lambda: [registered.imported_builder_cls(n)
                          for n in registered.list_imported_builders()]):
      try:
        load()
      except ImportError as e:
        assert "missing_pb2" in str(e), e
      else:
        raise AssertionError("the broken builder module was imported without error")

    from tfds_builders.__main__ import main  # the function `python -m tfds_builders` runs
    results = []
    for argv in json.loads(sys.argv[2]):
      out, err = io.StringIO(), io.StringIO()
      with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
      results.append({"code": code, "out": out.getvalue(), "err": err.getvalue()})
    print("RESULTS " + json.dumps(results))
''')

HINT = "(tfds build finds this package's datasets only with --imports tfds_builders)"


def run_with_broken_official_builder(tmp_path, *argvs):
  (tmp_path / "official").mkdir()
  result = subprocess.run(
      [sys.executable, "-c", BROKEN_OFFICIAL, str(tmp_path / "official"), json.dumps(argvs)],
      cwd=tmp_path, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  line, = (line for line in result.stdout.splitlines() if line.startswith("RESULTS "))
  return json.loads(line[len("RESULTS "):])


def test_a_broken_official_builder_does_not_stop_the_command_line(tmp_path):
  out = tmp_path / "out"
  demo, typo, export_typo, export_broken = run_with_broken_official_builder(
      tmp_path,
      ["demo", "--only", "mnist_idx", "--data_dir", str(tmp_path / "data")],
      ["demo", "--only", "mnsit_idx"],
      ["export", "mnsit_idx", "--split", "train", "--format", "npz", "--out", str(out)],
      ["export", "broken_official", "--split", "train", "--format", "npz", "--out", str(out)])
  assert demo["code"] == 0, demo
  assert "  mnist_idx                    train 24, test 12" in demo["out"]
  assert "Keras CNN on mnist_idx, 1 epoch" in demo["out"]
  message = f"error: no dataset named 'mnsit_idx'; did you mean 'mnist_idx'? {HINT}\n"
  # demo's hint is chosen among our names; export's among every name TFDS lists (the broken
  # one included), which only lists names.
  assert (typo["code"], typo["out"], typo["err"]) == (2, "", message)
  assert (export_typo["code"], export_typo["out"], export_typo["err"]) == (2, "", message)
  # The broken builder itself is named in one line, not a traceback.
  assert export_broken["code"] == 2
  assert export_broken["err"].startswith("error: TFDS cannot import its builder "
                                         "'broken_official': ")
  assert "missing_pb2" in export_broken["err"] and export_broken["err"].count("\n") == 1
  assert not out.exists()


OFFICIAL_MODULES = textwrap.dedent('''\
    import json, sys

    import tensorflow_datasets as tfds

    def tfds_modules():
      return {m for m in sys.modules if m.startswith("tensorflow_datasets.")}

    import tfds_builders
    from tfds_builders.__main__ import builder_names_error, dataset_name_error
    imported = {"import tfds_builders": sorted(m for m in tfds_modules() if m.startswith(
        ("tensorflow_datasets.datasets.", "tensorflow_datasets.image_classification")))}
    for step, call in [
        ("builder_names", tfds_builders.builder_names),
        ("builder_classes", tfds_builders.builder_classes),
        ("a name of ours", lambda: dataset_name_error("emnist_idx/digits")),
        ("a typo among ours", lambda: builder_names_error(["mnsit_idx"], "demo", "builds")),
        ("TFDS's list of every name", lambda: tfds.list_builders(with_community_datasets=False)),
    ]:
      before = tfds_modules()
      call()
      imported[step] = sorted(tfds_modules() - before)
    print("IMPORTED " + json.dumps(imported))
''')


def test_listing_our_builders_imports_no_official_module():
  result = subprocess.run([sys.executable, "-c", OFFICIAL_MODULES], capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  line, = (line for line in result.stdout.splitlines() if line.startswith("IMPORTED "))
  imported = json.loads(line[len("IMPORTED "):])
  # Not one module of TFDS is imported by listing or checking our names...
  assert {step: modules for step, modules in imported.items()
          if step != "TFDS's list of every name"} == {
              "import tfds_builders": [], "builder_names": [], "builder_classes": [],
              "a name of ours": [], "a typo among ours": []}
  # ...while TFDS's own list (used for names not ours) imports its legacy builder modules, which
  # is what the check above would see; the builder modules of its datasets/ packages (where
  # smart_buildings lives) it lists by folder name, unimported.
  legacy = imported["TFDS's list of every name"]
  assert "tensorflow_datasets.image_classification.mnist" in legacy
  assert not [m for m in legacy if m.endswith("_dataset_builder")]


def test_the_table_is_every_registered_builder_of_ours():
  classes = tfds_builders.builder_classes()
  assert list(classes) == tfds_builders.builder_names() == sorted(classes)
  # What TFDS registered from our modules, read from its registry (a dictionary: no imports).
  registered = {name: cls for name, cls in tfds.core.registered._DATASET_REGISTRY.items()
                if cls.__module__.startswith("tfds_builders.")}
  assert classes == registered
  for name, cls in classes.items():
    assert issubclass(cls, SourceFilesMixin) and tfds.builder_cls(name) is cls
  # The unregistered bases and folder builders are not in the table.
  assert "idx_image_classification" not in classes and "idx_folder" not in classes
  assert {"mnist_idx", "norb_small", "ilsvrc2012"} <= set(classes)


def test_a_subclass_outside_the_package_is_not_ours():
  mnist_idx = tfds_builders.builder_classes()["mnist_idx"]
  subclass = type("MyMnist", (mnist_idx,), {"__module__": "my_project.datasets"},
                  skip_registration=True)
  assert subclass in mnist_idx.__subclasses__()
  assert "my_mnist" not in tfds_builders.builder_classes()
