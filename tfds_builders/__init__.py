"""TensorFlow Datasets builders: `import tfds_builders` registers every builder with TFDS.

    import tensorflow_datasets as tfds
    import tfds_builders  # noqa: F401  (registers mnist_idx, ...)
    ds = tfds.load("mnist_idx", split="train", as_supervised=True)
"""

__version__ = "0.1.0"

import os
import sys


def register_builders():
  """Imports every builder module, which registers its builders with TFDS (idempotent)."""
  global CsvFolder, IdxFolder
  try:
    import tensorflow  # noqa: F401  (checked first: the most common missing piece)
  except ImportError as e:  # pragma: no cover - depends on the user's environment
    raise ImportError(
        "tfds_builders needs TensorFlow, which it leaves to you so that you can keep your own "
        "build. Install one: `pip install 'tfds_builders[tf-cpu]'` (CPU) or "
        "`pip install 'tfds_builders[tf]'` (the standard build, GPU-capable).") from e
  # Importing a dataset package registers its builders with TFDS; each package's __init__ lists
  # its own builder modules.
  from tfds_builders import imagenet  # noqa: F401
  from tfds_builders import mnist_family  # noqa: F401
  from tfds_builders import smallnorb  # noqa: F401
  from tfds_builders.mnist_family.folder import CsvFolder, IdxFolder  # noqa: F401


# The command line imports this package before it runs: `python -m tfds_builders` (sys.argv[0] is
# "-m" only while Python is locating that module) and the `tfds-builders` console script (argv[0]
# is the script's path). It registers the builders itself when a subcommand needs them, after
# `--help` and after its stderr filter has split off the process that loads TensorFlow.
def _run_as_the_command_line() -> bool:
  argv = getattr(sys, "argv", None) or [""]
  return argv[0] == "-m" or os.path.basename(argv[0]) == "tfds-builders"


if not _run_as_the_command_line():
  register_builders()


def builder_classes():
  """{name: builder class} of every builder this package registers, sorted by name.

  Read from our own classes (every registered subclass of SourceFilesMixin defined in a
  tfds_builders module), never from TFDS's list of all names: asking TFDS for each name's class
  imports every official builder module, and one that is broken (TFDS 4.9.7's smart_buildings
  raises ImportError) would stop whatever asked. A new builder module is found once its package's
  __init__ imports it; nothing here lists names by hand.
  """
  register_builders()
  from tfds_builders.builder_base import SourceFilesMixin

  classes, pending = {}, [SourceFilesMixin]
  while pending:
    cls = pending.pop()
    pending.extend(cls.__subclasses__())
    # Bases made with skip_registration=True (IdxImageClassification, ...) are not in TFDS's
    # registry; neither is a class a notebook re-defined under a name TFDS now maps to another.
    if (cls.__module__.startswith("tfds_builders.")
        and _class_tfds_registered_as(getattr(cls, "name", None)) is cls):
      classes[cls.name] = cls
  return dict(sorted(classes.items()))


def _class_tfds_registered_as(name):
  """The class TFDS has registered under `name` by importing it, or None; nothing is imported.

  The one use of a TFDS internal in the package, on purpose: tensorflow_datasets 4.9.7 to 4.9.10
  have no public look-up that stays in the registry. `tfds.builder_cls` imports every legacy
  builder module to look further for a name the registry lacks (a base class's name, here), and
  then the module of a datasets/ package of that name; asked for the names `tfds.list_builders`
  gives, it imports every builder module, and one that is broken (4.9.7's smart_buildings raises
  ImportError) stops whatever asked. Both ends keep `registered._DATASET_REGISTRY`, the dict of
  name -> class that RegisteredDataset.__init_subclass__ fills.
  """
  from tensorflow_datasets.core import registered
  return registered._DATASET_REGISTRY.get(name)  # noqa: SLF001  (see the docstring)


def builder_names():
  """The names of every builder this package registers, sorted (see builder_classes)."""
  return list(builder_classes())
