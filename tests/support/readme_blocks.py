"""The fenced blocks of README.md, of every page under docs/ and of the notebooks' markdown cells,
as tests/test_readme.py sees them: where each is, its key, its command lines (bash) and the
comments of its statements (Python); and the links of those pages, with the anchors GitHub gives
their headings."""

import ast
import dataclasses
import io
import json
import pathlib
import re
import tokenize

REPO = pathlib.Path(__file__).resolve().parents[2]
# Every page a reader is sent to: a page added under docs/ is covered without being named here.
DOCUMENTS = ("README.md", "docs/*.md", "notebooks/*.ipynb")

_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
  file: str      # "README.md", "docs/<page>.md" or "notebooks/<name>.ipynb"
  section: str   # the heading above the block, as written
  lang: str      # "bash", "python" or "" (a fence without a language)
  text: str      # the block's lines, each ending with "\n"

  @property
  def first_line(self) -> str:
    return self.text.splitlines()[0].rstrip() if self.text.strip() else ""

  @property
  def label(self) -> str:
    """The block's first line that says what it does: in code, the first line that is not an
    import or a comment, without its comment (imports and comments change more often than what
    a block is about); in other fences, the first line."""
    if self.lang == "python":
      codes = code_lines(self.text)
    elif self.lang == "bash":
      codes = [re.sub(r"(^|\s+)#.*$", "", line).rstrip("\\") for line in self.text.splitlines()]
    else:
      return self.first_line
    for code in codes:
      if code.strip() and not re.match(r"(import|from)\s", code.strip()):
        return code.strip()
    return self.first_line

  occurrence: int = 1  # the n-th block of its file with this section and label

  @property
  def key(self):
    """(file, section, label), the label followed by " #n" for the n-th block of one file with
    the same section and label."""
    suffix = f" #{self.occurrence}" if self.occurrence > 1 else ""
    return (self.file, self.section, self.label + suffix)


def markdown_of(relative: str) -> str:
  """The markdown of one document: a page's text, or a notebook's markdown cells in order
  (code cells are executed by tests/test_notebooks.py)."""
  path = REPO / relative
  if path.suffix != ".ipynb":
    return path.read_text()
  cells = json.loads(path.read_text())["cells"]
  return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def blocks_of(relative: str, markdown: str = None) -> list:
  """Every fenced block of a document, in order. A fence is three backticks at the start of a
  line, with an optional language; the block ends at the next line of three backticks."""
  markdown = markdown_of(relative) if markdown is None else markdown
  found, section, lang, lines = [], "", None, []
  for line in markdown.splitlines(keepends=True):
    if lang is None:
      fence, heading = _FENCE.match(line), _HEADING.match(line)
      if fence:
        lang, lines = fence["lang"], []
      elif heading:
        section = heading["title"]
    elif line.rstrip() == "```":
      found.append(Block(relative, section, lang, "".join(lines)))
      lang = None
    else:
      lines.append(line)
  if lang is not None:
    raise ValueError(f"{relative}: a fenced block in {section!r} is never closed")
  seen = {}
  for i, block in enumerate(found):
    n = seen[block.section, block.label] = seen.get((block.section, block.label), 0) + 1
    found[i] = dataclasses.replace(block, occurrence=n)
  return found


def documents() -> list:
  """Every document of DOCUMENTS, relative to the repository, in order."""
  paths = []
  for pattern in DOCUMENTS:
    paths += sorted(str(p.relative_to(REPO)) for p in REPO.glob(pattern))
  return paths


def all_blocks() -> list:
  return [block for path in documents() for block in blocks_of(path)]


def _prose_lines(markdown: str):
  """(line number, line) of a document's lines outside fenced blocks."""
  inside = False
  for number, line in enumerate(markdown.splitlines(), 1):
    if inside:
      inside = line.rstrip() != "```"
    elif _FENCE.match(line):
      inside = True
    else:
      yield number, line


_LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^()\s]+)(?:\s+\"[^\"]*\")?\)")


def links_of(relative: str, markdown: str = None) -> list:
  """(line number, target) of every markdown link and image of a document, outside code."""
  markdown = markdown_of(relative) if markdown is None else markdown
  return [(number, found["target"]) for number, line in _prose_lines(markdown)
          for found in _LINK.finditer(re.sub(r"`[^`]*`", "``", line))]


def github_anchor(title: str) -> str:
  """The id GitHub gives a heading: lower case, punctuation but `-` and `_` dropped, spaces as
  `-` (`Sources in a bucket (`gs://`)` -> `sources-in-a-bucket-gs`)."""
  text = re.sub(r"<[^>]+>", "", title).lower()
  text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading: its text
  return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(relative: str) -> set:
  """The anchors of a document's headings; a repeated heading gets `-1`, `-2`, as on GitHub."""
  anchors = set()
  for _, line in _prose_lines(markdown_of(relative)):
    heading = _HEADING.match(line)
    if heading:
      anchor = base = github_anchor(heading["title"])
      n = 0
      while anchor in anchors:
        n += 1
        anchor = f"{base}-{n}"
      anchors.add(anchor)
  return anchors


def command_lines(text: str) -> list:
  """A bash block's command lines: lines joined across backslash continuations (the backslash
  and newline removed, as bash does), blank lines and comment-only lines left out."""
  joined = re.sub(r"\\\n", "", text)
  return [line.strip() for line in joined.splitlines()
          if line.strip() and not line.strip().startswith("#")]


def comments_by_line(source: str) -> dict:
  """line number -> the text of the comment on that line (without `#` and surrounding spaces)."""
  comments = {}
  for token in tokenize.generate_tokens(io.StringIO(source).readline):
    if token.type == tokenize.COMMENT:
      comments[token.start[0]] = token.string[1:].strip()
  return comments


def code_lines(source: str) -> list:
  """Each line of Python source without its comment (a `#` in a string is kept)."""
  lines = source.splitlines()
  for token in tokenize.generate_tokens(io.StringIO(source).readline):
    if token.type == tokenize.COMMENT:
      row, column = token.start
      lines[row - 1] = lines[row - 1][:column]
  return [line.rstrip() for line in lines]


def statements(source: str) -> list:
  """Each top-level statement as (first line, last line, prints, comments): `comments` are the
  comments on its lines and, when its last line has one, on the comment-only lines right after
  it (a printed value's following lines, aligned under the first); `prints` says whether it
  calls print()."""
  tree = ast.parse(source)
  comments = comments_by_line(source)
  lines = source.splitlines()
  out = []
  for statement in tree.body:
    first, last = statement.lineno, statement.end_lineno
    texts = [comments[n] for n in range(first, last + 1) if n in comments]
    if last in comments:
      n = last + 1
      while n <= len(lines) and lines[n - 1].lstrip().startswith("#"):
        texts.append(comments[n])
        n += 1
    prints = any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                 and node.func.id == "print" for node in ast.walk(statement))
    out.append((first, last, prints, texts))
  return out


# --- the tested-versions table of docs/install.md ---------------------------------------------

VERSIONS_PAGE = "docs/install.md"
_REPORT = re.compile(r"^\[versions\] (?P<end>lowest|highest): (?P<versions>.+)$")


def versions_table(relative: str = VERSIONS_PAGE) -> tuple:
  """(names, {end: {name: version}}) of the page's table whose first header cell is `end`: one
  row per end .ci/versions tests (`lowest`, `highest`), one column per name it reports."""
  rows = [line for _, line in _prose_lines(markdown_of(relative)) if line.startswith("|")]
  cells = [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows]
  [header] = [row for row in cells if row[0] == "end"]
  names = header[1:]
  table = {}
  for row in cells[cells.index(header) + 2:]:
    if len(row) != len(header):
      break
    table[row[0]] = dict(zip(names, row[1:]))
  return names, table


def versions_table_differences(report_lines, relative: str = VERSIONS_PAGE) -> list:
  """What `.ci/versions` reported (its `[versions] lowest: numpy 1.26.0, …` lines) against the
  table: one sentence per difference, none when the table says what was resolved."""
  names, table = versions_table(relative)
  reported = {}
  for line in report_lines:
    found = _REPORT.match(line.strip())
    if found:
      reported[found["end"]] = dict(pair.rsplit(" ", 1) for pair in found["versions"].split(", "))
  if not reported:
    return ["no `[versions] lowest|highest: …` line was given"]
  differences = []
  for end, versions in reported.items():
    if end not in table:
      differences.append(f"{relative}: the table has no row `{end}`")
      continue
    if list(versions) != names:
      differences.append(f"{relative}: the table's columns are {names}; .ci/versions reports "
                         f"{list(versions)}")
    for name, version in versions.items():
      if name in table[end] and table[end][name] != version:
        differences.append(f"{relative}: {end} {name} is {table[end][name]} in the table; "
                           f".ci/versions resolved {version}")
  return differences


if __name__ == "__main__":
  # .ci/versions: `... | python3 tests/support/readme_blocks.py versions` with its report lines.
  import sys
  if sys.argv[1:] != ["versions"]:
    sys.exit("usage: readme_blocks.py versions < the [versions] lines of .ci/versions")
  found = versions_table_differences(sys.stdin.read().splitlines())
  print("\n".join(found) or f"{VERSIONS_PAGE}: the table is what .ci/versions resolved")
  sys.exit(1 if found else 0)
