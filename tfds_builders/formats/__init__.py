"""Pure readers for the source formats: bytes or paths in, numpy arrays or iterators out.

Nothing in this package imports TensorFlow or TFDS, so each reader can be tested, fuzzed and reused
on its own. Every problem raises `tfds_builders.errors.SourceFormatError` naming the file.
"""
