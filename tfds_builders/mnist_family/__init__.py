"""The MNIST family: one IDX reader, datasets that differ only in their tables.

Importing this package registers its builders (one import line per builder module).
"""

from tfds_builders.mnist_family import mnist_idx  # noqa: F401
