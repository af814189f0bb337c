"""The package's own error types.

Every problem with a source file, a download or a manual directory is raised as a subclass of
`TfdsBuildersError`, whose message names the file (or URL) and what is wrong with it. This module
imports nothing heavy so that `formats/` can use it without TensorFlow.
"""

from __future__ import annotations

import os
from typing import Sequence, Tuple


class TfdsBuildersError(Exception):
  """Base class of every error raised on purpose by tfds_builders."""


class SourceFormatError(TfdsBuildersError, ValueError):
  """A source file is not what its format says it must be.

  Attributes:
    path: the file (a path, or the name of a file object) the problem was found in.
    problem: what is wrong, in words, without the file name.
  """

  def __init__(self, path, problem: str):
    self.path = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    self.problem = problem
    super().__init__(f"{self.path}: {problem}")


class DownloadError(TfdsBuildersError, OSError):
  """Every mirror of a file failed.

  Attributes:
    file_name: the source file that could not be fetched.
    attempts: (url, reason) for every URL tried, in order.
  """

  def __init__(self, file_name: str, attempts: Sequence[Tuple[str, str]], hint: str = ""):
    self.file_name = file_name
    self.attempts = list(attempts)
    lines = [f"Could not download {file_name}: every mirror failed." if self.attempts else
             f"Could not download {file_name}."]
    for url, reason in self.attempts:
      lines.append(f"  - {url}: {reason}")
    if hint:
      lines.append(hint)
    super().__init__("\n".join(lines))


class ManualDirError(TfdsBuildersError, FileNotFoundError):
  """Files a builder needs are not in the manual directory (or are misnamed)."""


class ConfigurationError(TfdsBuildersError, ValueError):
  """A setting (an environment variable, a builder argument) has a value that cannot be used."""
