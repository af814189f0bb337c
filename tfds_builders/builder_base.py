"""What every tfds_builders builder shares: the user's mirrors and the way to its source files."""

from __future__ import annotations

import os
import pathlib
from typing import Optional, Sequence

from tfds_builders import download

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent


def sample_sources_dir() -> pathlib.Path:
  """The bundled sample sources (the repository's `dummy_data/`, installed with the package)."""
  installed = PACKAGE_DIR / "dummy_data"
  return installed if installed.is_dir() else PACKAGE_DIR.parent / "dummy_data"


LOCAL_SOURCES_INSTRUCTIONS = """\
Optional: to build without any network access, put the source files in the manual directory
(`--manual_dir DIR` for `tfds build`, or
`download_config=tfds.download.DownloadConfig(manual_dir=DIR)`), named as on the official site:
{files}
Files already decompressed (the same names without `.gz`) are accepted too, and so is a
sub-folder named after the dataset (`DIR/{name}/`), looked in first. Files with the
official names are checked against the registered size and sha256; a mismatch is logged as a
warning naming the file and the file is used as it is. To download from your own mirror first, set
TFDS_BUILDERS_MIRROR_{upper}=<base URL> or pass `builder_kwargs={{"mirrors": [<base URL>]}}`.
"""


def manual_dir_of(dl_manager) -> Optional[pathlib.Path]:
  """The manual directory when the user gave one that exists, else None (never raises)."""
  try:
    path = dl_manager.manual_dir
  except (AssertionError, ValueError):
    return None
  return pathlib.Path(os.fspath(path)) if path else None


class SourceFilesMixin:
  """Adds the `mirrors=` builder argument and a `Fetcher` for the builder's source files.

  Use as the first base of a `tfds.core.GeneratorBasedBuilder`:
  `tfds.builder("mnist_idx", mirrors=["https://my.host/mnist/"])`.
  """

  def __init__(self, *, mirrors: Optional[Sequence[str]] = None, **kwargs):
    if isinstance(mirrors, str):
      mirrors = [mirrors]
    self._user_mirrors = list(mirrors or ())
    super().__init__(**kwargs)

  def fetcher(self, dl_manager, verify_local_hash: bool = True) -> download.Fetcher:
    return download.Fetcher(self.name, manual_dir_of(dl_manager), dl_manager.download_dir,
                            mirrors=self._user_mirrors, verify_local_hash=verify_local_hash)


def local_sources_instructions(builder_name: str, file_names: Sequence[str]) -> str:
  return LOCAL_SOURCES_INSTRUCTIONS.format(
      files="\n".join(f"  {n}" for n in file_names), upper=builder_name.upper(),
      name=builder_name)


__all__ = ["SourceFilesMixin", "manual_dir_of", "local_sources_instructions",
           "sample_sources_dir"]
