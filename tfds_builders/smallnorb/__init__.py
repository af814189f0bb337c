"""smallNORB (norb_small). Importing this package registers its builders."""

from tfds_builders.smallnorb import norb_small  # noqa: F401
