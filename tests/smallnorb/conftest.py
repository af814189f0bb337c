"""Datasets built once per test session from the dummy files (both configs)."""

import pytest

from ._shared import build


@pytest.fixture(scope="session")
def norb_data_dir(tmp_path_factory):
  return tmp_path_factory.mktemp("norb_small_data")


@pytest.fixture(scope="session")
def stereo(norb_data_dir):
  return build(norb_data_dir, "stereo")


@pytest.fixture(scope="session")
def mono(norb_data_dir):
  return build(norb_data_dir, "mono")
