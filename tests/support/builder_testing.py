"""The base of every builder test (import the module, not the class, so pytest does not
collect the base itself): TFDS's own DatasetBuilderTestCase, minus tf.test's legacy
`test_session` method, which is not a test and would only show up as a skip."""

import tensorflow_datasets as tfds


class BuilderTestCase(tfds.testing.DatasetBuilderTestCase):
  test_session = None
