"""The MNIST family: one IDX reader, datasets that differ only in their tables.

Importing this package registers its builders (one import line per builder module). `IdxFolder`
and `CsvFolder` turn a user's own folder of IDX or CSV files into a dataset, unregistered, like
`tfds.ImageFolder`.
"""

from tfds_builders.mnist_family import emnist_idx  # noqa: F401
from tfds_builders.mnist_family import fashion_mnist_idx  # noqa: F401
from tfds_builders.mnist_family import kmnist_idx  # noqa: F401
from tfds_builders.mnist_family import mnist_idx  # noqa: F401
from tfds_builders.mnist_family import qmnist  # noqa: F401
from tfds_builders.mnist_family import mnist_csv  # noqa: F401
from tfds_builders.mnist_family.folder import CsvFolder, IdxFolder  # noqa: F401,E402
