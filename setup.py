"""tfds_builders: TensorFlow Datasets builders with mirrors, offline sources and checked formats."""

import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).resolve().parent

# TensorFlow is left to the user (GPU, CPU or a custom build all provide the `tensorflow` module
# under different distribution names); pick one with an extra: [tf-cpu] or [tf].
REQUIRES = [
    # 4.9.8: with a gs:// data_dir where nothing is under <data_dir>/<name> yet, 4.9.7's
    # tfds.builder lists that folder through TensorFlow, which raises NotFoundError (not the OSError
    # TFDS catches): the first build into a fresh bucket fails before it starts.
    "tensorflow-datasets>=4.9.8,<5",
    "numpy>=1.26",
    # 11.2.1: the first whose text rendering reproduces the bundled sample glyphs, which the tests
    # regenerate (dummy_data/_common.py) and compare pixel for pixel; the lowest CI tests.
    "pillow>=11.2.1",
    "scipy>=1.11",
    # TFRecord's CRC32C in C, for `verify` (gcsfs and google-cloud-storage use the same package).
    "google-crc32c>=1.5",
    # `tfds build` of tensorflow-datasets 4.9.x dies at start-up without these three.
    "mlcroissant>=1.0",
    "importlib_resources>=6",
    "apache-beam>=2.55",
    # tensorflow-metadata 1.21 (the release after 1.17.3) is generated for protobuf >= 6.31.1 (its
    # *_pb2 modules import google.protobuf.runtime_version) yet declares protobuf>=4.25.2, so next
    # to TensorFlow 2.16-2.19 (protobuf < 6) `import tensorflow_datasets` fails. 1.16.1 (with
    # protobuf 4.25) and 1.17.3 (with protobuf 6.33) are the two ends .ci/versions tests.
    "tensorflow-metadata>=1.16.1,<1.18",
]

EXTRAS = {
    "tf-cpu": ["tensorflow-cpu>=2.16,<3"],
    "tf": ["tensorflow>=2.16,<3"],
    "beam": ["apache-beam>=2.55"],
    # gs:// sources through gcsfs (TFDS's path type uses it when TensorFlow's own GCS file system
    # is not used: EPATH_USE_TF=false, or no TensorFlow).
    "cloud": ["gcsfs>=2024.2", "google-cloud-storage>=2.18"],  # the latter: the bucket build lock
    # The notebooks' extras: pictures (tfds.show_examples too) and sliders. The README's first
    # command installs them.
    "notebooks": ["matplotlib>=3.7", "ipywidgets>=8"],
    # dill: tensorflow_datasets.testing imports it; nbclient/ipykernel run the notebooks in tests.
    # gcsfs and gcp-storage-emulator: the gs:// tests run against a local GCS emulator (2026.7.19:
    # 2026.7.18 fails on an upload with no body, the folder marker TensorFlow 2.16 writes).
    # build: tests/test_packaging.py makes the sdist and wheel as .ci/versions does.
    "test": ["pytest>=8", "hypothesis>=6.100", "dill", "nbclient>=0.10", "nbformat>=5",
             "gcsfs>=2024.2", "gcp-storage-emulator>=2026.7.19", "google-cloud-storage>=2.18",
             "cryptography>=42",
             "ipykernel>=6", "matplotlib>=3.7", "ipywidgets>=8", "build>=1"],
}

# The repository's address, the one place it is written. The project has no public URL yet, so
# this is a placeholder on RFC 2606's reserved example.com: replace it with the repository's
# address (GitHub's layout: <url>/blob/<branch>/<path> pages, <url>/raw/<branch>/<path> files).
REPOSITORY_URL = "https://example.com/tfds_builders"
REPOSITORY_BRANCH = "main"


def long_description(readme, url=REPOSITORY_URL, branch=REPOSITORY_BRANCH):
  """README.md as a package index shows it: there a relative link has no page to be relative to,
  so every relative link and image outside code becomes absolute (images to the raw file, so
  they show; `#anchor` to the README's own heading). Code is left as written."""
  import re
  # A code span outside a link is matched first and kept; a link's text may hold code spans.
  link = re.compile(r"(?P<code>`[^`]*`)|(?P<image>!?)\[(?P<text>(?:`[^`]*`|[^\]`])*)\]"
                    r"\((?P<target>[^()\s]+)\)")

  def absolute(found):
    target = found["target"]
    if found["code"] or re.match(r"[a-z][a-z0-9+.-]*:", target):  # code, https:, mailto:, ...
      return found[0]
    target = "README.md" + target if target.startswith("#") else target
    kind = "raw" if found["image"] else "blob"
    return f"{found['image']}[{found['text']}]({url}/{kind}/{branch}/{target})"

  lines, inside = [], False
  for line in readme.splitlines(keepends=True):
    if line.startswith("```"):
      inside = not inside
    elif not inside:
      line = link.sub(absolute, line)
    lines.append(line)
  return "".join(lines)


setup(
    name="tfds_builders",
    version="0.1.0",
    description=__doc__,
    long_description=long_description((HERE / "README.md").read_text(encoding="utf-8")),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["tfds_builders", "tfds_builders.*"]) + [
        "tfds_builders.checksums", "tfds_builders.dummy_data"],
    # The checksum tables and the sample sources live at the top of the repository and are
    # installed inside the package, so an installed copy finds them too.
    package_dir={"tfds_builders.checksums": "checksums",
                 "tfds_builders.dummy_data": "dummy_data"},
    # Each dataset folder's README.md is its card: TFDS shows it as the dataset's description.
    package_data={"tfds_builders": ["*/README.md"],
                  "tfds_builders.checksums": ["*.tsv"],
                  "tfds_builders.dummy_data": ["**/*"]},
    include_package_data=False,
    install_requires=REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["tfds-builders=tfds_builders.__main__:main"]},
)
