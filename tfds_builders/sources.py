"""Every builder's inputs, declared as a table and found by one resolver, in one order.

A builder declares what it reads:

- `SourceFile`: a named file with mirrors (MNIST's IDX files, smallNORB's `.mat.gz`, EMNIST's zip);
- `SourceGlob`: every file matching a pattern, one split each (`mnist_<subset>.csv`), with the
  files to download when the manual directory holds none;
- `ManualInput`: an archive or an extracted folder only the user can provide (ImageNet's tars,
  devkit and trees).

`Resolver.resolve(table)` finds each input, for every builder in the same order:

1. `manual_dir/<builder>/`, then `manual_dir/` (a file with an accepted name is used as it is and
   no network request is made; official names are checked against the registered size and
   digest, and a mismatch is reported, once per build, as a warning that lists the files);
2. the verified download cache, `<download_dir>/<builder>/` (skipped with
   `download_mode=force_redownload`);
3. the user's mirrors (`mirrors=`, `TFDS_BUILDERS_MIRROR_<BUILDER>`, `TFDS_BUILDERS_MIRROR`);
4. the built-in mirrors.

Paths are `etils.epath.Path` throughout, so a manual directory or a download directory in a bucket
(`gs://...`) is read in place, like a local one. A manual directory the user named that does not
exist stops the build at once. What is missing from it is logged in one line before anything is
downloaded, and when the download fails too, the error names the manual directory, what in it looks
close, and every mirror tried.

`Resolver.check_manual_dir()` compares the manual directory with the registered checksums without
building anything (`python -m tfds_builders verify NAME --sources --manual_dir M`).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import os
import re
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from etils import epath

from tfds_builders import download
from tfds_builders.download import Checksum
from tfds_builders.errors import DownloadError, ManualDirError
from tfds_builders.formats import paths

log = logging.getLogger("tfds_builders.sources")

_COMPRESSED_SUFFIXES = (".gz", ".xz")
_PARTIAL_DOWNLOAD = (".part", ".crdownload", ".download", ".partial", ".tmp")
_ARCHIVE_SUFFIXES = (".gz", ".xz", ".tar", ".zip", ".tgz", ".7z", ".rar", ".csv")
_VERIFIED_SUFFIX = ".verified.json"


@dataclasses.dataclass(frozen=True)
class SourceFile:
  """A named file a builder needs.

  Attributes:
    name: the official file name (what it is called on every mirror).
    mirrors: base URLs that serve it, best first; the URL is base + name.
    local_names: other names it may have on disk (besides the name without .gz/.xz, i.e. already
      decompressed by the user or their browser).
    md5: the published md5, for files that have no size and sha256 in the checksums table.
    check: for files with no published digest, a full check of the content (raises
      SourceFormatError); a download becomes a source only after it passes.
    max_size: the most bytes a download may have when no size is registered.
    optional: the file may be missing from the manual directory, and is then not downloaded
      (resolved to None).
  """
  name: str
  mirrors: Tuple[str, ...] = ()
  local_names: Tuple[str, ...] = ()
  md5: Optional[str] = None
  check: Optional[Callable[[epath.Path], None]] = None
  max_size: Optional[int] = None
  optional: bool = False

  def urls(self) -> List[str]:
    return [download.join_url(base, self.name) for base in self.mirrors]

  def accepted_names(self) -> List[str]:
    names = [self.name, *self.local_names]
    for suffix in _COMPRESSED_SUFFIXES:
      if self.name.endswith(suffix) and self.name[:-len(suffix)] not in names:
        names.append(self.name[:-len(suffix)])
    return names


@dataclasses.dataclass(frozen=True)
class SourceGlob:
  """Every file whose name matches `pattern` (a regex with a `subset` group) is one split.

  Attributes:
    pattern: e.g. `^mnist_(?P<subset>[A-Za-z0-9_-]+)\\.csv$`.
    layout: how a user would write the pattern, for messages (`mnist_<subset>.csv`).
    defaults: the files downloaded when the manual directory holds none; each file's subset is
      taken from its name by the same pattern.
    near: files that look meant for the glob (e.g. `mnist_*.csv`) but do not match `pattern`
      (a subset that cannot be a split name): they are named in a warning, never silently skipped.
  """
  pattern: str
  layout: str
  defaults: Tuple[SourceFile, ...] = ()
  near: Optional[str] = None

  def subset_of(self, name: str) -> Optional[str]:
    match = re.match(self.pattern, name)
    return match.group("subset") if match else None


@dataclasses.dataclass(frozen=True)
class ManualInput:
  """An archive or an extracted folder that only the user can provide.

  Attributes:
    names: accepted archive names, best first.
    folder: the name of the extracted folder that can stand in for the archive.
    layout: how that folder is laid out, for messages.
    md5: the published md5 of each archive name that has one.
    hash_check: compare the md5 of a manual copy (small files); large archives are compared by
      registered size only, since hashing 148 GB would take longer than the build.
  """
  names: Tuple[str, ...]
  folder: Optional[str] = None
  layout: str = ""
  md5: Tuple[Tuple[str, str], ...] = ()
  hash_check: bool = False


Input = Union[SourceFile, SourceGlob, ManualInput]


@dataclasses.dataclass(frozen=True)
class NearMiss:
  """An entry of the manual directory that looks like an expected input under another name."""
  entry: epath.Path
  expected: str
  advice: str

  def __str__(self) -> str:
    return f"{self.entry}: {self.advice}"


def _stem(name: str) -> str:
  name = name.lower()
  changed = True
  while changed:
    changed = False
    for suffix in (*_PARTIAL_DOWNLOAD, *_ARCHIVE_SUFFIXES):
      if name.endswith(suffix):
        name = name[:-len(suffix)]
        changed = True
  return name.rstrip(" (0123456789)")


def matching_files(folder: paths.PathLike, glob: SourceGlob) -> Dict[str, epath.Path]:
  """subset -> path for every file of a folder whose name matches the glob's pattern."""
  found = {}
  for path in sorted(paths.as_path(folder).iterdir()):
    subset = glob.subset_of(path.name)
    if subset is not None and path.is_file():
      found[subset] = path
  return found


# How a registered file compares with its copy in the manual folders.
MATCHES, DIFFERS, MISSING, NOT_COMPARED = "matches", "differs", "missing", "not compared"
# What a check of the whole manual directory says (verify maps each to an exit status).
PASSED, FAILED, NOTHING_COMPARED = "passed", "failed", "nothing compared"


@dataclasses.dataclass(frozen=True)
class FileCheck:
  """One registered file against the copy of it found in the manual folders."""
  name: str  # the registered (official) name
  state: str  # MATCHES, DIFFERS, MISSING or NOT_COMPARED
  path: Optional[epath.Path] = None  # the copy found
  problem: Optional[str] = None  # how it differs


@dataclasses.dataclass(frozen=True)
class ManualDirCheck:
  """Every registered file of a builder against its manual folders (`Resolver.check_manual_dir`).

  `verdict` is NOTHING_COMPARED when no file could be compared at all, whatever else was found:
  a check that compared nothing must never read as a pass. The bundled sample sources differ
  from the official files by design: their differences are listed but do not fail the check.
  """
  builder_name: str
  manual_dir: epath.Path
  checksums_file: str
  folders: Tuple[epath.Path, ...]
  samples: bool
  files: Tuple[FileCheck, ...]

  def count(self, state: str) -> int:
    return sum(1 for f in self.files if f.state == state)

  @property
  def verdict(self) -> str:
    if not self.count(MATCHES) + self.count(DIFFERS):
      return NOTHING_COMPARED
    if self.count(MISSING) or (self.count(DIFFERS) and not self.samples):
      return FAILED
    return PASSED

  def lines(self) -> List[str]:
    looked_in = ", ".join(str(f) for f in self.folders)
    lines = [f"sources of {self.builder_name} in {self.manual_dir} against {self.checksums_file}:"]
    for file in self.files:
      if file.state == MISSING:
        lines.append(f"  {file.name}: missing (looked in {looked_in})")
      elif file.state == NOT_COMPARED:
        lines.append(f"  {file.path}: a decompressed copy of {file.name}, not compared (the "
                     "registered size and sha256 are of the compressed file)")
      elif file.state == MATCHES:
        lines.append(f"  {file.path}: matches")
      elif self.samples:
        lines.append(f"  {file.path}: a sample, not the official file ({file.problem})")
      else:
        lines.append(f"  {file.path}: {file.problem}")
    missing, not_compared = self.count(MISSING), self.count(NOT_COMPARED)
    counts = (f"{len(self.files)} registered files: {self.count(MATCHES)} match, "
              f"{self.count(DIFFERS)} differ, {missing} missing"
              + (f", {not_compared} not compared" if not_compared else ""))
    if self.verdict == NOTHING_COMPARED:
      lines.append(f"sources: {counts}: nothing was compared")
      if not self.files:
        lines.append(f"  {self.checksums_file} registers no size or sha256 for any file of "
                     f"{self.builder_name}, so there is nothing to compare its files with: run "
                     "verify without --sources")
        return lines
      if not_compared:
        lines.append("  the registered size and sha256 are of the compressed files, and only "
                     f"decompressed copies of {not_compared} of them were found")
      if missing:
        lines.append(f"  {missing} of them {'is' if missing == 1 else 'are'} in none of "
                     f"{looked_in}")
      wanted = ", ".join(f.name for f in self.files if f.state in (MISSING, NOT_COMPARED))
      lines.append(f"  pass as --manual_dir a folder that holds the files as downloaded: {wanted}")
    elif self.samples and not missing:
      lines.append(f"sources: {counts}: the bundled sample sources, which differ from the "
                   "official files by design")
    else:
      lines.append(f"sources: {counts}")
    return lines


class Resolver:
  """Finds or downloads a builder's declared inputs (see the module docstring for the order).

  Args:
    builder_name: the builder's registered name (its folder in the manual and download dirs).
    manual_dir: the manual directory, or None.
    download_dir: where verified downloads are kept (`<download_dir>/<builder>/`), or None.
    manual_dir_given: the user named manual_dir (a missing one is then an error, not a default
      that was never created).
    mirrors: the user's mirrors (the builder's `mirrors=` argument).
    force_redownload: ignore the download cache (TFDS's `download_mode=force_redownload`).
    register_checksums: record size and sha256 of files fetched from URLs the table lacks.
    samples_dir: the bundled sample sources: differences from the official files are expected
      there and are not warned about.
  """

  def __init__(self, builder_name: str, manual_dir: Optional[paths.PathLike] = None,
               download_dir: Optional[paths.PathLike] = None, *, manual_dir_given: bool = True,
               mirrors: Sequence[str] = (), force_redownload: bool = False,
               register_checksums: bool = False, checksums_dir: Optional[os.PathLike] = None,
               samples_dir: Optional[paths.PathLike] = None,
               limits: Optional[download.Limits] = None):
    self.builder_name = builder_name
    self.manual_dir = paths.as_path(manual_dir) if manual_dir else None
    if self.manual_dir is not None and not self.manual_dir.is_dir():
      if manual_dir_given:
        what = "is a file, not a directory" if self.manual_dir.exists() else "does not exist"
        raise ManualDirError(
            f"{builder_name}: the manual directory {self.manual_dir} {what}. Check the path given "
            "as --manual_dir (or DownloadConfig(manual_dir=...)); nothing was downloaded.")
      self.manual_dir = None
    self.manual_dir_given = manual_dir_given
    self.download_dir = (paths.as_path(download_dir) / builder_name) if download_dir else None
    self.mirrors = list(mirrors)
    self.force_redownload = force_redownload
    self.register = register_checksums
    self.checksums_dir = checksums_dir
    self.checksums = download.checksums_for(builder_name, checksums_dir)
    self.limits = limits or download.Limits.from_env()
    self._samples = os.fspath(samples_dir) if samples_dir else None
    self._differences: List[str] = []
    self._known: Dict[str, Input] = {}  # every input resolved so far: not near misses

  # ------------------------------------------------------------ where to look

  def folders(self) -> List[epath.Path]:
    """The manual folders looked in, in order: `manual_dir/<builder>/`, then `manual_dir/`."""
    if self.manual_dir is None:
      return []
    own = self.manual_dir / self.builder_name
    return [own, self.manual_dir] if own.is_dir() else [self.manual_dir]

  def manual_dir_holds_samples(self) -> bool:
    """The manual directory is (inside) the bundled sample sources, which differ from the
    official files by design."""
    if self._samples is None or self.manual_dir is None:
      return False
    here = os.path.realpath(os.fspath(self.manual_dir)) if paths.is_local(
        self.manual_dir) else os.fspath(self.manual_dir)
    return here == self._samples or here.startswith(self._samples.rstrip(os.sep) + os.sep)

  def check_manual_dir(self) -> ManualDirCheck:
    """Every registered file compared with its copy in the manual folders, by size and sha256 (or
    md5 where that is all there is), hashing each file in full."""
    if self.manual_dir is None:
      raise ManualDirError(f"{self.builder_name}: no manual directory to check was given")
    folders = self.folders()
    files = []
    for name, checksum in sorted(self.checksums.items()):
      found = next(((folder / accepted, accepted) for folder in folders
                    for accepted in SourceFile(name).accepted_names()
                    if (folder / accepted).is_file()), None)
      if found is None:
        files.append(FileCheck(name, MISSING))
        continue
      path, accepted = found
      if accepted != name:
        files.append(FileCheck(name, NOT_COMPARED, path))
        continue
      problem = download.mismatch(path, checksum)
      files.append(FileCheck(name, MATCHES if problem is None else DIFFERS, path, problem))
    return ManualDirCheck(self.builder_name, self.manual_dir,
                          download.checksums_path(self.builder_name, self.checksums_dir).name,
                          tuple(folders), self.manual_dir_holds_samples(), tuple(files))

  # ------------------------------------------------------------ the table

  def resolve(self, table: Mapping[str, Input], at_least_one_of: Sequence[str] = (),
              how_to_fix: str = "") -> Dict[str, object]:
    """key -> path (SourceFile, ManualInput; None when optional and absent) or
    {subset: path} (SourceGlob) for every input of the table.

    Local copies are looked for first, for the whole table, so that what is missing is said once
    before anything is downloaded. Manual inputs that look misnamed stop the build, as does a
    table where none of `at_least_one_of` was found.
    """
    self._known.update(table)
    found: Dict[str, object] = {}
    to_fetch: Dict[str, SourceFile] = {}
    for key, spec in table.items():
      if isinstance(spec, SourceFile):
        local = self.local(spec)
        if local is None and not spec.optional:
          to_fetch[key] = spec
        found[key] = local
      elif isinstance(spec, SourceGlob):
        found[key] = self._local_glob(spec)
        if not found[key]:
          for default in spec.defaults:
            to_fetch[f"{key}:{default.name}"] = default
      else:
        found[key] = self._manual_input(spec)
    manual_inputs = {k: s for k, s in table.items() if isinstance(s, ManualInput)}
    if manual_inputs:
      misses = self.near_misses({k: s for k, s in manual_inputs.items() if found[k] is None},
                                known=table)
      if misses or (at_least_one_of and not any(found[k] for k in at_least_one_of)):
        raise ManualDirError(self.missing_message(manual_inputs, found, misses, how_to_fix))
    self._report_differences()
    if to_fetch and self.folders():
      log.warning("%s: %s lacks %s; looking in the download cache and on the mirrors",
                  self.builder_name, " and ".join(str(f) for f in self.folders()),
                  ", ".join(s.name for s in to_fetch.values()))
    for key, spec in to_fetch.items():
      path = self.fetch(spec)
      if ":" in key:
        glob_key = key.split(":", 1)[0]
        found[glob_key][table[glob_key].subset_of(spec.name)] = path
      else:
        found[key] = path
    return found

  def get(self, source: SourceFile) -> Optional[epath.Path]:
    """One file, resolved like a table of one."""
    return self.resolve({source.name: source})[source.name]

  # ------------------------------------------------------------ files on disk

  def local(self, source: SourceFile) -> Optional[epath.Path]:
    """The file in the manual folders under one of its accepted names, or None."""
    for folder in self.folders():
      for name in source.accepted_names():
        path = folder / name
        if path.is_file():
          self._check_local(path, name, self._expected(name, source.md5 if name == source.name
                                                       else None))
          return path
    return None

  def _local_glob(self, glob: SourceGlob) -> Dict[str, epath.Path]:
    """The first manual folder that holds any matching file gives every split of the glob."""
    for folder in self.folders():
      found = matching_files(folder, glob)
      if glob.near:
        skipped = sorted(p.name for p in folder.iterdir()
                         if re.match(glob.near, p.name) and glob.subset_of(p.name) is None)
        if skipped:
          log.warning("%s: not read from %s: %s (files must be named %s, with a subset of "
                      "ASCII letters, digits, _ and -)", self.builder_name, folder,
                      ", ".join(ascii(n) for n in skipped), glob.layout)
      if found:
        log.info("%s: %s in %s: %s", self.builder_name, glob.layout, folder, sorted(found))
        return found
    return {}

  def _manual_input(self, spec: ManualInput) -> Optional[epath.Path]:
    for folder in self.folders():
      for name in spec.names:
        path = folder / name
        if path.is_file():
          if spec.folder and (folder / spec.folder).is_dir():
            log.info("%s: reading %s; the folder %s beside it is not read", self.builder_name,
                     path, spec.folder)
          md5 = dict(spec.md5).get(name) if spec.hash_check else None
          self._check_local(path, name, self._expected(name, md5), hash_contents=spec.hash_check)
          return path
      if spec.folder and (folder / spec.folder).is_dir():
        return folder / spec.folder
    return None

  def _expected(self, name: str, md5: Optional[str]) -> Optional[Checksum]:
    registered = self.checksums.get(name)
    if md5 is None:
      return registered
    if registered is None:
      return Checksum(None, None, md5)
    return dataclasses.replace(registered, md5=md5)

  def _check_local(self, path: epath.Path, name: str, expected: Optional[Checksum],
                   hash_contents: bool = True) -> None:
    if expected is None:
      return
    problem = download.mismatch(path, expected, hash_contents)
    if not problem:
      return
    if hash_contents and expected.sha256:
      owner = download.registered_elsewhere(path, self.builder_name)
      if owner:
        raise ManualDirError(
            f"{path} is {owner[0]}'s {owner[1]}, not {self.builder_name}'s: several datasets use "
            f"this file name. Put each dataset's files in its own folder, "
            f"{self.manual_dir / self.builder_name}{os.sep} for this one.")
    self._differences.append(f"{path} ({problem})")

  def _report_differences(self) -> None:
    """One warning for every manual file that differs from the official one, then forget them."""
    if not self._differences:
      return
    listed, self._differences = self._differences, []
    if self.manual_dir_holds_samples():
      log.info("%s: using the bundled sample sources (%d files differ from the official ones, "
               "as samples do)", self.builder_name, len(listed))
      return
    log.warning("%s: %d file(s) in the manual directory differ from the official ones and are "
                "used as they are (put there on purpose?):\n  %s", self.builder_name, len(listed),
                "\n  ".join(listed))

  # ------------------------------------------------------------ messages

  @staticmethod
  def _names(specs) -> List[Tuple[str, List[str]]]:
    """(official name, every name it is accepted under) of each input."""
    out: List[Tuple[str, List[str]]] = []
    for spec in specs:
      if isinstance(spec, SourceFile):
        out.append((spec.name, spec.accepted_names()))
      elif isinstance(spec, ManualInput):
        out.append((spec.names[0], [*spec.names, *([spec.folder] if spec.folder else [])]))
      elif isinstance(spec, SourceGlob):
        out += [(d.name, d.accepted_names()) for d in spec.defaults]
    return out

  def near_misses(self, expected: Mapping[str, Input],
                  known: Optional[Mapping[str, Input]] = None) -> List[NearMiss]:
    """Entries of the manual folders that look like a missing input under another name.

    Entries that are (under an accepted name) any input of `known` are not near misses.
    """
    wanted = self._names(expected.values())
    exact = {n for _, names in self._names((known or expected).values()) for n in names}
    misses = []
    for folder in self.folders():
      for entry in sorted(folder.iterdir()):
        if entry.name in exact or entry.name == self.builder_name:
          continue
        for official, names in wanted:
          if entry.name.lower().endswith(_PARTIAL_DOWNLOAD) and any(
              _stem(entry.name) == _stem(n) for n in names):
            misses.append(NearMiss(entry, official,
                                   "an unfinished download: finish or restart it"))
            break
          if any(_stem(entry.name) == _stem(n) for n in names) or difflib.get_close_matches(
              entry.name.lower(), [n.lower() for n in names], n=1, cutoff=0.85):
            misses.append(NearMiss(entry, official, f"looks like {official} under another "
                                   f"name: rename it to {official} if it is that file"))
            break
    return misses

  def missing_message(self, table: Mapping[str, ManualInput], found: Mapping[str, object],
                      misses: Sequence[NearMiss], how_to_fix: str = "") -> str:
    where = self.manual_dir
    if where is None:
      where_text = "<manual_dir not given>"
    else:
      where_text = str(where)
    lines = [f"{self.builder_name}: input files are missing or misnamed in {where_text}.",
             "Looked for:"]
    folders = self.folders() or ([where] if where is not None else [])
    for key, spec in table.items():
      state = f"found {found[key]}" if found.get(key) else "not found"
      candidates = [str(f / n) for f in folders for n in spec.names] or list(spec.names)
      if spec.folder:
        candidates.append(f"{folders[0] if folders else where_text}{os.sep}{spec.layout}")
      listed = ", ".join(candidates[:-1]) + " or " + candidates[-1] if len(
          candidates) > 1 else candidates[0]
      lines.append(f"  {key}: {listed} -- {state}")
    lines.append("Found instead:")
    if misses:
      lines += [f"  {m}" for m in misses]
    elif where is None:
      lines.append("  nothing: no manual directory was given")
    else:
      lines.append("  nothing that looks like one of these files")
    if how_to_fix:
      lines.append(f"How to fix: {how_to_fix}")
    return "\n".join(lines)

  # ------------------------------------------------------------ the cache and the mirrors

  def fetch(self, source: SourceFile) -> epath.Path:
    """The verified cached copy, else a verified download from the first mirror that works."""
    if self.download_dir is None:
      raise DownloadError(source.name, [], hint="No download directory was given.")
    expected = self._expected(source.name, source.md5)
    dest = self.download_dir / source.name
    if not self.force_redownload:
      cached = self._verified_cache(dest, expected)
      if cached is not None:
        return cached
    urls = [download.join_url(base, source.name)
            for base in download.user_mirrors(self.builder_name, self.mirrors)]
    urls += [u for u in source.urls() if u not in urls]
    if not urls:
      raise DownloadError(source.name, [], hint=self._download_hint(source))
    if expected is None and source.check is None and not self.register:
      raise DownloadError(source.name, [], hint=(
          f"No size, digest or content check is registered for {source.name}, so a download "
          "of it could not be verified. Run `tfds build` with --register_checksums to record "
          "the one you trust, or put the file in the manual directory."))
    self.download_dir.mkdir(parents=True, exist_ok=True)
    download.remove_stale_parts(dest)
    attempts = []
    for url in urls:
      try:
        log.info("Downloading %s from %s", source.name, url)
        digests = download.fetch_url(url, dest, expected, self.limits, source.max_size,
                                     source.check)
      except download.FETCH_ERRORS as e:
        reason = download.describe_failure(e)
        log.warning("%s failed: %s; trying the next mirror", url, reason)
        attempts.append((url, reason))
        continue
      self._record(dest, url, digests, registered=expected is not None and bool(expected.sha256))
      return dest
    raise DownloadError(source.name, attempts, hint=self._download_hint(source))

  def _verified_cache(self, dest: epath.Path,
                      expected: Optional[Checksum]) -> Optional[epath.Path]:
    if not dest.is_file():
      return None
    record = dest.parent / (dest.name + _VERIFIED_SUFFIX)
    if expected is None and record.is_file():
      try:
        fields = json.loads(record.read_text())
        expected = Checksum(int(fields["size"]), str(fields["sha256"]))
      except (ValueError, KeyError, TypeError):
        expected = None
    if expected is None:
      log.info("%s has no record of being verified; fetching it again", dest)
      return None
    if download.mismatch(dest, expected) is not None:
      log.info("%s in the download cache is not the verified file; fetching it again", dest)
      return None
    return dest

  def _record(self, dest: epath.Path, url: str, digests: download.Digests,
              registered: bool) -> None:
    """Keeps what was verified beside a file the table has no sha256 of; registers it if asked.

    The cache reuses a file only against a sha256: the table's, else this record's, written only
    after the file passed its md5 or its content check.
    """
    if not registered:
      record = dest.parent / (dest.name + _VERIFIED_SUFFIX)
      record.write_text(json.dumps({"size": digests.size, "sha256": digests.sha256, "url": url}))
    if self.register:
      download.register_checksum(self.builder_name, url, dest.name, digests.size,
                                 digests.sha256, self.checksums_dir)

  def _download_hint(self, source: SourceFile) -> str:
    lines = []
    if self.manual_dir is not None:
      looked = " and ".join(str(f) for f in self.folders())
      lines.append(f"The manual directory was looked in first ({looked}): it has no "
                   f"{' or '.join(source.accepted_names())}.")
      misses = self.near_misses({source.name: source}, known=self._known)
      if misses:
        lines.append("It holds instead:")
        lines += [f"  {m}" for m in misses]
    lines.append(
        f"Put a copy of {source.name} in the manual directory (--manual_dir), or name a mirror "
        f"that has it with the {download.MIRROR_ENV}_{self.builder_name.upper()} environment "
        "variable.")
    return "\n".join(lines)
