"""What every tfds_builders builder shares: the user's mirrors and the one way to its inputs."""

from __future__ import annotations

import os
import pathlib
from typing import ClassVar, Mapping, Optional, Sequence

import tensorflow_datasets as tfds

from tfds_builders import build_lock, download, publishing, sources

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent


def sample_sources_dir() -> pathlib.Path:
  """The bundled sample sources (the repository's `dummy_data/`, installed with the package)."""
  installed = PACKAGE_DIR / "dummy_data"
  return installed if installed.is_dir() else PACKAGE_DIR.parent / "dummy_data"


LOCAL_SOURCES_INSTRUCTIONS = """\
Optional: to build without any network access, put the source files in the manual directory
(`--manual_dir DIR` for `tfds build`, or
`download_config=tfds.download.DownloadConfig(manual_dir=DIR)`; a bucket path such as
gs://bucket/dir works too), named as on the official site:
{files}
Files already decompressed (the same names without `.gz`) are accepted too, and so is a
sub-folder named after the dataset (`DIR/{name}/`), looked in first. Files with the
official names are checked against the registered size and sha256; a mismatch is logged as a
warning naming the file and the file is used as it is. To download from your own mirror first, set
TFDS_BUILDERS_MIRROR_{upper}=<base URL> or pass `builder_kwargs={{"mirrors": [<base URL>]}}`.
"""


class SourceFilesMixin:
  """Adds the `mirrors=` builder argument and `self.resolve(dl_manager, table)`.

  Use as the first base of a `tfds.core.GeneratorBasedBuilder`:
  `tfds.builder("mnist_idx", mirrors=["https://my.host/mnist/"])`.
  """

  # Builders that read the same sources (ilsvrc2012, ilsvrc2012_raw256 and
  # ilsvrc2012_localization; qmnist and qmnist_nist) name one set: one folder in the manual and
  # download dirs, one checksums table, one mirror variable, one folder of sample sources.
  SOURCES_NAME: ClassVar[Optional[str]] = None

  @classmethod
  def sources_name(cls) -> str:
    return cls.SOURCES_NAME or cls.name

  def __init__(self, *, mirrors: Optional[Sequence[str]] = None, **kwargs):
    if isinstance(mirrors, str):
      mirrors = [mirrors]
    self._user_mirrors = list(mirrors or ())
    self._download_config = None
    super().__init__(**kwargs)

  @tfds.core.utils.classproperty
  @classmethod
  def _checksums_path(cls):
    # TFDS reads (and with --register_checksums, first touches) the builder's table here; ours is
    # checksums/<builder>.tsv, in TFDS's own format, rather than a file beside the code.
    return download.checksums_path(cls.sources_name())

  def __init_subclass__(cls, **kwargs):
    super().__init_subclass__(**kwargs)
    # A build whose bucket lock is lost (taken over by another build) stops at its next example.
    if "_generate_examples" in cls.__dict__:
      cls._generate_examples = build_lock.stops_when_lock_lost(cls.__dict__["_generate_examples"])

  def download_and_prepare(self, **kwargs):
    # One build of a dataset version at a time in a data dir, local or bucket: a second one
    # waits, then finds the dataset ready (see build_lock).
    config = kwargs.get("download_config") or tfds.download.DownloadConfig()
    return build_lock.prepare(
        self, lambda: super(SourceFilesMixin, self).download_and_prepare(**kwargs),
        overwrite=config.download_mode.overwrite_dataset)

  def as_dataset(self, *args, **kwargs):
    # A version folder without dataset_info.json is being published into a bucket, or was left
    # half-published by a killed build: TFDS would read it as a dataset of no splits.
    publishing.check_committed(self.info.full_name, self.data_path)
    return super().as_dataset(*args, **kwargs)

  def _download_and_prepare(self, dl_manager, download_config):
    # The only place TFDS shows the user's download switches (manual_dir as given, download_mode,
    # register_checksums, Beam options) to a builder.
    self._download_config = download_config
    self.resolver(dl_manager)  # a manual_dir that does not exist stops here, before any work
    return super()._download_and_prepare(dl_manager, download_config)

  def resolver(self, dl_manager) -> sources.Resolver:
    config = self._download_config or tfds.download.DownloadConfig()
    try:
      # TFDS hands over only a manual_dir that exists and is not empty (and its test harness
      # replaces this property with the dummy data folder).
      manual_dir = dl_manager.manual_dir
    except (AssertionError, ValueError):
      # Missing or empty: the resolver names a missing one the user gave, and ignores TFDS's
      # default <data_dir>/downloads/manual when nobody created it.
      manual_dir = getattr(dl_manager, "_manual_dir", None)
    return sources.Resolver(
        self.sources_name(), manual_dir, dl_manager.download_dir,
        manual_dir_given=config.manual_dir is not None, mirrors=self._user_mirrors,
        force_redownload=config.download_mode == tfds.download.GenerateMode.FORCE_REDOWNLOAD,
        register_checksums=config.register_checksums,
        samples_dir=os.path.realpath(sample_sources_dir()))

  def resolve(self, dl_manager, table: Mapping[str, sources.Input],
              at_least_one_of: Sequence[str] = (), how_to_fix: str = ""):
    """Every input of the table, found or downloaded (see `tfds_builders.sources`)."""
    return self.resolver(dl_manager).resolve(table, at_least_one_of, how_to_fix)

  def uses_beam(self) -> bool:
    config = self._download_config
    return bool(config is not None and (config.beam_runner or config.beam_options))


def local_sources_instructions(builder_name: str, file_names: Sequence[str]) -> str:
  return LOCAL_SOURCES_INSTRUCTIONS.format(
      files="\n".join(f"  {n}" for n in file_names), upper=builder_name.upper(),
      name=builder_name)


__all__ = ["SourceFilesMixin", "local_sources_instructions", "sample_sources_dir"]
