"""The base of every builder test: TFDS's own DatasetBuilderTestCase.

Import the module, not the class, so that pytest does not collect the base itself.
"""

import tensorflow as tf
import tensorflow_datasets as tfds


class _InstanceOnly:
  """tf.test's legacy `test_session` is a helper TFDS calls, not a test; unittest collects it and
  it shows up as a skip. Visible on instances (TFDS still calls it), invisible to collection."""

  def __get__(self, obj, cls):
    if obj is None:
      return None
    return tf.test.TestCase.test_session.__get__(obj, cls)


class BuilderTestCase(tfds.testing.DatasetBuilderTestCase):
  test_session = _InstanceOnly()
