"""The 1000 ILSVRC2012 classes: WNIDs in label order, their words and glosses, readable names.

Labels are indices into the 1000 WNIDs sorted as strings, the order of the official `imagenet2012`
(read from the installed tensorflow_datasets package, so both builders always agree). The class
table stored with a built dataset is in `info.metadata["classes"]`:

    {"wnid": [...], "words": [...], "gloss": [...], "ilsvrc2012_id": [...], "source": "..."}

one entry per label. `words` and `gloss` come from the devkit's meta.mat when it was given; without
it, `words` come from the word list the installed tensorflow_datasets ships (its siscore dataset's
ImageNet labels, in the same sorted-WNID order) and `gloss` is empty: no glosses ship offline.
"""

from __future__ import annotations

import functools
import os
from typing import Dict, List, Optional

import tensorflow_datasets as tfds

from tfds_builders.errors import SourceFormatError
from tfds_builders.formats.imagenet_devkit import Devkit

_LABELS_FILE = "datasets/imagenet2012/labels.txt"
_VALIDATION_LABELS_FILE = "datasets/imagenet2012/validation_labels.txt"

SOURCE_DEVKIT = "devkit meta.mat"
SOURCE_BUNDLED = "bundled word list (no glosses)"
SOURCE_WNIDS = "WNIDs only (no word list found, no glosses)"


def labels_file() -> str:
  return os.fspath(tfds.core.tfds_path(_LABELS_FILE))


@functools.lru_cache(maxsize=None)
def wnids() -> List[str]:
  """The 1000 WNIDs in label order (sorted)."""
  with open(labels_file(), encoding="ascii") as f:
    return f.read().split()


@functools.lru_cache(maxsize=None)
def bundled_validation_wnids() -> List[str]:
  """The WNID of ILSVRC2012_val_<i+1>.JPEG at index i, as tensorflow_datasets ships them."""
  with open(os.fspath(tfds.core.tfds_path(_VALIDATION_LABELS_FILE)), encoding="ascii") as f:
    return f.read().split()


@functools.lru_cache(maxsize=None)
def bundled_words() -> Optional[List[str]]:
  """The WordNet lemmas of the 1000 classes in label order, from the installed
  tensorflow_datasets (a data table it ships), or None when this version has no such table."""
  try:
    from tensorflow_datasets.datasets.siscore import labels
  except ImportError:
    return None
  words = list(getattr(labels, "IMAGENET_LABELS_LIST", []))
  # The table is in sorted-WNID order; n01440764 (label 0) is the tench.
  return words if len(words) == 1000 and words[0].startswith("tench") else None


def _fallback_words() -> List[str]:
  return bundled_words() or list(wnids())


def class_table(devkit: Optional[Devkit]) -> Dict[str, object]:
  """The class table for `info.metadata["classes"]`, from the devkit when given.

  A devkit that lacks some of the 1000 classes (only a cut-down copy would) leaves the bundled
  words for those, and `source` says so.
  """
  all_wnids = wnids()
  from_devkit = devkit.by_wnid() if devkit else {}
  unknown = sorted(set(from_devkit) - set(all_wnids))
  if unknown:
    raise SourceFormatError(devkit.path, f"meta.mat has classes that are not ILSVRC2012 "
                            f"classes: {unknown[:5]}")
  table = {"wnid": list(all_wnids), "words": [], "gloss": [], "ilsvrc2012_id": []}
  for wnid, fallback in zip(all_wnids, _fallback_words()):
    synset = from_devkit.get(wnid)
    table["words"].append(synset.words if synset else fallback)
    table["gloss"].append(synset.gloss if synset else "")
    table["ilsvrc2012_id"].append(synset.ilsvrc2012_id if synset else 0)
  fallback_source = SOURCE_BUNDLED if bundled_words() else SOURCE_WNIDS
  if not from_devkit:
    table["source"] = fallback_source
  elif len(from_devkit) == len(all_wnids):
    table["source"] = SOURCE_DEVKIT
  else:
    table["source"] = (f"{SOURCE_DEVKIT} for {len(from_devkit)} classes, "
                       f"{fallback_source} for the others")
  return table


def readable_name(info_or_metadata, label: int, full: bool = False) -> str:
  """A class's name for people: its first WordNet lemma ('tench'), or all of them if `full`.

  Takes a built dataset's `info` (or its `metadata`); falls back to the bundled words when the
  info has no class table (e.g. a dataset built by another builder).
  """
  metadata = getattr(info_or_metadata, "metadata", info_or_metadata) or {}
  classes = metadata.get("classes") if hasattr(metadata, "get") else None
  words = classes["words"] if classes else _fallback_words()
  if not 0 <= int(label) < len(words):
    raise IndexError(f"label {label} is not in 0..{len(words) - 1}")
  text = words[int(label)]
  return text if full else text.split(",")[0].strip()
