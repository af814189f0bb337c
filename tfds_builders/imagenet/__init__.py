"""ImageNet ILSVRC2012 (ilsvrc2012). Importing this package registers its builders."""

from tfds_builders.imagenet import ilsvrc2012  # noqa: F401
