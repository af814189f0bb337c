"""TensorFlow Datasets builders: `import tfds_builders` registers every builder with TFDS.

    import tensorflow_datasets as tfds
    import tfds_builders  # noqa: F401  (registers mnist_idx, ...)
    ds = tfds.load("mnist_idx", split="train", as_supervised=True)
"""

__version__ = "0.1.0"

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


# `python -m tfds_builders` imports this package before it runs __main__, and sys.argv[0] is "-m"
# only while Python is locating that module. The command line registers the builders itself when a
# subcommand needs them, so that `--help` does not wait seconds for TensorFlow to load.
if getattr(sys, "argv", [])[:1] != ["-m"]:
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
  from tensorflow_datasets.core import registered
  from tfds_builders.builder_base import SourceFilesMixin

  classes, pending = {}, [SourceFilesMixin]
  while pending:
    cls = pending.pop()
    pending.extend(cls.__subclasses__())
    # Bases made with skip_registration=True (IdxImageClassification, ...) are not in TFDS's
    # registry; neither is a class a notebook re-defined under a name TFDS now maps to another.
    # A dictionary look-up, not tfds.builder_cls: a name TFDS lacks would make it import every
    # legacy builder module to look further.
    if (cls.__module__.startswith("tfds_builders.")
        and registered._DATASET_REGISTRY.get(getattr(cls, "name", None)) is cls):
      classes[cls.name] = cls
  return dict(sorted(classes.items()))


def builder_names():
  """The names of every builder this package registers, sorted (see builder_classes)."""
  return list(builder_classes())
