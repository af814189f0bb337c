"""tfds_builders: TensorFlow Datasets builders with mirrors, offline sources and checked formats."""

import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).resolve().parent

# TensorFlow is left to the user (GPU, CPU or a custom build all provide the `tensorflow` module
# under different distribution names); pick one with an extra: [tf-cpu] or [tf].
REQUIRES = [
    "tensorflow-datasets>=4.9.7,<5",
    "numpy>=1.26",
    "pillow>=10.1",
    "scipy>=1.11",
    # `tfds build` of tensorflow-datasets 4.9.x dies at start-up without these three.
    "mlcroissant>=1.0",
    "importlib_resources>=6",
    "apache-beam>=2.55",
]

EXTRAS = {
    "tf-cpu": ["tensorflow-cpu>=2.16,<3"],
    "tf": ["tensorflow>=2.16,<3"],
    "beam": ["apache-beam>=2.55"],
    # gs:// sources through gcsfs (TFDS's path type uses it when TensorFlow's own GCS file system
    # is not used: EPATH_USE_TF=false, or no TensorFlow).
    "cloud": ["gcsfs>=2024.2"],
    # The notebooks' extras: pictures (tfds.show_examples too) and sliders. The README's first
    # command installs them.
    "notebooks": ["matplotlib>=3.7", "ipywidgets>=8"],
    # dill: tensorflow_datasets.testing imports it; nbclient/ipykernel run the notebooks in tests.
    # gcsfs and gcp-storage-emulator: the gs:// tests run against a local GCS emulator.
    "test": ["pytest>=8", "hypothesis>=6.100", "dill", "nbclient>=0.10", "nbformat>=5",
             "gcsfs>=2024.2", "gcp-storage-emulator>=2024.8",
             "ipykernel>=6", "matplotlib>=3.7", "ipywidgets>=8"],
}

setup(
    name="tfds_builders",
    version="0.1.0",
    description=__doc__,
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
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
