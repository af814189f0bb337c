"""TensorFlow Datasets builders: `import tfds_builders` registers every builder with TFDS.

    import tensorflow_datasets as tfds
    import tfds_builders  # noqa: F401  (registers mnist_idx, ...)
    ds = tfds.load("mnist_idx", split="train", as_supervised=True)
"""

__version__ = "0.1.0"

try:
  import tensorflow  # noqa: F401  (checked first: the most common missing piece)
except ImportError as e:  # pragma: no cover - depends on the user's environment
  raise ImportError(
      "tfds_builders needs TensorFlow, which it leaves to you so that you can keep your own build. "
      "Install one: `pip install 'tfds_builders[tf-cpu]'` (CPU) or "
      "`pip install 'tfds_builders[tf]'` (the standard build, GPU-capable).") from e

# Importing a dataset package registers its builders with TFDS; each package's __init__ lists
# its own builder modules.
from tfds_builders import imagenet  # noqa: E402,F401
from tfds_builders import mnist_family  # noqa: E402,F401
from tfds_builders import smallnorb  # noqa: E402,F401
from tfds_builders.mnist_family.folder import CsvFolder, IdxFolder  # noqa: E402,F401


def builder_names():
  """The names of every builder this package registers, sorted."""
  import tensorflow_datasets as tfds
  names = []
  for name in tfds.core.registered.list_imported_builders():
    cls = tfds.core.registered.imported_builder_cls(name)
    if cls.__module__.startswith("tfds_builders."):
      names.append(name)
  return sorted(names)
